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
service_pid=
suite_pid=
stop() {
  if [ -n "$suite_pid" ]; then
    kill -TERM -- "-$suite_pid" 2>/dev/null || kill "$suite_pid" 2>/dev/null || true
    wait "$suite_pid" 2>/dev/null || true
  fi
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cargo build --quiet --bin connector-sync-proxy
./target/debug/connector-sync-proxy --listen 127.0.0.1:0 --es-url "$es_url" 2>"$work/service.log" &
service_pid=$!
for _ in $(seq 1 100); do
  service_url=$(sed -n 's/.*listening on \(http:\/\/[^,]*\),.*/\1/p' "$work/service.log" | head -n 1)
  [ -n "$service_url" ] && break
  kill -0 "$service_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "${service_url:-}" ] || { cat "$work/service.log" >&2; die "the service did not start"; }

# A fresh copy of the suite, so no node_modules of an earlier run is ever used.
mkdir "$work/js"
cp tests/js/package.json tests/js/package-lock.json tests/js/.npmrc tests/js/*.js "$work/js/"
log "installing the pinned JavaScript client with npm ci"
(cd "$work/js" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
log "javascript client $(cd "$work/js" && node -p 'require("@elastic/elasticsearch/package.json").version') against $service_url"
# In its own process group, in the background and waited for: a signal to this script runs its
# traps at once, and they end the whole suite (the runner and what it started) before the service.
(cd "$work/js" && CSP_SERVICE_URL="$service_url" CSP_TEST_ES_URL="$es_url" exec setsid node --test "$@") &
suite_pid=$!
wait "$suite_pid"
