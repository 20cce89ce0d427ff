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

# What a script started and must stop however it ends: done, its own failure, or SIGTERM, SIGINT
# or SIGHUP (each ends the script with 128 + the signal's number, as if it had been killed).
# `on_exit COMMAND` adds a command (a string, evaluated); they run newest first, once. Children
# that take long go through `run_child`: bash acts on a signal only once a foreground child is
# done, but at once while it waits for one in the background.
csp_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
csp_on_exit=()
on_exit() { csp_on_exit+=("$1"); }
csp_run_on_exit() {
  local status=$? i
  # A second signal must not cut the stopping short.
  trap '' HUP INT TERM
  for ((i = ${#csp_on_exit[@]} - 1; i >= 0; i--)); do eval "${csp_on_exit[i]}" || true; done
  csp_on_exit=()
  exit "$status"
}
trap csp_run_on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background and waits for it, returning its status; when the script ends
# first (a signal), the command and whatever it started get SIGTERM and are waited for. The
# command runs in a session of its own, so that it hears of a stop only from this script: a
# Ctrl-C in the terminal would otherwise reach it as well, and the service (actix) stops at once
# on SIGINT where SIGTERM lets it drain.
run_child() {
  setsid "$@" &
  local pid=$!
  on_exit "stop_child $pid"
  wait "$pid"
}

# Sends SIGTERM to a child of this script that still runs, and to the processes of its session,
# and waits until the child is gone.
stop_child() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Builds the service and starts it in front of the node at $1 on a free port, for a client suite;
# sets `service_url`. It is stopped (SIGTERM, drained) when the calling script ends, however it
# ends. Its log goes to file $2.
start_service_for_clients() {
  local es_url=$1 log_file=$2 pid
  run_child cargo build --quiet --bin connector-sync-proxy
  ./target/debug/connector-sync-proxy --listen 127.0.0.1:0 --es-url "$es_url" 2>"$log_file" &
  pid=$!
  on_exit "stop_child $pid"
  service_url=
  for _ in $(seq 1 100); do
    service_url=$(sed -n 's/.*listening on \(http:\/\/[^,]*\),.*/\1/p' "$log_file" | head -n 1)
    [ -n "$service_url" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log_file" >&2
  die "the service did not start in 10 s: its log is above; fix what it names and run this again"
}

# Starts what `scripts/$1 start [$2]` starts unless it runs already (`status`); when this script
# started it, it is stopped when this script ends.
start_for_this_run() {
  local script=$1 kind=${2:-}
  if ! "$csp_scripts/$script" status $kind >/dev/null 2>&1; then
    on_exit "\"$csp_scripts/$script\" stop $kind"
  fi
  run_child "$csp_scripts/$script" start $kind
}

# Fails with what to do when the node account cannot reach directory $1 (every directory above
# it must let it through), naming $2, the setting that chose it. Only root runs the nodes as
# another account.
check_node_user_reaches() {
  local dir=$1 setting=$2 path=""
  [ "$(id -u)" = 0 ] || return 0
  ensure_node_user
  runuser -u "$CSP_NODE_USER" -- test -x "$dir" -a -r "$dir" 2>/dev/null && return 0
  local part parts
  IFS=/ read -ra parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! runuser -u "$CSP_NODE_USER" -- test -x "$path" 2>/dev/null; then
      die "the node account $CSP_NODE_USER cannot enter $path (mode $(stat -c %a "$path" 2>/dev/null)), so it cannot reach $dir: set $setting to a directory it can reach, or let it through with: chmod o+x $path"
    fi
  done
  die "the node account $CSP_NODE_USER cannot read $dir: set $setting to another directory, or open it with: chmod o+rx $dir"
}

# Fails with what to do when something already listens on 127.0.0.1:$1; $2 names the setting
# that chose the port.
check_port_free() {
  local port=$1 setting=$2 holder=""
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
  if command -v ss >/dev/null; then
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/ (\1, pid \2)/p' | head -n 1)
  fi
  die "port $port on 127.0.0.1 is already in use by another program$holder: stop it, or choose a free port with $setting"
}

# The memory a node needs beyond its 512 MiB heap (the JVM's own, the page cache it leans on).
NODE_HEAP_MIB=512
NODE_MEMORY_MIB=1024

# Fails with what to do when the machine has not got the memory for one more node.
check_memory_for_node() {
  local available
  available=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null) || return 0
  [ -n "$available" ] || return 0
  if [ "$available" -lt "$NODE_MEMORY_MIB" ]; then
    die "only $available MiB of memory is available and a node needs about $NODE_MEMORY_MIB MiB (a $NODE_HEAP_MIB MiB heap): stop nodes you do not need (scripts/node.sh stop, scripts/cluster.sh stop) or other programs, then run this again"
  fi
}

# After a node failed to start from directory $1: one line with the likely cause and the fix,
# read from the errors the node wrote (not its warnings, which name settings such as
# vm.max_map_count that only matter in production mode).
explain_node_failure() {
  local run=$1 kind=$2 errors
  errors=$(grep -hiE "fatal|error|exception|could not reserve|insufficient memory|cannot allocate" \
    "$run/stdout.log" "$run/logs/"*.log 2>/dev/null | grep -vE '\[(WARN|INFO) |"(WARN|INFO)"' || true)
  case "$errors" in
    *"failed to obtain node locks"*)
      die "$kind did not start: another node holds its data directory $run/data (one still running from an earlier start?); stop it (scripts/node.sh stop, scripts/cluster.sh stop) and run this again" ;;
    *"well-known file"*"is not secure"*)
      die "$kind did not start: a JVM that ended earlier left its attach socket /tmp/.java_pid<pid> owned by another account; remove the stale ones (rm /tmp/.java_pid*, as root) and run this again" ;;
    *"Could not reserve enough space"* | *"insufficient memory"* | *"Cannot allocate memory"* | *"java.lang.OutOfMemoryError"*)
      die "$kind did not start: not enough memory for its $NODE_HEAP_MIB MiB heap; stop nodes you do not need or other programs, then run this again" ;;
    *"Address already in use"* | *BindException*)
      die "$kind did not start: one of its ports is in use by another program (see above); stop it or choose other ports (CSP_ES_PORT, CSP_OPENSEARCH_PORT, CSP_CLUSTER_PORT, CSP_SECURE_PORT)" ;;
    *"Permission denied"* | *AccessDeniedException*)
      die "$kind did not start: the node account ${CSP_NODE_USER} is denied a file (see above); put CSP_CACHE and CSP_RUN in directories it can reach, such as the defaults" ;;
    *"bootstrap checks failed"*)
      die "$kind did not start: a bootstrap check failed (see above); fix the setting it names (for vm.max_map_count: sysctl -w vm.max_map_count=262144) and run this again" ;;
    *)
      die "$kind did not start: its own words are above, the rest is in $run/logs; fix what they name and run this again" ;;
  esac
}

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
  command -v mvn >/dev/null || die "mvn is needed to fetch $1: install it with: apt-get install -y maven"
  mvn -q -B -Dstyle.color=never "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$1" -DoutputDirectory="$2" -Dmdep.overWriteReleases=true >&2 \
    || die "could not fetch $1 from Maven Central (Maven's words are above): check the network, a proxy in ~/.m2/settings.xml, or the version asked for, and run this again"
}

