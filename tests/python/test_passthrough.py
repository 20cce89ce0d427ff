"""The official Python client with the service as its only host: the cluster's APIs pass through,
the connector sync-job APIs are the service's, all in one client session.

Run by scripts/python-clients.sh, which sets CSP_SERVICE_URL (the service) and CSP_TEST_ES_URL
(the Elasticsearch node behind it, asked directly only to compare answers).
"""

import json
import os
import urllib.request
import uuid

import elasticsearch
import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

DOCS = 100_000


def node_major():
    """The major version of the node behind the service, asked without a client."""
    url = os.environ["CSP_TEST_ES_URL"] + "/_nodes/_local?filter_path=nodes.*.version"
    with urllib.request.urlopen(url, timeout=30) as answer:
        (node,) = json.load(answer)["nodes"].values()
    return int(node["version"].split(".")[0])


# A client of a newer major than the cluster asks for that major's media type, and the cluster
# itself refuses it (Elastic supports clients of the cluster's major or older). Through the
# service the refusal must be the cluster's own; the rest of this module needs a supported pair.
CLIENT_NEWER_THAN_CLUSTER = int(elasticsearch.__versionstr__.split(".")[0]) > node_major()
needs_a_supported_pair = pytest.mark.skipif(
    CLIENT_NEWER_THAN_CLUSTER,
    reason=f"client {elasticsearch.__versionstr__} is newer than the cluster's major, which refuses it",
)


@pytest.fixture(scope="module")
def client():
    return Elasticsearch(os.environ["CSP_SERVICE_URL"], request_timeout=120)


@pytest.fixture(scope="module")
def node():
    return Elasticsearch(os.environ["CSP_TEST_ES_URL"], request_timeout=120)


def outcome(call):
    """What a call gave: its status and body, whether the client returned or raised."""
    try:
        response = call()
        return response.meta.status, response.body
    except ApiError as error:
        return error.meta.status, error.body


def test_info_is_the_nodes_own_answer(client, node):
    # Whatever the node answers `GET /` with, the client gets the same through the service. (The
    # test distribution the scripts run lacks the module that serves `GET /`, so both are its 405.)
    through = outcome(client.info)
    assert through == outcome(node.info)
    if CLIENT_NEWER_THAN_CLUSTER:
        assert through[0] == 400 and through[1]["error"]["type"] == "media_type_header_exception", through
    else:
        assert through[0] in (200, 405)


@needs_a_supported_pair
def test_an_index_from_creation_to_deletion_through_the_service(client):
    index = f"pt-python-{uuid.uuid4().hex}"
    client.indices.create(
        index=index,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={"properties": {"n": {"type": "long"}, "title": {"type": "keyword"}}},
    )
    try:
        health = client.cluster.health(index=index, wait_for_status="green")
        assert health.meta.headers["x-elastic-product"] == "Elasticsearch"

        actions = ({"_index": index, "_id": str(n), "_source": {"n": n, "title": f"doc {n}"}} for n in range(DOCS))
        indexed = 0
        for ok, item in helpers.streaming_bulk(client, actions, chunk_size=5000):
            assert ok, item
            indexed += 1
        assert indexed == DOCS
        client.indices.refresh(index=index)
        assert client.count(index=index)["count"] == DOCS

        hits = client.search(index=index, query={"term": {"title": "doc 42"}})["hits"]
        assert hits["total"]["value"] == 1
        assert hits["hits"][0]["_source"]["n"] == 42

        # Every document in order with search_after, then again with a scroll.
        seen, after = 0, None
        while True:
            page = client.search(
                index=index, size=10_000, sort=[{"n": "asc"}], source=False, **({"search_after": after} if after else {})
            )["hits"]["hits"]
            if not page:
                break
            assert page[0]["sort"] == [seen], "out of order"
            seen += len(page)
            after = page[-1]["sort"]
        assert seen == DOCS
        scanned = sum(1 for _ in helpers.scan(client, index=index, size=5000, query={"query": {"match_all": {}}}))
        assert scanned == DOCS

        client.delete(index=index, id="0", refresh=True)
        assert client.count(index=index)["count"] == DOCS - 1
        with pytest.raises(NotFoundError):
            client.get(index=index, id="0")
    finally:
        client.indices.delete(index=index)
    assert not client.indices.exists(index=index)


@needs_a_supported_pair
def test_sync_jobs_in_the_same_session_as_the_cluster_calls(client):
    connector_id = f"pt-python-{uuid.uuid4().hex}"
    # The connector document goes in through the same client (passed through) ...
    client.index(
        index=".elastic-connectors",
        id=connector_id,
        document={"name": "pass-through", "index_name": "search-pass-through", "service_type": "google_drive"},
        refresh=True,
    )
    try:
        # ... and the sync-job APIs are the service's.
        job_id = client.connector.sync_job_post(id=connector_id, job_type="full", trigger_method="on_demand")["id"]
        job = client.connector.sync_job_get(connector_sync_job_id=job_id)
        assert job["status"] == "pending"
        assert job["connector"]["id"] == connector_id
        assert job.meta.headers["x-elastic-product"] == "Elasticsearch"
        listed = client.connector.sync_job_list(connector_id=connector_id)
        assert [result["id"] for result in listed["results"]] == [job_id]
        if hasattr(client.connector, "sync_job_check_in"):
            client.connector.sync_job_check_in(connector_sync_job_id=job_id)
        assert client.connector.sync_job_cancel(connector_sync_job_id=job_id).body == {"result": "updated"}
        assert client.connector.sync_job_get(connector_sync_job_id=job_id)["status"] == "canceled"
        client.connector.sync_job_delete(connector_sync_job_id=job_id)
        with pytest.raises(NotFoundError):
            client.connector.sync_job_get(connector_sync_job_id=job_id)
    finally:
        client.delete(index=".elastic-connectors", id=connector_id, refresh=True)
