#!/usr/bin/env bash
# Runs every test: fetches and starts the Elasticsearch node (optimistic path), the OpenSearch
# node with Painless (scripted path), a three-node Elasticsearch cluster (fault tests) and an
# Elasticsearch node with security and HTTPS (security tests) when they are not running yet, runs
# `cargo test`, then the official Python, JavaScript and Java clients against the service, and
# stops what it started. Extra arguments go to `cargo test`.
#   scripts/test.sh [cargo test arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
ensure_prerequisites nodes opensearch secure python js java

started=()
cluster_started=
secure_started=
cleanup() {
  local kind
  for kind in "${started[@]}"; do "$here/node.sh" stop "$kind" || true; done
  if [ -n "$cluster_started" ]; then "$here/cluster.sh" stop || true; fi
  if [ -n "$secure_started" ]; then "$here/secure-node.sh" stop || true; fi
}
trap cleanup EXIT

for kind in elasticsearch opensearch; do
  if ! "$here/node.sh" status "$kind" >/dev/null 2>&1; then
    started+=("$kind")
  fi
  "$here/node.sh" start "$kind"
done
if ! "$here/cluster.sh" status >/dev/null 2>&1; then cluster_started=yes; fi
"$here/cluster.sh" start
if ! "$here/secure-node.sh" status >/dev/null 2>&1; then secure_started=yes; fi
"$here/secure-node.sh" start

CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" CSP_TEST_SCRIPT_URL="http://127.0.0.1:$OPENSEARCH_PORT" \
  CSP_TEST_SECURE_URL="https://127.0.0.1:${CSP_SECURE_PORT:-9202}" CSP_TEST_SECURE_CA="$CSP_RUN/secure-node-ca.pem" \
  CSP_TEST_CLUSTER_URLS="$(cluster_urls)" cargo test "$@"

# The official Python clients, unmodified, against the service.
"$here/python-clients.sh"
# The official JavaScript and Java clients, unmodified, against the service.
CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" "$here/js-clients.sh"
CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" "$here/java-clients.sh"
