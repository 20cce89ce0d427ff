"""The official Python client, unmodified, managing connectors through the service: every
`client.connector.*` connector method the client version has, the calls the Python connector
service makes, and Kibana's "cancel all syncs, then delete the connector with its jobs".

Run by scripts/python-clients.sh, which sets CSP_SERVICE_URL (the service) and CSP_TEST_ES_URL
(the Elasticsearch node behind it, read directly to check what was written).
"""

import json
import os
import urllib.error
import urllib.request
import uuid

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

CONNECTORS = ".elastic-connectors"
JOBS = ".elastic-connectors-sync-jobs"


class Node:
    """The node behind the service, in plain HTTP."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, index, doc_id):
        try:
            with urllib.request.urlopen(f"{self.url}/{index}/_doc/{doc_id}", timeout=30) as response:
                return json.load(response)["_source"]
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "http_compress"])
def client(request):
    """Every test twice: plain bodies, and gzip-compressed ones (`http_compress=True`)."""
    return Elasticsearch(os.environ["CSP_SERVICE_URL"], request_timeout=30, http_compress=request.param)


@pytest.fixture(scope="module")
def node():
    return Node(os.environ["CSP_TEST_ES_URL"])


def has(namespace, method, parameter=None):
    """Whether this client version has the method (and the parameter)."""
    function = getattr(namespace, method, None)
    if function is None:
        return False
    if parameter is None:
        return True
    import inspect

    return parameter in inspect.signature(function).parameters


def unique(label):
    return f"python-{label}-{uuid.uuid4().hex[:12]}"


def hard_delete(client, connector_id, delete_sync_jobs=False):
    """DELETE with hard=true: a parameter only the 9.x client has."""
    if has(client.connector, "delete", "hard"):
        return client.connector.delete(connector_id=connector_id, hard=True, delete_sync_jobs=delete_sync_jobs)
    params = {"hard": "true", "delete_sync_jobs": "true" if delete_sync_jobs else "false"}
    return client.perform_request(
        "DELETE", f"/_connector/{connector_id}", params=params, headers={"accept": "application/json"}
    )


def get_including_deleted(client, connector_id):
    if has(client.connector, "get", "include_deleted"):
        return client.connector.get(connector_id=connector_id, include_deleted=True)
    return client.perform_request(
        "GET", f"/_connector/{connector_id}", params={"include_deleted": "true"}, headers={"accept": "application/json"}
    )


def test_put_post_get_list_and_delete(client, node):
    connector_id = unique("crud")
    index_name = unique("search")

    created = client.connector.put(
        connector_id=connector_id,
        index_name=index_name,
        name="my-connector",
        language="pl",
        is_native=False,
        service_type="super-connector",
    )
    assert created.body == {"id": connector_id, "result": "created"}
    assert created.meta.status == 201
    assert created.meta.headers["x-elastic-product"] == "Elasticsearch"
    again = client.connector.put(connector_id=connector_id, index_name=index_name, name="my-connector")
    assert again.body == {"id": connector_id, "result": "updated"}

    generated = client.connector.put()
    assert generated["result"] == "created" and len(generated["id"]) == 20
    posted = client.connector.post(service_type="super-connector")
    assert posted.meta.status == 201 and len(posted["id"]) == 20

    got = client.connector.get(connector_id=connector_id)
    assert got["id"] == connector_id
    assert got["index_name"] == index_name
    assert got["status"] == "created"
    assert got["filtering"][0]["domain"] == "DEFAULT"

    listed = client.connector.list(index_name=index_name)
    assert listed["count"] == 1 and listed["results"][0]["id"] == connector_id
    assert client.connector.list(connector_name="my-connector", index_name=[index_name], from_=0, size=10)["count"] == 1
    assert client.connector.list(query=index_name)["count"] == 1

    assert client.connector.delete(connector_id=connector_id).body == {"acknowledged": True}
    with pytest.raises(NotFoundError) as missing:
        client.connector.get(connector_id=connector_id)
    assert missing.value.error == "resource_not_found_exception"
    assert get_including_deleted(client, connector_id)["deleted"] is True
    assert client.connector.list(index_name=index_name)["count"] == 0

    assert hard_delete(client, connector_id).body == {"acknowledged": True}
    assert node.get(CONNECTORS, connector_id) is None
    for other in (generated["id"], posted["id"]):
        hard_delete(client, other)


def test_every_update_method(client, node):
    connector_id = unique("updates")
    client.connector.put(connector_id=connector_id, index_name="content-" + unique("index"), service_type="super-connector")

    def stored():
        return node.get(CONNECTORS, connector_id)

    assert client.connector.check_in(connector_id=connector_id)["result"] == "updated"
    assert stored()["last_seen"].endswith("Z")

    client.connector.update_api_key_id(connector_id=connector_id, api_key_id="key-id", api_key_secret_id="secret-id")
    assert (stored()["api_key_id"], stored()["api_key_secret_id"]) == ("key-id", "secret-id")

    configuration = {
        "some_field": {"label": "Very important field", "display": "numeric", "type": "int", "value": 123,
                       "required": True, "sensitive": False, "order": 1},
    }
    client.connector.update_configuration(connector_id=connector_id, configuration=configuration)
    assert stored()["configuration"]["some_field"]["value"] == 123
    assert stored()["status"] == "configured"
    client.connector.update_configuration(connector_id=connector_id, values={"some_field": 42})
    assert stored()["configuration"]["some_field"]["value"] == 42
    with pytest.raises(BadRequestError) as unknown:
        client.connector.update_configuration(connector_id=connector_id, values={"nope": 1})
    assert unknown.value.error == "status_exception"

    client.connector.update_error(connector_id=connector_id, error="some error")
    assert (stored()["error"], stored()["status"]) == ("some error", "error")
    client.connector.update_error(connector_id=connector_id, body={"error": None})
    assert (stored()["error"], stored()["status"]) == (None, "connected")

    if has(client.connector, "update_features"):
        client.connector.update_features(connector_id=connector_id, features={"document_level_security": {"enabled": True}})
        client.connector.update_features(connector_id=connector_id, features={"incremental_sync": {"enabled": False}})
        assert stored()["features"] == {"document_level_security": {"enabled": True}, "incremental_sync": {"enabled": False}}

    rule = {"field": "title", "id": "only-docs", "order": 1, "policy": "include", "rule": "contains", "value": "doc",
            "created_at": "2024-05-01T10:00:00.000Z", "updated_at": "2024-05-01T10:00:00.000Z"}
    filtering = client.connector.update_filtering(
        connector_id=connector_id, rules=[rule], advanced_snippet={"value": {"query": "x"}}
    )
    assert filtering["result"] == "updated"
    draft = stored()["filtering"][0]["draft"]
    assert [r["id"] for r in draft["rules"]] == ["only-docs", "DEFAULT"]
    assert draft["validation"]["state"] == "edited"
    with pytest.raises(BadRequestError):
        client.connector.update_active_filtering(connector_id=connector_id)
    client.connector.update_filtering_validation(connector_id=connector_id, validation={"state": "valid", "errors": []})
    assert client.connector.update_active_filtering(connector_id=connector_id)["result"] == "updated"
    assert stored()["filtering"][0]["active"]["rules"][0]["id"] == "only-docs"

    new_index = "content-" + unique("index")
    client.connector.update_index_name(connector_id=connector_id, index_name=new_index)
    assert stored()["index_name"] == new_index

    client.connector.update_name(connector_id=connector_id, name="renamed", description="described")
    assert (stored()["name"], stored()["description"]) == ("renamed", "described")

    client.connector.update_native(connector_id=connector_id, is_native=True)
    assert stored()["is_native"] is True and stored()["status"] == "configured"

    pipeline = {"extract_binary_content": True, "name": "search-default-ingestion", "reduce_whitespace": True, "run_ml_inference": False}
    client.connector.update_pipeline(connector_id=connector_id, pipeline=pipeline)
    assert stored()["pipeline"] == pipeline

    client.connector.update_scheduling(
        connector_id=connector_id, scheduling={"full": {"enabled": True, "interval": "0 0 12 ? * mon"}}
    )
    assert stored()["scheduling"]["full"] == {"enabled": True, "interval": "0 0 12 ? * MON"}

    client.connector.update_service_type(connector_id=connector_id, service_type="mongodb")
    assert (stored()["service_type"], stored()["status"]) == ("mongodb", "needs_configuration")

    assert client.connector.update_status(connector_id=connector_id, status="configured")["result"] == "updated"
    with pytest.raises(BadRequestError) as refused:
        client.connector.update_status(connector_id=connector_id, status="created")
    assert "Invalid transition attempt from [configured] to [created]" in str(refused.value)

    client.connector.last_sync(
        connector_id=connector_id,
        last_sync_status="completed",
        last_synced="2024-06-01T10:11:12.345Z",
        last_indexed_document_count=42,
        sync_cursor={"pointer": 1},
    )
    assert stored()["last_sync_status"] == "completed"
    assert stored()["last_synced"] == "2024-06-01T10:11:12.345Z"
    assert stored()["sync_cursor"] == {"pointer": 1}

    hard_delete(client, connector_id)


def test_missing_connectors_raise_not_found(client):
    missing = unique("missing")
    with pytest.raises(NotFoundError) as lookup:
        client.connector.update_status(connector_id=missing, status="error")
    assert lookup.value.error == "resource_not_found_exception"
    with pytest.raises(NotFoundError) as direct:
        client.connector.update_name(connector_id=missing, name="x")
    assert direct.value.error == "document_missing_exception"
    with pytest.raises(NotFoundError):
        client.connector.delete(connector_id=missing)


def claim(client, job_id):
    if has(client.connector, "sync_job_claim"):
        return client.connector.sync_job_claim(connector_sync_job_id=job_id, worker_hostname="python-host")
    return client.perform_request(
        "PUT", f"/_connector/_sync_job/{job_id}/_claim", body={"worker_hostname": "python-host"},
        headers={"accept": "application/json", "content-type": "application/json"},
    )


def update_stats(client, job_id, **stats):
    if has(client.connector, "sync_job_update_stats"):
        return client.connector.sync_job_update_stats(connector_sync_job_id=job_id, metadata={}, **stats)
    return client.perform_request(
        "PUT", f"/_connector/_sync_job/{job_id}/_stats", body={**stats, "metadata": {}},
        headers={"accept": "application/json", "content-type": "application/json"},
    )


def test_the_connector_service_sequence(client, node):
    connector_id = unique("service")
    client.connector.put(
        connector_id=connector_id, service_type="google_drive", name="[Elastic-managed] google_drive connector",
        index_name="content-" + unique("index"), is_native=True,
    )
    for _ in range(3):
        assert client.connector.check_in(connector_id=connector_id)["result"] == "updated"
    connector = client.connector.get(connector_id=connector_id)
    assert connector["status"] == "needs_configuration"

    client.connector.update_filtering(connector_id=connector_id, rules=[])
    assert client.connector.get(connector_id=connector_id)["filtering"][0]["draft"]["validation"]["state"] == "edited"
    client.connector.update_filtering_validation(connector_id=connector_id, validation={"state": "valid", "errors": []})
    assert client.connector.update_active_filtering(connector_id=connector_id)["result"] == "updated"

    job = client.connector.sync_job_post(id=connector_id, job_type="full", trigger_method="scheduled")
    job_id = job["id"]
    assert claim(client, job_id)["result"] == "updated"
    assert update_stats(client, job_id, deleted_document_count=1, indexed_document_count=20, indexed_document_volume=300)["result"] == "updated"
    stored_job = node.get(JOBS, job_id)
    assert stored_job["status"] == "in_progress" and stored_job["indexed_document_count"] == 20

    client.connector.last_sync(
        connector_id=connector_id, last_sync_status="completed", last_sync_error=None,
        last_indexed_document_count=20, last_deleted_document_count=1,
    )
    stored = node.get(CONNECTORS, connector_id)
    assert (stored["last_sync_status"], stored["last_indexed_document_count"]) == ("completed", 20)
    hard_delete(client, connector_id, delete_sync_jobs=True)
    assert node.get(JOBS, job_id) is None


def test_kibanas_cancel_all_syncs_then_delete(client, node):
    connector_id = unique("kibana")
    client.connector.put(connector_id=connector_id, index_name=unique("search"), service_type="mongodb")
    pending = client.connector.sync_job_post(id=connector_id, job_type="full")["id"]
    running = client.connector.sync_job_post(id=connector_id, job_type="incremental")["id"]
    claim(client, running)

    for status in ("pending", "in_progress", "suspended"):
        jobs = client.connector.sync_job_list(connector_id=connector_id, status=status, from_=0, size=1000)
        for job in jobs["results"]:
            assert client.connector.sync_job_cancel(connector_sync_job_id=job["id"])["result"] == "updated"
    assert node.get(JOBS, pending)["status"] == "canceled"
    assert node.get(JOBS, running)["status"] == "canceling"

    client.connector.last_sync(
        connector_id=connector_id, last_access_control_sync_status="canceled", last_sync_status="canceled"
    )
    stored = node.get(CONNECTORS, connector_id)
    assert (stored["last_sync_status"], stored["last_access_control_sync_status"]) == ("canceled", "canceled")

    assert hard_delete(client, connector_id, delete_sync_jobs=True).body == {"acknowledged": True}
    assert node.get(CONNECTORS, connector_id) is None
    assert node.get(JOBS, pending) is None and node.get(JOBS, running) is None
