#!/usr/bin/env bash
# Runs the service against a local node it starts itself (fetched on first use), serving on
# 127.0.0.1:9280. Extra arguments go to the service.
#   scripts/run.sh [--listen ADDR:PORT] [other flags, see --help]
# CSP_NODE=opensearch runs it against the OpenSearch node, where the scripted path is used.
# CSP_SERVICE_BIN runs that binary instead of building and running the release one.
# However it ends (the service exits, SIGTERM, SIGINT or SIGHUP to this script, or a failure), it
# stops the service with SIGTERM, so that it drains what is in flight as on its own SIGTERM, and
# then the node if it started it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

kind=${CSP_NODE:-elasticsearch}
case "$kind" in
  elasticsearch) port=$ES_PORT ;;
  opensearch) port=$OPENSEARCH_PORT ;;
  *) die "CSP_NODE must be elasticsearch or opensearch, not '$kind': set it to one of them" ;;
esac
if [ "$kind" = opensearch ]; then ensure_prerequisites nodes opensearch; else ensure_prerequisites nodes; fi

start_for_this_run node.sh "$kind"

service=${CSP_SERVICE_BIN:-}
if [ -z "$service" ]; then
  run_child cargo build --release --quiet
  service=./target/release/connector-sync-proxy
fi
[ -x "$service" ] || die "the service binary $service does not exist: build it (cargo build --release) or set CSP_SERVICE_BIN to one"
run_child env RUST_LOG="${RUST_LOG:-info}" "$service" --es-url "http://127.0.0.1:$port" "$@"
