# Shared settings and helpers for the scripts in this directory. Sourced, not run.
# Every pinned version lives here and only here.

# Newest Elasticsearch integ-test-zip that runs on this machine's JDKs (needs Java 21+).
ES_PINNED_VERSION=9.5.4
ES_VERSION="${CSP_ES_VERSION:-$ES_PINNED_VERSION}"
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

# The HTTP URLs of the three-node cluster of scripts/cluster.sh (CSP_CLUSTER_PORT is the first),
# comma-separated, as the tests read them from CSP_TEST_CLUSTER_URLS.
cluster_urls() {
  local first=${CSP_CLUSTER_PORT:-9210}
  printf 'http://127.0.0.1:%s,http://127.0.0.1:%s,http://127.0.0.1:%s\n' "$first" $((first + 1)) $((first + 2))
}

SYNC_JOBS_INDEX=.elastic-connectors-sync-jobs
CONNECTORS_INDEX=.elastic-connectors

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

# The JDK versions an Elasticsearch version runs on: 9.x needs 21 or later; 8.x runs on 17 to 24.
es_jdk_range() {
  case "$ES_VERSION" in
    8.*) echo "17 24" ;;
    *) echo "21 99" ;;
  esac
}

es_jdk() {
  # shellcheck disable=SC2046
  find_jdk $(es_jdk_range)
}

# Copies a Maven artifact (GROUP:ARTIFACT:VERSION[:TYPE]) into directory $2.
maven_copy() {
  command -v mvn >/dev/null || die "mvn is needed to fetch $1 (install maven)"
  mvn -q -B -Dstyle.color=never "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$1" -DoutputDirectory="$2" -Dmdep.overWriteReleases=true >&2 \
    || die "could not fetch $1 from Maven Central"
}

# Creates the unprivileged node account when it does not exist yet (root only). Every step that
# hands something to the account calls this first, so no step depends on an earlier one.
ensure_node_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$CSP_NODE_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$CSP_NODE_USER" \
    || id "$CSP_NODE_USER" >/dev/null 2>&1 \
    || die "could not create the unprivileged user $CSP_NODE_USER"
  log "created the unprivileged user $CSP_NODE_USER that runs the nodes"
}

# Runs a command as the unprivileged node user (or as ourselves when we are not root).
as_node_user() {
  if [ "$(id -u)" = 0 ]; then
    ensure_node_user
    runuser -u "$CSP_NODE_USER" -- "$@"
  else
    "$@"
  fi
}

# Gives the node user ownership of a path (no-op when not root).
own_for_node_user() {
  if [ "$(id -u)" = 0 ]; then
    ensure_node_user
    chown -R "$CSP_NODE_USER" "$@"
  fi
}

# Debian packages for what the scripts need, by need: `nodes` (fetch and run Elasticsearch),
# `opensearch` (a JDK it runs on), `secure` (openssl for test certificates), `python` (virtualenvs
# for the official Python clients), `js` (node and npm for the official JavaScript client), `java`
# (Maven and a JDK 17 or later for the official Java client), `compose` (docker-compose to check
# the compose file).
# As root, missing ones are installed with apt-get; otherwise one message names the command.
ensure_prerequisites() {
  local need missing=()
  command -v cargo >/dev/null || die "cargo is needed: install Rust with rustup, then run this again"
  for need in "$@"; do
    case "$need" in
      nodes)
        command -v curl >/dev/null || missing+=(curl)
        command -v unzip >/dev/null || missing+=(unzip)
        command -v mvn >/dev/null || missing+=(maven)
        if [ "$(id -u)" = 0 ]; then
          command -v runuser >/dev/null || missing+=(util-linux)
          command -v useradd >/dev/null || missing+=(passwd)
        fi
        es_jdk >/dev/null || missing+=("$(es_jdk_package)")
        ;;
      opensearch) find_jdk 11 21 >/dev/null || missing+=(openjdk-17-jdk-headless) ;;
      secure) command -v openssl >/dev/null || missing+=(openssl) ;;
      python)
        command -v python3 >/dev/null || missing+=(python3)
        python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
        ;;
      js)
        command -v node >/dev/null || missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
        ;;
      java)
        command -v mvn >/dev/null || missing+=(maven)
        find_jdk 17 99 >/dev/null || missing+=(openjdk-17-jdk-headless)
        ;;
      compose) command -v docker-compose >/dev/null || missing+=(docker-compose) ;;
      *) die "unknown prerequisite '$need'" ;;
    esac
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" != 0 ]; then
    die "missing: ${missing[*]}; install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing: ${missing[*]}"
  apt-get update -q >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "could not install: ${missing[*]}"
}

