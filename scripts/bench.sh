#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md): the sync-job calls a connector makes (cancel, claim, check_in,
# update_stats) through the service against the same request sent straight to the node, and
# cancel against Elasticsearch's own two-step cancel; then pass-through, small GETs and bulk
# through the service and straight to the node. Starts the OpenSearch node with Painless the way
# scripts/test.sh does (and stops it afterwards when it started it), unless CSP_BENCH_URL points
# at a running node; then runs `cargo bench --bench sync_job` and `cargo bench --bench
# passthrough` (CSP_BENCH_ONLY=sync_job or passthrough runs one), which build the release binary
# and start it on random ports. Prints the reports and writes them to target/bench/sync_job.md
# and target/bench/passthrough.md.
#
# CSP_BENCH_ONLY=privileges runs `cargo bench --bench privileges`, the cost of the privilege
# check, on the secured node (scripts/secure-node.sh, started here when it is not running; its
# knobs are in benches/privileges.rs) and writes target/bench/privileges.md.
#
# CSP_BENCH_ONLY=group_commit runs the group-commit benchmark alone: the sync_job bench with
# CSP_BENCH_SHAPE=group_commit (the service with group commit, without it, and Elasticsearch's
# own one-request-per-operation shape straight to the node, for cancel, claim, check_in,
# update_stats and a fleet's mixed load), on the Elasticsearch 9.5.4 node (CSP_ES_PORT, started
# and stopped like the OpenSearch one), where the service takes its guarded path; report in
# target/bench/group_commit.md. CSP_BENCH_NODE=elasticsearch|opensearch picks the node kind
# any benchmark starts.
#
# Knobs (environment): CSP_BENCH_ROUNDS, CSP_BENCH_ROUND_MS, CSP_BENCH_WARMUP_MS,
# CSP_BENCH_CONCURRENCY, CSP_BENCH_REFRESH, CSP_BENCH_OPS, CSP_BENCH_SERVICE_LOG,
# CSP_BENCH_MAX_RATE, CSP_BENCH_SERVICE_BIN, CSP_BENCH_SERVICE_ARGS, CSP_BENCH_BASELINE_BIN,
# CSP_BENCH_BASELINE_ARGS, CSP_BENCH_BASELINE_LOG, CSP_BENCH_NODE_PID, CSP_BENCH_OUT,
# CSP_BENCH_SHAPE, CSP_BENCH_UPDATE_STRATEGY, CSP_BENCH_FLEET_REPORTS, CSP_BENCH_BASE_JOBS; for
# pass-through CSP_BENCH_PT_CONCURRENCY, CSP_BENCH_PT_BULK_CONCURRENCY, CSP_BENCH_PT_BULK_MIB,
# CSP_BENCH_PT_BULK_ROUND_MS, CSP_BENCH_PT_OUT (benches/*.rs and docs/benchmarks.md describe them).
#   scripts/bench.sh [cargo bench arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

benches=${CSP_BENCH_ONLY:-sync_job passthrough}
needs_node=0 needs_secure=0
for bench in $benches; do
  case "$bench" in
    privileges) needs_secure=1 ;;
    *) needs_node=1 ;;
  esac
done
if [ "$needs_secure" = 1 ]; then
  # The privilege check needs the node with security on and its test users.
  start_for_this_run secure-node.sh
fi

case "$benches" in
  group_commit) default_node=elasticsearch ;;
  *) default_node=opensearch ;;
esac
kind=${CSP_BENCH_NODE:-$default_node}
case "$kind" in
  elasticsearch) port=$ES_PORT ;;
  opensearch) port=$OPENSEARCH_PORT ;;
  *) die "CSP_BENCH_NODE: unknown node kind '$kind' (elasticsearch or opensearch)" ;;
esac

if [ "$needs_node" = 0 ]; then
  :
elif [ -z "${CSP_BENCH_URL:-}" ]; then
  start_for_this_run node.sh "$kind"
  export CSP_BENCH_URL="http://127.0.0.1:$port"
  pid_file="$CSP_RUN/$kind-$port/pid"
  if [ -z "${CSP_BENCH_NODE_PID:-}" ] && [ -f "$pid_file" ]; then
    export CSP_BENCH_NODE_PID=$(cat "$pid_file")
  fi
else
  "$here/create-index.sh" "$CSP_BENCH_URL"
fi

for bench in $benches; do
  case "$bench" in
    group_commit) run_child env CSP_BENCH_SHAPE=group_commit cargo bench --bench sync_job "$@" ;;
    *) run_child cargo bench --bench "$bench" "$@" ;;
  esac
done
