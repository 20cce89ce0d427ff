#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md): the sync-job calls a connector makes (cancel, claim, check_in,
# update_stats) through the service against the same request sent straight to the node, and
# cancel against Elasticsearch's own two-step cancel; then pass-through, small GETs and bulk
# through the service and straight to the node. Starts the OpenSearch node with Painless the way
# scripts/test.sh does (and stops it afterwards when it started it), unless CSP_BENCH_URL points
# at a running node; then runs `cargo bench --bench sync_job` and `cargo bench --bench
# passthrough` (CSP_BENCH_ONLY=sync_job or passthrough runs one), which build the release binary
# and start it on random ports. CSP_BENCH_ONLY=privileges runs `cargo bench --bench privileges`,
# the cost of the privilege check, on the secured node (scripts/secure-node.sh, started here when
# it is not running; its knobs are in benches/privileges.rs) and writes target/bench/privileges.md.
# Prints the reports and writes them to target/bench/sync_job.md and target/bench/passthrough.md.
# Knobs (environment): CSP_BENCH_ROUNDS, CSP_BENCH_ROUND_MS,
# CSP_BENCH_WARMUP_MS, CSP_BENCH_CONCURRENCY, CSP_BENCH_REFRESH, CSP_BENCH_OPS,
# CSP_BENCH_SERVICE_LOG, CSP_BENCH_MAX_RATE, CSP_BENCH_SERVICE_BIN, CSP_BENCH_SERVICE_ARGS,
# CSP_BENCH_BASELINE_BIN, CSP_BENCH_BASELINE_ARGS, CSP_BENCH_BASELINE_LOG, CSP_BENCH_NODE_PID,
# CSP_BENCH_OUT; for pass-through CSP_BENCH_PT_CONCURRENCY, CSP_BENCH_PT_BULK_CONCURRENCY,
# CSP_BENCH_PT_BULK_MIB, CSP_BENCH_PT_BULK_ROUND_MS, CSP_BENCH_PT_OUT (benches/*.rs and
# docs/benchmarks.md describe them).
#   scripts/bench.sh [cargo bench arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

needs_node=0 needs_secure=0
for bench in ${CSP_BENCH_ONLY:-sync_job passthrough}; do
  case "$bench" in
    privileges) needs_secure=1 ;;
    *) needs_node=1 ;;
  esac
done
if [ "$needs_secure" = 1 ]; then
  # The privilege check needs the node with security on and its test users.
  start_for_this_run secure-node.sh
fi

if [ "$needs_node" = 0 ]; then
  :
elif [ -z "${CSP_BENCH_URL:-}" ]; then
  start_for_this_run node.sh opensearch
  export CSP_BENCH_URL="http://127.0.0.1:$OPENSEARCH_PORT"
  pid_file="$CSP_RUN/opensearch-$OPENSEARCH_PORT/pid"
  if [ -z "${CSP_BENCH_NODE_PID:-}" ] && [ -f "$pid_file" ]; then
    export CSP_BENCH_NODE_PID=$(cat "$pid_file")
  fi
else
  "$here/create-index.sh" "$CSP_BENCH_URL"
fi

for bench in ${CSP_BENCH_ONLY:-sync_job passthrough}; do
  run_child cargo bench --bench "$bench" "$@"
done
