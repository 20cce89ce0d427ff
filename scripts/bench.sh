#!/usr/bin/env bash
# Benchmarks the sync-job calls a connector makes (docs/benchmarks.md): cancel, claim, check_in
# and update_stats through the service against the same request sent straight to the node, and
# cancel against Elasticsearch's own two-step cancel. Starts the OpenSearch node
# with Painless the way scripts/test.sh does (and stops it afterwards when it started it), unless
# CSP_BENCH_URL points at a running node; then runs `cargo bench --bench sync_job`, which builds the
# release binary and starts it on random ports. Prints the report and writes it to
# target/bench/sync_job.md. Knobs (environment): CSP_BENCH_ROUNDS, CSP_BENCH_ROUND_MS,
# CSP_BENCH_WARMUP_MS, CSP_BENCH_CONCURRENCY, CSP_BENCH_REFRESH, CSP_BENCH_OPS, CSP_BENCH_SERVICE_LOG,
# CSP_BENCH_MAX_RATE, CSP_BENCH_SERVICE_BIN, CSP_BENCH_SERVICE_ARGS, CSP_BENCH_BASELINE_BIN,
# CSP_BENCH_BASELINE_ARGS, CSP_BENCH_BASELINE_LOG,
# CSP_BENCH_NODE_PID, CSP_BENCH_OUT (benches/sync_job.rs and docs/benchmarks.md describe them).
#   scripts/bench.sh [cargo bench arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

if [ -z "${CSP_BENCH_URL:-}" ]; then
  if ! "$here/node.sh" status opensearch >/dev/null 2>&1; then
    trap '"$here/node.sh" stop opensearch || true' EXIT
  fi
  "$here/node.sh" start opensearch
  export CSP_BENCH_URL="http://127.0.0.1:$OPENSEARCH_PORT"
  pid_file="$CSP_RUN/opensearch-$OPENSEARCH_PORT/pid"
  if [ -z "${CSP_BENCH_NODE_PID:-}" ] && [ -f "$pid_file" ]; then
    export CSP_BENCH_NODE_PID=$(cat "$pid_file")
  fi
else
  "$here/create-index.sh" "$CSP_BENCH_URL"
fi

cargo bench --bench sync_job "$@"
