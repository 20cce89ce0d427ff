"""The official Python client, unmodified, calling every sync-job API through the service.

Run by scripts/python-clients.sh (see test_sync_job_cancel.py for the environment). Methods a
client version does not have (8.15 has no check_in, claim, error or update_stats) are skipped.
"""

import os
import uuid

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from test_sync_job_cancel import INDEX, Node

CONNECTORS = ".elastic-connectors"


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "http_compress"])
def service(request):
    """Every test twice: plain bodies, and gzip-compressed ones (`http_compress=True`)."""
    return Elasticsearch(os.environ["CSP_SERVICE_URL"], request_timeout=30, http_compress=request.param)


@pytest.fixture(scope="module")
def node():
    return Node(os.environ["CSP_TEST_ES_URL"])


def needs(client, method):
    if not hasattr(client.connector, method):
        pytest.skip(f"this client version has no connector.{method}")


@pytest.fixture()
def connector_id(node):
    connector_id = f"python-connector-{uuid.uuid4()}"
    node._call(
        "PUT",
        f"/{CONNECTORS}/_doc/{connector_id}?refresh=true",
        {
            "index_name": f"search-{connector_id}",
            "service_type": "mongodb",
            "language": "en",
            "configuration": {},
            "filtering": [{"active": {"rules": [], "validation": {"errors": [], "state": "valid"}}}],
            "status": "connected",
            "deleted": False,
        },
    )
    return connector_id


def post_job(service, connector_id, **kwargs):
    response = service.connector.sync_job_post(id=connector_id, **kwargs)
    assert response.meta.status == 201
    return response["id"]


def test_post_get_list_and_delete(service, node, connector_id):
    job_id = post_job(service, connector_id, job_type="incremental", trigger_method="scheduled")

    job = service.connector.sync_job_get(connector_sync_job_id=job_id)
    assert job["id"] == job_id
    assert job["status"] == "pending"
    assert job["job_type"] == "incremental"
    assert job["connector"]["id"] == connector_id
    assert job["connector"]["index_name"] == f"search-{connector_id}"

    second = post_job(service, connector_id)
    page = service.connector.sync_job_list(connector_id=connector_id)
    assert page["count"] == 2
    assert [result["id"] for result in page["results"]] == [second, job_id]
    page = service.connector.sync_job_list(connector_id=connector_id, job_type=["incremental"], size=1)
    assert page["count"] == 1 and page["results"][0]["id"] == job_id

    assert service.connector.sync_job_delete(connector_sync_job_id=job_id).body == {"acknowledged": True}
    with pytest.raises(NotFoundError):
        service.connector.sync_job_get(connector_sync_job_id=job_id)


def test_a_missing_connector_raises_not_found(service):
    with pytest.raises(NotFoundError) as raised:
        service.connector.sync_job_post(id=f"missing-{uuid.uuid4()}")
    assert raised.value.error == "resource_not_found_exception"


def test_claim_stats_check_in_and_error(service, node, connector_id):
    for method in ("sync_job_claim", "sync_job_update_stats", "sync_job_check_in", "sync_job_error"):
        needs(service, method)
    job_id = post_job(service, connector_id)

    claimed = service.connector.sync_job_claim(connector_sync_job_id=job_id, worker_hostname="py-worker",
                                               sync_cursor={"page": 1})
    assert claimed.body == {"result": "updated"}
    with pytest.raises(BadRequestError) as raised:
        service.connector.sync_job_claim(connector_sync_job_id=job_id, worker_hostname="other-worker")
    assert raised.value.error == "status_exception"

    stats = service.connector.sync_job_update_stats(
        connector_sync_job_id=job_id, deleted_document_count=1, indexed_document_count=10,
        indexed_document_volume=100, metadata={"batch": 1})
    assert stats.body == {"result": "updated"}
    assert service.connector.sync_job_check_in(connector_sync_job_id=job_id).body == {"result": "updated"}

    stored = node.get(job_id)["_source"]
    assert stored["worker_hostname"] == "py-worker"
    assert stored["connector"]["sync_cursor"] == {"page": 1}
    assert stored["indexed_document_count"] == 10
    assert stored["metadata"] == {"batch": 1}

    failed = service.connector.sync_job_error(connector_sync_job_id=job_id, error="disk full")
    assert failed.body == {"result": "updated"}
    assert node.get(job_id)["_source"]["status"] == "error"


def test_a_worker_stops_when_another_client_cancels(service, node, connector_id):
    needs(service, "sync_job_claim")
    needs(service, "sync_job_update_stats")
    kibana = Elasticsearch(os.environ["CSP_SERVICE_URL"], request_timeout=30)
    job_id = post_job(kibana, connector_id)
    service.connector.sync_job_claim(connector_sync_job_id=job_id, worker_hostname="py-worker")
    service.connector.sync_job_update_stats(connector_sync_job_id=job_id, deleted_document_count=0,
                                            indexed_document_count=5, indexed_document_volume=50)

    kibana.connector.sync_job_cancel(connector_sync_job_id=job_id)

    assert service.connector.sync_job_get(connector_sync_job_id=job_id)["status"] == "canceling"
    # The connector service writes the end of a canceled sync itself, with a plain update.
    node._call("POST", f"/{INDEX}/_update/{job_id}?refresh=true",
               {"doc": {"status": "canceled", "canceled_at": "2026-01-01T00:00:00Z"}})
    assert kibana.connector.sync_job_get(connector_sync_job_id=job_id)["status"] == "canceled"
