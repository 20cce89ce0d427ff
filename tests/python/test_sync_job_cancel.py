"""The official Python client, unmodified, cancelling through the service.

Run by scripts/python-clients.sh, which sets CSP_SERVICE_URL (the service) and CSP_TEST_ES_URL
(the Elasticsearch node behind it, used to seed and read jobs directly).
"""

import json
import os
import urllib.request
import uuid

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

INDEX = ".elastic-connectors-sync-jobs"


class Node:
    """The node behind the service, spoken to in plain HTTP so that any client version can be
    tested against any node version."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def index(self, job_id, document):
        self._call("PUT", f"/{INDEX}/_doc/{job_id}?refresh=true", document)

    def get(self, job_id):
        return self._call("GET", f"/{INDEX}/_doc/{job_id}")


@pytest.fixture(scope="module")
def service():
    return Elasticsearch(os.environ["CSP_SERVICE_URL"], request_timeout=30)


@pytest.fixture(scope="module")
def node():
    return Node(os.environ["CSP_TEST_ES_URL"])


def seed(node, status):
    job_id = f"python-{uuid.uuid4()}"
    node.index(job_id, {"status": status, "job_type": "full"})
    return job_id


def test_cancel_of_a_running_job_requests_cancelation(service, node):
    job_id = seed(node, "in_progress")

    response = service.connector.sync_job_cancel(connector_sync_job_id=job_id)

    assert response.body == {"result": "updated"}
    assert response.meta.headers["x-elastic-product"] == "Elasticsearch"
    stored = node.get(job_id)["_source"]
    assert stored["status"] == "canceling"
    assert stored["cancelation_requested_at"].endswith("Z")


def test_cancel_of_a_pending_job_cancels_it(service, node):
    job_id = seed(node, "pending")

    service.connector.sync_job_cancel(connector_sync_job_id=job_id)

    stored = node.get(job_id)["_source"]
    assert stored["status"] == "canceled"
    assert stored["canceled_at"] == stored["completed_at"] == stored["cancelation_requested_at"]


def test_a_missing_job_raises_not_found(service):
    with pytest.raises(NotFoundError) as raised:
        service.connector.sync_job_cancel(connector_sync_job_id=f"missing-{uuid.uuid4()}")
    assert raised.value.error == "resource_not_found_exception"


def test_a_forbidden_transition_raises_bad_request_and_changes_nothing(service, node):
    job_id = seed(node, "completed")
    before = node.get(job_id)

    with pytest.raises(BadRequestError) as raised:
        service.connector.sync_job_cancel(connector_sync_job_id=job_id)

    assert raised.value.error == "status_exception"
    assert "Invalid transition attempt from [completed] to [canceling]" in str(raised.value)
    after = node.get(job_id)
    assert after["_seq_no"] == before["_seq_no"]


def test_opaque_id_is_echoed(service, node):
    job_id = seed(node, "in_progress")

    response = service.options(opaque_id="python-opaque-1").connector.sync_job_cancel(connector_sync_job_id=job_id)

    assert response.meta.headers["x-opaque-id"] == "python-opaque-1"
