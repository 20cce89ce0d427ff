#!/usr/bin/env bash
# Runs tests/python against the service with each tested version of the official Python client
# (`elasticsearch` from PyPI), each in its own virtualenv. Needs the Elasticsearch node of
# scripts/node.sh (started if it is not running) and python3 with venv.
#   scripts/python-clients.sh [client versions...]   (default: 8.15.1 8.19.3 9.5.1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
ensure_prerequisites python

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(8.15.1 8.19.3 9.5.1)
es_url="http://127.0.0.1:$ES_PORT"
start_for_this_run node.sh elasticsearch

log_file=$(mktemp)
on_exit 'rm -f "$log_file"'
start_service_for_clients "$es_url" "$log_file"

for version in "${versions[@]}"; do
  venv="$CSP_CACHE/python-elasticsearch-$version"
  if [ ! -x "$venv/bin/pytest" ]; then
    log "creating a virtualenv with elasticsearch==$version"
    python3 -m venv "$venv"
    run_child "$venv/bin/pip" install --quiet "elasticsearch==$version" pytest
  fi
  log "python client $version against $service_url"
  run_child env CSP_SERVICE_URL="$service_url" CSP_TEST_ES_URL="$es_url" "$venv/bin/pytest" -q -p no:cacheprovider -W "ignore:This API is in beta" -W "ignore:This API is in technical preview" tests/python
done
