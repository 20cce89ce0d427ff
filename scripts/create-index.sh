#!/usr/bin/env bash
# Creates the connector sync-jobs index on a cluster the way Elasticsearch does: a hidden concrete
# index .elastic-connectors-sync-jobs-v1 behind the hidden alias .elastic-connectors-sync-jobs,
# dynamic mapping off, with the fields the cancel operation reads and writes. Leaves an existing
# index alone.
#   scripts/create-index.sh [URL]   (default http://127.0.0.1:9200)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
url=${1:-http://127.0.0.1:$ES_PORT}
concrete="$SYNC_JOBS_INDEX-v1"
mapfile -t opts < <(curl_opts)

if curl -fsS -m 10 "${opts[@]}" -o /dev/null "$url/$SYNC_JOBS_INDEX?expand_wildcards=all" 2>/dev/null; then
  exit 0
fi
body=$(cat <<JSON
{
  "settings": {
    "index": { "hidden": true, "number_of_shards": 1, "auto_expand_replicas": "0-1" }
  },
  "aliases": { "$SYNC_JOBS_INDEX": { "is_hidden": true } },
  "mappings": {
    "dynamic": false,
    "properties": {
      "status": { "type": "keyword" },
      "cancelation_requested_at": { "type": "date" },
      "canceled_at": { "type": "date" },
      "completed_at": { "type": "date" },
      "started_at": { "type": "date" },
      "created_at": { "type": "date" },
      "last_seen": { "type": "date" },
      "job_type": { "type": "keyword" },
      "trigger_method": { "type": "keyword" },
      "worker_hostname": { "type": "keyword" },
      "error": { "type": "keyword" },
      "connector": { "properties": { "id": { "type": "keyword" } } }
    }
  }
}
JSON
)
out=$(curl -sS -m 30 "${opts[@]}" -X PUT "$url/$concrete?wait_for_active_shards=1" -H 'Content-Type: application/json' -d "$body")
case "$out" in
  *'"acknowledged":true'*) log "created $concrete with alias $SYNC_JOBS_INDEX at $url" ;;
  *resource_already_exists_exception*) ;;
  *) die "could not create $concrete at $url: $out" ;;
esac
