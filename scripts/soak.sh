#!/usr/bin/env bash
# The soak test at full length: 64 clients for 60 s (CSP_SOAK_SECONDS to change), mixing
# successful, repeated and unknown cancels, through the service binary against the OpenSearch
# node; prints the request counts and the service's resident memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
start_for_this_run node.sh opensearch
run_child env CSP_SOAK_SECONDS="${CSP_SOAK_SECONDS:-60}" CSP_TEST_SCRIPT_URL="http://127.0.0.1:$OPENSEARCH_PORT" \
  cargo test --release --test api a_soak_of_mixed_cancels -- --nocapture