# Creates the unprivileged node account when it does not exist yet (root only). Every step that
# hands something to the account calls this first, so no step depends on an earlier one.
ensure_node_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$CSP_NODE_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$CSP_NODE_USER" \
    || id "$CSP_NODE_USER" >/dev/null 2>&1 \
    || die "could not create the unprivileged user $CSP_NODE_USER that runs the nodes: create it yourself (useradd --system $CSP_NODE_USER) or name an existing one with CSP_NODE_USER"
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
  apt-get update -q >&2 || die "apt-get update failed (its words are above): check the network and /etc/apt/sources.list, or install ${missing[*]} yourself, then run this again"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || die "could not install ${missing[*]} (apt-get's words are above): install them yourself, then run this again"
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
  check_node_user_reaches "$CSP_RUN" CSP_RUN
  check_memory_for_node
  rm -rf "$run"
  mkdir -p "$run/data" "$run/logs" "$run/tmp"
  cp -r "$home/config" "$run/config"
  # jvm.options points gc logs, error files and heap dumps at paths relative to the install
  # directory, which belongs to root: point them into this node's own directory.
  sed -i -e "s#\([=:]\)logs/#\1$run/logs/#g" -e "s#HeapDumpPath=data#HeapDumpPath=$run/data#" "$run/config/jvm.options"
  own_for_node_user "$run"
}

