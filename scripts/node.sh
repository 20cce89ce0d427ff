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
  elasticsearch)
    port=$ES_PORT
    home="$CSP_CACHE/elasticsearch-$ES_VERSION"
    ;;
  opensearch)
    port=$OPENSEARCH_PORT
    home="$CSP_CACHE/opensearch-$OPENSEARCH_VERSION"
    ;;
  *) die "unknown node kind '$kind' (elasticsearch or opensearch)" ;;
esac
run="$CSP_RUN/$kind-$port"
url="http://127.0.0.1:$port"

healthy() {
  curl -fsS -m 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

running_pid() {
  local pid
  [ -f "$run/pid" ] && pid=$(cat "$run/pid") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

start() {
  if running_pid >/dev/null && healthy; then
    log "$kind already running at $url"
    "$here/create-index.sh" "$url"
    return 0
  fi
  "$here/fetch-nodes.sh" "$kind"
  stop_node quiet
  mkdir -p "$CSP_RUN"
  chmod 755 "$CSP_RUN"
  rm -rf "$run"
  mkdir -p "$run/data" "$run/logs" "$run/tmp"
  cp -r "$home/config" "$run/config"
  # jvm.options points gc logs, error files and heap dumps at paths relative to the install
  # directory, which belongs to root: point them into this node's own directory.
  sed -i -e "s#\([=:]\)logs/#\1$run/logs/#g" -e "s#HeapDumpPath=data#HeapDumpPath=$run/data#" "$run/config/jvm.options"
  own_for_node_user "$run"
  local settings=(
    -E "cluster.name=connector-sync-proxy-$kind"
    -E "node.name=node-$port"
    -E discovery.type=single-node
    -E network.host=127.0.0.1
    -E "http.port=$port"
    -E "transport.port=$((port + 100))"
    -E "path.data=$run/data"
    -E "path.logs=$run/logs"
    -E cluster.routing.allocation.disk.threshold_enabled=false
  )
  local jdk
  if [ "$kind" = elasticsearch ]; then
    jdk=$(find_jdk 21 99) || die "Elasticsearch $ES_VERSION needs a JDK 21 or later (none found under /usr/lib/jvm; set JAVA_HOME)"
    log "starting elasticsearch $ES_VERSION at $url (java: $jdk)"
    as_node_user env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp" \
      ES_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/elasticsearch" -d -p "$run/pid" -E xpack.security.enabled=false "${settings[@]}" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; die "elasticsearch did not start"; }
  else
    # OpenSearch 2.x uses the Java security manager, which Java 24 removed.
    jdk=$(find_jdk 11 21) || die "OpenSearch $OPENSEARCH_VERSION needs a JDK between 11 and 21 (set JAVA_HOME)"
    log "starting opensearch $OPENSEARCH_VERSION at $url (java: $jdk)"
    as_node_user env OPENSEARCH_JAVA_HOME="$jdk" OPENSEARCH_PATH_CONF="$run/config" OPENSEARCH_TMPDIR="$run/tmp" \
      OPENSEARCH_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/opensearch" -d -p "$run/pid" "${settings[@]}" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; die "opensearch did not start"; }
  fi
  local waited=0
  until healthy; do
    # the pid file appears a moment after the launcher returns; a pid without a process means it died
    if [ "$waited" -ge 180 ] || { [ -f "$run/pid" ] && ! running_pid >/dev/null; }; then
      tail -n 40 "$run/logs/"*.log "$run/stdout.log" 2>/dev/null >&2 || true
      die "$kind did not become healthy at $url"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "$kind is healthy at $url after ${waited}s"
  "$here/create-index.sh" "$url"
}

stop_node() {
  local pid
  if pid=$(running_pid); then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    [ "${1:-}" = quiet ] || log "stopped $kind at $url"
  fi
  rm -rf "$run"
}

case "$action" in
  start) start ;;
  stop) stop_node ;;
  status)
    if running_pid >/dev/null && healthy; then echo "$kind running at $url"; else echo "$kind not running at $url"; exit 1; fi
    ;;
  *) die "usage: scripts/node.sh start|stop|status [elasticsearch|opensearch]" ;;
esac
