#!/usr/bin/env bash
# Runs tests/js against the service with the official JavaScript client (`@elastic/elasticsearch`,
# pinned in tests/js/package.json and package-lock.json), installed with `npm ci` into a fresh
# directory on every run. Needs node (20 or later: its built-in test runner) and npm, and the
# Elasticsearch node at CSP_TEST_ES_URL (default: the node of scripts/node.sh, which must be running).
#   scripts/js-clients.sh [node --test arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
ensure_prerequisites js

es_url="${CSP_TEST_ES_URL:-http://127.0.0.1:$ES_PORT}"
node_healthy "$es_url" || die "no Elasticsearch node answers at $es_url (start one with scripts/node.sh start)"

work=$(mktemp -d)
on_exit 'rm -rf "$work"'
start_service_for_clients "$es_url" "$work/service.log"

# A fresh copy of the suite, so no node_modules of an earlier run is ever used.
mkdir "$work/js"
cp tests/js/package.json tests/js/package-lock.json tests/js/.npmrc tests/js/*.js "$work/js/"
log "installing the pinned JavaScript client with npm ci"
(cd "$work/js" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
log "javascript client $(cd "$work/js" && node -p 'require("@elastic/elasticsearch/package.json").version') against $service_url"
# In a session of its own (run_child): a signal to this script ends the whole suite, the runner
# and what it started, before the service.
run_child env -C "$work/js" CSP_SERVICE_URL="$service_url" CSP_TEST_ES_URL="$es_url" node --test "$@"
