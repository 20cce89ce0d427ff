#!/usr/bin/env bash
# The pass-through bulk at full size: CSP_PASSTHROUGH_BULK_REQUESTS (default 3) _bulk requests of
# CSP_PASSTHROUGH_BULK_MIB MiB each (default 2000, near the 2 GiB Elasticsearch takes in one
# request; the suite sends eight of 32), generated as a stream, one after the other through the
# release binary to the Elasticsearch node of scripts/node.sh; prints the time, the rate and the
# service's resident memory (idle, highest sampled, peak).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
start_for_this_run node.sh elasticsearch
run_child env CSP_PASSTHROUGH_BULK_MIB="${CSP_PASSTHROUGH_BULK_MIB:-2000}" \
  CSP_PASSTHROUGH_BULK_REQUESTS="${CSP_PASSTHROUGH_BULK_REQUESTS:-3}" CSP_TEST_ES_URL="http://127.0.0.1:$ES_PORT" \
  cargo test --release --test api a_large_bulk_streams_through -- --nocapture
