#!/usr/bin/env bash
# Runs every test: fetches and starts the Elasticsearch node (optimistic path) and the OpenSearch
# node with Painless (scripted path) when they are not running yet, runs `cargo test`, and stops
# the nodes it started. Extra arguments go to `cargo test`.
#   scripts/test.sh [cargo test arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

started=()
cleanup() {
  local kind
  for kind in "${started[@]}"; do "$here/node.sh" stop "$kind" || true; done
}
trap cleanup EXIT

for kind in elasticsearch opensearch; do
  if ! "$here/node.sh" status "$kind" >/dev/null 2>&1; then
    started+=("$kind")
  fi
  "$here/node.sh" start "$kind"
done

CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" CSP_TEST_SCRIPT_URL="http://127.0.0.1:$OPENSEARCH_PORT" \
  cargo test "$@"
