#!/usr/bin/env bash
# Runs every test: fetches and starts the Elasticsearch node (optimistic path), the OpenSearch
# node with Painless (scripted path), a three-node Elasticsearch cluster (fault tests) and an
# Elasticsearch node with security and HTTPS (security tests) when they are not running yet, runs
# `cargo test`, then the official Python, JavaScript and Java clients against the service, and
# stops what it started, also when it fails or gets SIGTERM, SIGINT or SIGHUP. Extra arguments go
# to `cargo test`.
#   scripts/test.sh [cargo test arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
ensure_prerequisites nodes opensearch secure python js java

# What this run started is stopped however it ends (lib.sh: on_exit).
start_for_this_run node.sh elasticsearch
start_for_this_run node.sh opensearch
start_for_this_run cluster.sh
start_for_this_run secure-node.sh

run_child env CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" CSP_TEST_SCRIPT_URL="http://127.0.0.1:$OPENSEARCH_PORT" \
  CSP_TEST_SECURE_URL="https://127.0.0.1:${CSP_SECURE_PORT:-9202}" CSP_TEST_SECURE_CA="$CSP_RUN/secure-node-ca.pem" \
  CSP_TEST_CLUSTER_URLS="$(cluster_urls)" cargo test "$@"

# The official Python clients, unmodified, against the service.
run_child "$here/python-clients.sh"
# The official JavaScript and Java clients, unmodified, against the service: every connector
# method with the default options, again with compressed request bodies, with filter_path, and
# the secrets API.
run_child env CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" "$here/js-clients.sh"
run_child env CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" "$here/java-clients.sh"
