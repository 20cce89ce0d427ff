#!/usr/bin/env bash
# Runs the integration suite and the Python clients with each Elasticsearch version given
# (default: the newest 9.x and 8.x integ-test-zips that run here) behind the Elasticsearch-backed
# tests; OpenSearch 2.19.6 serves the scripted path and the three-node 9.x cluster the fault
# tests in every run. Prints the time each version took.
#   scripts/matrix.sh [versions...]   (default: 9.5.4 8.19.21)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(9.5.4 8.19.21)
start_for_this_run node.sh opensearch
start_for_this_run cluster.sh
start_for_this_run secure-node.sh

results=()
port=9203
# The Elasticsearch node of the version under test is this script's own: stop it however the
# run ends (the caller's trap knows only the default node).
stop_version_node() {
  if [ -n "${CSP_ES_VERSION:-}" ]; then "$here/node.sh" stop elasticsearch || true; fi
}
on_exit stop_version_node
for version in "${versions[@]}"; do
  started=$(date +%s)
  export CSP_ES_VERSION="$version" CSP_ES_PORT=$port
  run_child "$here/node.sh" start elasticsearch
  run_child env CSP_TEST_ES_URL="http://127.0.0.1:$port" CSP_TEST_SCRIPT_URL="http://127.0.0.1:$OPENSEARCH_PORT" \
    CSP_TEST_SECURE_CA="$CSP_RUN/secure-node-ca.pem" CSP_TEST_CLUSTER_URLS="$(cluster_urls)" cargo test --test api
  run_child "$here/python-clients.sh"
  "$here/node.sh" stop elasticsearch
  unset CSP_ES_VERSION CSP_ES_PORT
  results+=("elasticsearch $version: passed in $(($(date +%s) - started)) s")
done
printf '%s\n' "${results[@]}"