# The Debian package of a JDK the configured Elasticsearch version runs on.
es_jdk_package() {
  case "$ES_VERSION" in
    8.*) echo openjdk-17-jdk-headless ;;
    *) echo openjdk-21-jdk-headless ;;
  esac
}

# The distribution directory of a node kind.
node_home() {
  case "$1" in
    elasticsearch) printf '%s\n' "$CSP_CACHE/elasticsearch-$ES_VERSION" ;;
    opensearch) printf '%s\n' "$CSP_CACHE/opensearch-$OPENSEARCH_VERSION" ;;
    *) die "unknown node kind '$1' (elasticsearch or opensearch)" ;;
  esac
}

# The pid of the node whose files live in directory $1, when it is running.
node_pid() {
  local pid
  [ -f "$1/pid" ] && pid=$(cat "$1/pid") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# Extra curl options for secured nodes (CA file, credentials), word-split: CSP_CURL_OPTS.
curl_opts() {
  # shellcheck disable=SC2206
  local opts=(${CSP_CURL_OPTS:-})
  [ ${#opts[@]} -eq 0 ] || printf '%s\n' "${opts[@]}"
}

# Whether the cluster behind URL $1 answers and is at least yellow.
node_healthy() {
  local opts
  mapfile -t opts < <(curl_opts)
  curl -fsS -m 2 "${opts[@]}" "$1/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1
}

# Makes a fresh directory $2 for a node of kind $1: its own config, data, logs and temp files,
# owned by the node user.
prepare_node_dir() {
  local home run=$2
  home=$(node_home "$1")
  mkdir -p "$CSP_RUN"
  chmod 755 "$CSP_RUN"
  rm -rf "$run"
  mkdir -p "$run/data" "$run/logs" "$run/tmp"
  cp -r "$home/config" "$run/config"
  # jvm.options points gc logs, error files and heap dumps at paths relative to the install
  # directory, which belongs to root: point them into this node's own directory.
  sed -i -e "s#\([=:]\)logs/#\1$run/logs/#g" -e "s#HeapDumpPath=data#HeapDumpPath=$run/data#" "$run/config/jvm.options"
  own_for_node_user "$run"
}

# Starts a node of kind $1 from directory $2 in the background, with 512 MiB of heap, bound to
# 127.0.0.1; the remaining arguments are its -E settings.
launch_node() {
  local kind=$1 run=$2 home jdk
  shift 2
  home=$(node_home "$kind")
  local common=(-E network.host=127.0.0.1 -E "path.data=$run/data" -E "path.logs=$run/logs"
    -E cluster.routing.allocation.disk.threshold_enabled=false)
  if [ "$kind" = elasticsearch ]; then
    jdk=$(es_jdk) || die "Elasticsearch $ES_VERSION needs a JDK $(es_jdk_range | tr ' ' '-') (none found under /usr/lib/jvm; set JAVA_HOME)"
    as_node_user env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp" \
      ES_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/elasticsearch" -d -p "$run/pid" -E xpack.security.enabled=false "${common[@]}" "$@" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; die "elasticsearch did not start"; }
  else
    # OpenSearch 2.x uses the Java security manager, which Java 24 removed.
    jdk=$(find_jdk 11 21) || die "OpenSearch $OPENSEARCH_VERSION needs a JDK between 11 and 21 (set JAVA_HOME)"
    as_node_user env OPENSEARCH_JAVA_HOME="$jdk" OPENSEARCH_PATH_CONF="$run/config" OPENSEARCH_TMPDIR="$run/tmp" \
      OPENSEARCH_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/opensearch" -d -p "$run/pid" "${common[@]}" "$@" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; die "opensearch did not start"; }
  fi
}

# Waits until the node in directory $1 answers healthy at URL $2 (at most 180 s).
wait_node() {
  local run=$1 url=$2 waited=0
  until node_healthy "$url"; do
    # the pid file appears a moment after the launcher returns; a pid without a process means it died
    if [ "$waited" -ge 180 ] || { [ -f "$run/pid" ] && ! node_pid "$run" >/dev/null; }; then
      tail -n 40 "$run/logs/"*.log "$run/stdout.log" 2>/dev/null >&2 || true
      die "the node at $url did not become healthy"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "healthy at $url after ${waited}s"
}

# Stops the node in directory $1 (SIGTERM, then SIGKILL after 30 s) and waits until it is gone.
# A node a test paused (SIGSTOP) is resumed first, or it would never act on the SIGTERM.
stop_node_in() {
  local pid
  pid=$(node_pid "$1") || return 0
  kill "$pid"
  kill -CONT "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
