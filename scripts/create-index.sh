#!/usr/bin/env bash
# Creates the connector indices on a cluster the way Elasticsearch lays them out, from the same
# definitions the service uses (src/documents/layouts/*.json): the hidden concrete indices
# .elastic-connectors-v1 and .elastic-connectors-sync-jobs-v1 behind their aliases, with the
# mappings of Elasticsearch's template registry, and the service's own
# .elastic-connectors-index-names-v1 (index-name reservations). Leaves existing indices alone.
# The service creates each itself on the first connector, job or name claim; creating them
# beforehand spares the roles that manage connectors the privileges index creation needs
# (create_index, and manage for the alias), and gives nodes that tests seed directly their indices.
#   scripts/create-index.sh [URL]   (default http://127.0.0.1:9200)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
url=${1:-http://127.0.0.1:$ES_PORT}
mapfile -t opts < <(curl_opts)

for alias in "$CONNECTORS_INDEX" "$SYNC_JOBS_INDEX" "$CONNECTORS_INDEX-index-names"; do
  if curl -fsS -m 10 "${opts[@]}" -o /dev/null "$url/$alias?expand_wildcards=all" 2>/dev/null; then
    continue
  fi
  layout="$here/../src/documents/layouts/${alias#.}.json"
  out=$(curl -sS -m 30 "${opts[@]}" -X PUT "$url/$alias-v1?wait_for_active_shards=1" \
    -H 'Content-Type: application/json' --data-binary "@$layout")
  case "$out" in
    *'"acknowledged":true'*) log "created $alias-v1 with alias $alias at $url" ;;
    *resource_already_exists_exception*) ;;
    *) die "could not create $alias-v1 at $url: $out" ;;
  esac
done
