#!/usr/bin/env bash
# Runs the service against a local node it starts itself (fetched on first use), serving on
# 127.0.0.1:9280. Stops the node on exit if it started it. Extra arguments go to the service.
#   scripts/run.sh [--listen ADDR:PORT] [other flags, see --help]
# CSP_NODE=opensearch runs it against the OpenSearch node, where the scripted path is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

kind=${CSP_NODE:-elasticsearch}
case "$kind" in
  elasticsearch) port=$ES_PORT ;;
  opensearch) port=$OPENSEARCH_PORT ;;
  *) die "CSP_NODE must be elasticsearch or opensearch" ;;
esac
if [ "$kind" = opensearch ]; then ensure_prerequisites nodes opensearch; else ensure_prerequisites nodes; fi

started=
if ! "$here/node.sh" status "$kind" >/dev/null 2>&1; then started=yes; fi
"$here/node.sh" start "$kind"
if [ -n "$started" ]; then trap '"$here/node.sh" stop "$kind"' EXIT; fi

cargo build --release --quiet
RUST_LOG="${RUST_LOG:-info}" ./target/release/connector-sync-proxy --es-url "http://127.0.0.1:$port" "$@"