# A JVM leaves its attach socket /tmp/.java_pid<pid> behind when it ends (Elasticsearch 9 attaches
# to itself at start-up to load its entitlement agent, which creates it). A later JVM that gets
# the same pid and runs as another account (CI makes a new one every run) then cannot attach and
# dies at start-up ("well-known file ... is not secure"). Removes the sockets of processes that
# are gone; ones this account may not remove are left.
clear_stale_attach_files() {
  local file pid
  for file in /tmp/.java_pid*; do
    [ -e "$file" ] || continue
    pid=${file#/tmp/.java_pid}
    kill -0 "$pid" 2>/dev/null || rm -f "$file" 2>/dev/null || true
  done
}

# Starts a node of kind $1 from directory $2 in the background, with 512 MiB of heap, bound to
# 127.0.0.1; the remaining arguments are its -E settings.
launch_node() {
  local kind=$1 run=$2 home jdk
  shift 2
  clear_stale_attach_files
  home=$(node_home "$kind")
  local common=(-E network.host=127.0.0.1 -E "path.data=$run/data" -E "path.logs=$run/logs"
    -E cluster.routing.allocation.disk.threshold_enabled=false)
  if [ "$kind" = elasticsearch ]; then
    jdk=$(es_jdk) || die "Elasticsearch $ES_VERSION needs a JDK $(es_jdk_range | tr ' ' '-') and none was found under /usr/lib/jvm: install one with: apt-get install -y $(es_jdk_package), or set JAVA_HOME to one"
    as_node_user env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp" \
      ES_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/elasticsearch" -d -p "$run/pid" -E xpack.security.enabled=false "${common[@]}" "$@" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; explain_node_failure "$run" elasticsearch; }
  else
    # OpenSearch 2.x uses the Java security manager, which Java 24 removed.
    jdk=$(find_jdk 11 21) || die "OpenSearch $OPENSEARCH_VERSION needs a JDK between 11 and 21 and none was found under /usr/lib/jvm: install one with: apt-get install -y openjdk-17-jdk-headless, or set JAVA_HOME to one"
    as_node_user env OPENSEARCH_JAVA_HOME="$jdk" OPENSEARCH_PATH_CONF="$run/config" OPENSEARCH_TMPDIR="$run/tmp" \
      OPENSEARCH_JAVA_OPTS="-Xms512m -Xmx512m" \
      "$home/bin/opensearch" -d -p "$run/pid" "${common[@]}" "$@" \
      >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; explain_node_failure "$run" opensearch; }
  fi
}

# Waits until the node in directory $1 answers healthy at URL $2 (at most 180 s).
wait_node() {
  local run=$1 url=$2 waited=0
  until node_healthy "$url"; do
    # the pid file appears a moment after the launcher returns; a pid without a process means it died
    if [ "$waited" -ge 180 ] || { [ -f "$run/pid" ] && ! node_pid "$run" >/dev/null; }; then
      tail -n 40 "$run/logs/"*.log "$run/stdout.log" 2>/dev/null >&2 || true
      if [ "$waited" -ge 180 ]; then
        die "the node at $url did not become healthy in 180 s: its log is above; on a busy or small machine stop other nodes and run this again"
      fi
      explain_node_failure "$run" "the node at $url"
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
