#!/usr/bin/env bash
# Starts, stops or checks a local search node for development and tests: 127.0.0.1 only,
# single-node discovery, 512 MiB heap, security off, data in a fresh temporary directory,
# run as an unprivileged user. `start` waits until the cluster is healthy and creates the
# connector sync-jobs index.
#   scripts/node.sh start|stop|status [elasticsearch|opensearch]   (default: elasticsearch)
# Ports: CSP_ES_PORT (default 9200), CSP_OPENSEARCH_PORT (default 9201).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

action=${1:-}
kind=${2:-elasticsearch}
case "$kind" in
  elasticsearch) port=$ES_PORT version=$ES_VERSION port_setting=CSP_ES_PORT ;;
  opensearch) port=$OPENSEARCH_PORT version=$OPENSEARCH_VERSION port_setting=CSP_OPENSEARCH_PORT ;;
  *) die "unknown node kind '$kind' (elasticsearch or opensearch)" ;;
esac
run="$CSP_RUN/$kind-$port"
url="http://127.0.0.1:$port"

launched=
start() {
  if node_pid "$run" >/dev/null && node_healthy "$url"; then
    log "$kind already running at $url"
  else
    if [ "$kind" = opensearch ]; then ensure_prerequisites nodes opensearch; fi
    stop_node_in "$run"
    check_port_free "$port" "$port_setting"
    check_port_free $((port + 100)) "$port_setting (the transport port is 100 higher)"
    "$here/fetch-nodes.sh" "$kind"
    # A start that fails or is stopped part way stops the node it launched.
    launched=yes
    on_exit '[ -z "$launched" ] || stop_node_in "$run"'
    prepare_node_dir "$kind" "$run"
    log "starting $kind $version at $url"
    local extra=()
    # The pass-through test streams a bulk larger than the default 100mb limit; this is the
    # largest one request may be (just under 2 GiB).
    if [ "$kind" = elasticsearch ]; then extra=(-E http.max_content_length=2047mb); fi
    launch_node "$kind" "$run" -E "cluster.name=connector-sync-proxy-$kind" -E "node.name=node-$port" \
      -E discovery.type=single-node -E "http.port=$port" -E "transport.port=$((port + 100))" "${extra[@]}"
    wait_node "$run" "$url"
  fi
  "$here/create-index.sh" "$url"
  launched=
}

case "$action" in
  start) start ;;
  stop)
    if node_pid "$run" >/dev/null; then
      stop_node_in "$run"
      log "stopped $kind at $url"
    fi
    rm -rf "$run"
    ;;
  status)
    if node_pid "$run" >/dev/null && node_healthy "$url"; then
      echo "$kind running at $url"
    else
      echo "$kind not running at $url"
      exit 1
    fi
    ;;
  *) die "usage: scripts/node.sh start|stop|status [elasticsearch|opensearch]" ;;
esac
