#!/usr/bin/env bash
# A three-node Elasticsearch cluster on 127.0.0.1 for the fault tests: HTTP ports 9210-9212
# (CSP_CLUSTER_PORT sets the first), 512 MiB heap each, security off, run as an unprivileged user.
#   scripts/cluster.sh start           start all three, wait for green, create the sync-jobs index
#   scripts/cluster.sh stop            stop all three and remove their data
#   scripts/cluster.sh status          exit 0 when all three answer
#   scripts/cluster.sh kill N          SIGKILL node N (0-2), keeping its data
#   scripts/cluster.sh stop-node N     SIGTERM node N, keeping its data
#   scripts/cluster.sh start-node N    start node N again on its data and wait until it answers
#   scripts/cluster.sh pause N|resume N  SIGSTOP / SIGCONT node N (a hanging node)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# The cluster always runs the pinned version, whatever version a matrix run gives single nodes.
ES_VERSION="${CSP_CLUSTER_ES_VERSION:-$ES_PINNED_VERSION}"

first_port=${CSP_CLUSTER_PORT:-9210}
launched=
nodes=(0 1 2)
port_of() { echo $((first_port + $1)); }
dir_of() { echo "$CSP_RUN/cluster-$(port_of "$1")"; }
url_of() { echo "http://127.0.0.1:$(port_of "$1")"; }

launch() {
  local n=$1 seeds masters
  seeds=$(for i in "${nodes[@]}"; do printf '127.0.0.1:%s,' $(($(port_of "$i") + 100)); done)
  masters=$(for i in "${nodes[@]}"; do printf 'cluster-%s,' "$i"; done)
  launch_node elasticsearch "$(dir_of "$n")" -E cluster.name=connector-sync-proxy-cluster \
    -E "node.name=cluster-$n" -E "http.port=$(port_of "$n")" -E "transport.port=$(($(port_of "$n") + 100))" \
    -E "discovery.seed_hosts=${seeds%,}" -E "cluster.initial_master_nodes=${masters%,}"
}

node_arg() {
  case "${1:-}" in 0 | 1 | 2) echo "$1" ;; *) die "name a node: 0, 1 or 2" ;; esac
}

case "${1:-}" in
  start)
    if "$0" status >/dev/null 2>&1; then
      log "cluster already running"
    else
      for n in "${nodes[@]}"; do
        stop_node_in "$(dir_of "$n")"
        check_port_free "$(port_of "$n")" "CSP_CLUSTER_PORT (the first of three)"
        check_port_free $(($(port_of "$n") + 100)) "CSP_CLUSTER_PORT (the transport ports are 100 higher)"
      done
      "$here/fetch-nodes.sh" elasticsearch
      # A start that fails or is stopped part way stops the nodes it launched.
      launched=yes
      on_exit '[ -z "$launched" ] || for n in "${nodes[@]}"; do stop_node_in "$(dir_of "$n")"; done'
      for n in "${nodes[@]}"; do prepare_node_dir elasticsearch "$(dir_of "$n")"; done
      log "starting a three-node elasticsearch $ES_VERSION cluster at $(url_of 0), $(url_of 1), $(url_of 2)"
      for n in "${nodes[@]}"; do launch "$n"; done
      for n in "${nodes[@]}"; do wait_node "$(dir_of "$n")" "$(url_of "$n")"; done
    fi
    "$here/create-index.sh" "$(url_of 0)"
    curl -fsS -m 60 -o /dev/null "$(url_of 0)/_cluster/health?wait_for_status=green&timeout=50s" \
      || die "the cluster at $(url_of 0) did not turn green in 60 s: its nodes' logs are under $CSP_RUN/cluster-*/logs; on a busy or small machine stop other nodes and run this again"
    launched=
    ;;
  stop)
    for n in "${nodes[@]}"; do stop_node_in "$(dir_of "$n")"; rm -rf "$(dir_of "$n")"; done
    ;;
  status)
    for n in "${nodes[@]}"; do node_pid "$(dir_of "$n")" >/dev/null && node_healthy "$(url_of "$n")" || exit 1; done
    echo "cluster running"
    ;;
  kill)
    n=$(node_arg "${2:-}")
    if pid=$(node_pid "$(dir_of "$n")"); then
      kill -9 "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    ;;
  stop-node) stop_node_in "$(dir_of "$(node_arg "${2:-}")")" ;;
  start-node)
    n=$(node_arg "${2:-}")
    node_pid "$(dir_of "$n")" >/dev/null || launch "$n"
    wait_node "$(dir_of "$n")" "$(url_of "$n")"
    ;;
  pause) kill -STOP "$(node_pid "$(dir_of "$(node_arg "${2:-}")")")" ;;
  resume) kill -CONT "$(node_pid "$(dir_of "$(node_arg "${2:-}")")")" ;;
  *) die "usage: scripts/cluster.sh start|stop|status|kill N|stop-node N|start-node N|pause N|resume N" ;;
esac
