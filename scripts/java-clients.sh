#!/usr/bin/env bash
# Runs tests/java against the service with the official Java client
# (`co.elastic.clients:elasticsearch-java`, pinned in tests/java/pom.xml), a Maven project with
# JUnit 5. Every dependency comes from Maven Central by its coordinates (a warm ~/.m2 is used,
# a cold one is filled). Needs mvn and a JDK 17 or later, and the Elasticsearch node at
# CSP_TEST_ES_URL (default: the node of scripts/node.sh, which must be running).
#   scripts/java-clients.sh [mvn arguments, e.g. -Dtest=FilterPathTest]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."
ensure_prerequisites java
if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  JAVA_HOME=$(find_jdk 17 99) || die "the Java client needs a JDK 17 or later (set JAVA_HOME)"
  export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
fi

es_url="${CSP_TEST_ES_URL:-http://127.0.0.1:$ES_PORT}"
node_healthy "$es_url" || die "no Elasticsearch node answers at $es_url (start one with scripts/node.sh start)"

work=$(mktemp -d)
on_exit 'rm -rf "$work"'
start_service_for_clients "$es_url" "$work/service.log"

# A copy of the project, so that the build output stays out of the tree.
cp -r tests/java "$work/java"
log "java client $(sed -n 's:.*<elasticsearch-java.version>\(.*\)</elasticsearch-java.version>.*:\1:p' tests/java/pom.xml) against $service_url"
# In a session of its own (run_child): a signal to this script ends the whole suite, the runner
# and what it started, before the service.
run_child env -C "$work/java" CSP_SERVICE_URL="$service_url" CSP_TEST_ES_URL="$es_url" mvn -q -B -Dstyle.color=never test "$@"
# mvn -q says nothing when every test passes: count them from the reports.
cat "$work"/java/target/surefire-reports/TEST-*.xml 2>/dev/null | sed -n 's/.*<testsuite [^>]*name="\([^"]*\)"[^>]*tests="\([0-9]*\)"[^>]*skipped="\([0-9]*\)".*/\1 \2 \3/p' \
  | awk '{ run += $2; skipped += $3; printf "  %s: %d tests, %d skipped\n", $1, $2, $3 } END { printf "java client: %d tests, %d skipped, all passed\n", run, skipped }' >&2
