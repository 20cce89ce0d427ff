# Shared settings and helpers for the scripts in this directory. Sourced, not run.
# Every pinned version lives here and only here.

# Newest Elasticsearch integ-test-zip that runs on this machine's JDKs (needs Java 21+).
ES_VERSION="${CSP_ES_VERSION:-9.5.4}"
# OpenSearch runs the scripted (Painless) path: Elasticsearch's lang-painless module is not
# published to Maven Central, OpenSearch's is. 2.x runs on Java 11-21.
OPENSEARCH_VERSION="${CSP_OPENSEARCH_VERSION:-2.19.6}"
ANTLR_VERSION=4.13.1
ASM_VERSION=9.7
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# Where distributions are unpacked. It must be readable by the unprivileged node user, so root
# does not use its own home directory (mode 700).
if [ -z "${CSP_CACHE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    CSP_CACHE=/var/cache/connector-sync-proxy
  else
    CSP_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/connector-sync-proxy"
  fi
fi
# Where running nodes keep their pid file, config, data and logs (one directory per node).
CSP_RUN="${CSP_RUN:-${TMPDIR:-/tmp}/connector-sync-proxy-nodes}"
# Unprivileged account that runs the nodes when the scripts run as root.
CSP_NODE_USER="${CSP_NODE_USER:-esnode}"

ES_PORT="${CSP_ES_PORT:-9200}"
OPENSEARCH_PORT="${CSP_OPENSEARCH_PORT:-9201}"

SYNC_JOBS_INDEX=.elastic-connectors-sync-jobs

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the home of an installed JDK whose major version is between $1 and $2 inclusive.
find_jdk() {
  local min=$1 max=$2 dir major
  for dir in ${JAVA_HOME:-} /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -x "$dir/bin/java" ] && [ -f "$dir/release" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$dir/release")
    [ -n "$major" ] || continue
    if [ "$major" -ge "$min" ] && [ "$major" -le "$max" ]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

# Copies a Maven artifact (GROUP:ARTIFACT:VERSION[:TYPE]) into directory $2.
maven_copy() {
  command -v mvn >/dev/null || die "mvn is needed to fetch $1 (install maven)"
  mvn -q -B -Dstyle.color=never "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$1" -DoutputDirectory="$2" -Dmdep.overWriteReleases=true >&2 \
    || die "could not fetch $1 from Maven Central"
}

# Runs a command as the unprivileged node user (or as ourselves when we are not root).
as_node_user() {
  if [ "$(id -u)" = 0 ]; then
    id "$CSP_NODE_USER" >/dev/null 2>&1 \
      || useradd --system --no-create-home --shell /usr/sbin/nologin "$CSP_NODE_USER" \
      || die "could not create the unprivileged user $CSP_NODE_USER"
    runuser -u "$CSP_NODE_USER" -- "$@"
  else
    "$@"
  fi
}

# Gives the node user ownership of a path (no-op when not root).
own_for_node_user() {
  if [ "$(id -u)" = 0 ]; then chown -R "$CSP_NODE_USER" "$@"; fi
}
