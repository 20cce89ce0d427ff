#!/usr/bin/env bash
# Starts, stops or checks a local Elasticsearch node with security turned on, for tests of
# authentication and authorization: HTTPS on 127.0.0.1 only, single-node discovery, 512 MiB heap,
# data in a fresh directory, run as the unprivileged node user. `start` makes a throwaway CA and a
# node certificate with openssl, sets the `elastic` password, waits until the cluster is healthy,
# creates the connector indices, file-based roles and file-realm users (this distribution cannot
# keep users or roles in the .security index), and then smoke-checks them:
#   connectors_writer  read + write on .elastic-connectors*   user writer / writer-password
#   connectors_reader  read on .elastic-connectors*           user reader / reader-password
# (.elastic-connectors* covers the connectors, their sync jobs and the service's index-name
# reservations, which create-index.sh creates here as elastic.)
# For the connector cluster privileges (each user's password is <user>-password):
#   connector_monitor  cluster monitor_connector                           user mon
#   connector_manager  cluster manage_connector                            user mgr
#   connector_secrets  cluster read_ and write_connector_secrets           user mgrsec (with connector_manager)
#   connectors_writer  raw index access, no connector privilege            user rawidx
#   connector_service  the connector service's own role (see roles_yml)    user connsvc
#   (no role at all)                                                       user nobody
#   connector_manager, moved to connector_monitor and back by the revocation test  user revokee
# Running `start` against a node that is already up only re-applies the index, roles and users.
#   scripts/secure-node.sh start|stop|status
# Port: CSP_SECURE_PORT (default 9202; the transport port is 100 higher).
# Password of `elastic`: CSP_SECURE_ELASTIC_PASSWORD (default elastic-test-password).
# The CA certificate that signs the node's certificate is copied to $CSP_RUN/secure-node-ca.pem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# Security tests always run on the pinned version, whatever version a matrix run gives other nodes.
ES_VERSION="${CSP_SECURE_ES_VERSION:-$ES_PINNED_VERSION}"
[ "${1:-}" != start ] || ensure_prerequisites nodes secure

action=${1:-}
port=${CSP_SECURE_PORT:-9202}
password=${CSP_SECURE_ELASTIC_PASSWORD:-elastic-test-password}
run="$CSP_RUN/secure-elasticsearch-$port"
url="https://127.0.0.1:$port"
ca_copy="$CSP_RUN/secure-node-ca.pem"
# the CA as the node itself reads it; the copy above is for everybody else
node_ca="$run/config/certs/ca.pem"

# curl against the secure node, trusting our CA; extra arguments follow (credentials, URL, ...)
scurl() { curl -sS -m 30 --cacert "$node_ca" "$@"; }
# the same, as the superuser
ecurl() { scurl -u "elastic:$password" "$@"; }

secure_healthy() {
  [ -f "$node_ca" ] \
    && ecurl -f -m 3 -o /dev/null "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

# Makes a CA and a certificate for localhost / 127.0.0.1 signed by it, and puts the PEM files
# the node needs under its config directory (the only place Elasticsearch reads them from).
make_certs() {
  command -v openssl >/dev/null || die "openssl is needed to make the test certificates: install it with: apt-get install -y openssl"
  local work="$run/certs" dest="$run/config/certs"
  mkdir -p "$work" "$dest"
  # our own minimal openssl config, so the result does not depend on the system's openssl.cnf
  cat >"$work/openssl.cnf" <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ node_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  (
    cd "$work" \
      && openssl req -x509 -config openssl.cnf -extensions ca_ext -newkey rsa:2048 -nodes -sha256 \
        -days 3650 -subj "/CN=connector-sync-proxy test CA" -keyout ca.key -out ca.pem \
      && openssl req -new -config openssl.cnf -newkey rsa:2048 -nodes -sha256 \
        -subj "/CN=localhost" -keyout node.key -out node.csr \
      && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
        -extfile openssl.cnf -extensions node_ext -out node.pem
  ) >"$run/openssl.log" 2>&1 || { cat "$run/openssl.log" >&2; die "openssl could not make the test certificates"; }
  cp "$work/ca.pem" "$work/node.pem" "$work/node.key" "$dest/"
  chmod 600 "$work/ca.key" "$dest/node.key"
  chmod 644 "$dest/ca.pem" "$dest/node.pem"
}

# Starts the node in the background with security and HTTPS on; the launcher returns once the
# node is up (or has failed).
launch_secure_node() {
  local home jdk
  home=$(node_home elasticsearch)
  jdk=$(find_jdk 21 99) || die "Elasticsearch $ES_VERSION needs a JDK 21 or later and none was found under /usr/lib/jvm: install one with: apt-get install -y openjdk-21-jdk-headless, or set JAVA_HOME to one"
  local env=(env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp")
  # the elastic user authenticates with the keystore's bootstrap password until it is changed
  as_node_user "${env[@]}" "$home/bin/elasticsearch-keystore" create >"$run/keystore.log" 2>&1 \
    && printf '%s' "$password" | as_node_user "${env[@]}" "$home/bin/elasticsearch-keystore" add -x -f bootstrap.password >>"$run/keystore.log" 2>&1 \
    || { cat "$run/keystore.log" >&2; die "could not store the bootstrap password in the keystore"; }
  # The built-in roles synchronizer would keep trying to create the .security index, which cannot
  # work here (see roles_yml below); switch it off to keep the log quiet.
  as_node_user "${env[@]}" ES_JAVA_OPTS="-Xms512m -Xmx512m -Des.queryable_built_in_roles_enabled=false" \
    "$home/bin/elasticsearch" -d -p "$run/pid" \
    -E cluster.name=connector-sync-proxy-secure -E "node.name=secure-node-$port" \
    -E network.host=127.0.0.1 -E discovery.type=single-node \
    -E "http.port=$port" -E "transport.port=$((port + 100))" \
    -E "path.data=$run/data" -E "path.logs=$run/logs" \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E xpack.security.enabled=true \
    -E xpack.security.http.ssl.enabled=true \
    -E xpack.security.http.ssl.key=certs/node.key \
    -E xpack.security.http.ssl.certificate=certs/node.pem \
    -E xpack.security.http.ssl.certificate_authorities=certs/ca.pem \
    >"$run/stdout.log" 2>&1 || { tail -n 40 "$run/stdout.log" >&2; explain_node_failure "$run" "secure elasticsearch"; }
}

# curl options that reach the node as elastic, for the shared helpers and create-index.sh.
export CSP_CURL_OPTS="--cacert $node_ca -u elastic:$password"

# The roles and users live in files under the node's config directory (roles.yml and the file
# realm), not in the .security index: that index's mapping needs the analysis-common module, which
# the integ-test-zip lacks, so PUT _security/role|user (and API keys) fail on this node with
# "Unknown filter type [pattern_capture]". Elasticsearch re-reads these files within seconds of a
# change, so they can be rewritten while the node runs.
roles_yml() {
  cat <<YAML
connectors_writer:
  indices:
    - names: ["$CONNECTORS_INDEX*"]
      privileges: [read, write]
      allow_restricted_indices: true
connectors_reader:
  indices:
    - names: ["$CONNECTORS_INDEX*"]
      privileges: [read]
      allow_restricted_indices: true
connector_monitor:
  cluster: [monitor_connector]
connector_manager:
  cluster: [manage_connector]
connector_secrets:
  cluster: [read_connector_secrets, write_connector_secrets]
connector_service:
  cluster: [monitor, manage_connector]
  indices:
    - names: ["search-*", ".search-acl-filter-search-*", "$CONNECTORS_INDEX*"]
      privileges: [all]
YAML
}
# connector_service is the role Elastic documents for the connector service's API key: the cluster
# privileges monitor and manage_connector, and all on the content indices it fills, their
# access-control indices and .elastic-connectors* (the connector service still writes a job's
# final status with a plain update of the sync-jobs index).

# user:password:roles (comma-separated, may be empty) of every file-realm user the node gets.
file_users() {
  cat <<USERS
writer:writer-password:connectors_writer
reader:reader-password:connectors_reader
mon:mon-password:connector_monitor
mgr:mgr-password:connector_manager
mgrsec:mgrsec-password:connector_manager,connector_secrets
rawidx:rawidx-password:connectors_writer
nobody:nobody-password:
connsvc:connsvc-password:connector_service
revokee:revokee-password:connector_manager
USERS
}

# Runs bin/elasticsearch-users against the node's config directory, as the node user.
es_users() {
  local jdk
  jdk=$(find_jdk 21 99) || die "Elasticsearch $ES_VERSION needs a JDK 21 or later and none was found under /usr/lib/jvm: install one with: apt-get install -y openjdk-21-jdk-headless, or set JAVA_HOME to one"
  as_node_user env ES_JAVA_HOME="$jdk" ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp" \
    "$(node_home elasticsearch)/bin/elasticsearch-users" "$@"
}

# Whether user $1 with password $2 authenticates on the running node with exactly the roles $3
# (comma-separated, sorted, empty for none).
user_ready() {
  local out have
  out=$(scurl -f -u "$1:$2" "$url/_security/_authenticate" 2>/dev/null) || return 1
  have=$(printf '%s' "$out" | sed -n 's/.*"roles":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' '\n' | sort | paste -sd, -)
  [ "$have" = "$3" ]
}

# Makes file-realm user $1 with password $2 and exactly the roles $3 (comma-separated, may be
# empty), or brings an existing one in line. With $4 = running, a user that already authenticates
# with that password and those roles is left alone.
ensure_user() {
  local name=$1 pw=$2 roles=$3 have extra
  if [ "${4:-}" = running ] && user_ready "$name" "$pw" "$roles"; then
    return 0
  fi
  {
    if have=$(es_users list "$name" 2>/dev/null); then
      # `list` prints "name : role1,role2", or "name : -" without roles
      have=$(printf '%s' "$have" | sed -n 's/^[^:]*: *//p' | tr -d ' *' | sed 's/^-$//')
      extra=$(comm -23 <(printf '%s' "$have" | tr ',' '\n' | sed '/^$/d' | sort) \
        <(printf '%s' "$roles" | tr ',' '\n' | sed '/^$/d' | sort) | paste -sd, -)
      es_users passwd "$name" -p "$pw" \
        && { [ -z "$extra" ] || es_users roles "$name" -r "$extra"; } \
        && { [ -z "$roles" ] || es_users roles "$name" -a "$roles"; }
    elif [ -n "$roles" ]; then
      es_users useradd "$name" -p "$pw" -r "$roles"
    else
      es_users useradd "$name" -p "$pw"
    fi
  } >>"$run/users.log" 2>&1 || { cat "$run/users.log" >&2; die "could not set up the file-realm user $name"; }
}

# Writes roles.yml and the users; $1 = running when the node is already up.
ensure_roles_and_users() {
  local roles="$run/config/roles.yml" name pw have
  if ! roles_yml | cmp -s - "$roles"; then
    roles_yml >"$roles"
    own_for_node_user "$roles"
  fi
  while IFS=: read -r name pw have; do
    ensure_user "$name" "$pw" "$have" "${1:-}"
  done < <(file_users)
}

# Waits until every user authenticates with its roles (file changes are picked up within ~5 s).
wait_users() {
  local waited=0 name pw have missing
  while :; do
    missing=
    while IFS=: read -r name pw have; do
      user_ready "$name" "$pw" "$(printf '%s' "$have" | tr ',' '\n' | sort | paste -sd, -)" || missing="$missing $name"
    done < <(file_users)
    [ -n "$missing" ] || break
    [ "$waited" -lt 60 ] || die "the file-realm users$missing do not authenticate with their roles at $url"
    sleep 1
    waited=$((waited + 1))
  done
  log "the file-realm roles and users are in place: $(file_users | cut -d: -f1 | paste -sd' ' -)"
}

# Prints the HTTP status of a request; curl's own failures (TLS, connection) are fatal.
status_of() {
  scurl -o /dev/null -w '%{http_code}' "$@" || die "request failed: $*"
}

# One line per check on stdout; the first failing check ends the script with an error.
smoke_check() {
  local doc="$url/$SYNC_JOBS_INDEX/_doc/secure-node-smoke-$$" body='{"status":"pending"}' code del headers auth
  code=$(status_of -u writer:writer-password -X PUT "$doc?refresh=true" -H 'Content-Type: application/json' -d "$body")
  case "$code" in 200 | 201) ;; *) die "check failed: writer could not index into $SYNC_JOBS_INDEX (HTTP $code)" ;; esac
  del=$(status_of -u writer:writer-password -X DELETE "$doc?refresh=true")
  [ "$del" = 200 ] || die "check failed: writer could not delete its test document (HTTP $del)"
  echo "check ok: writer indexed a document into $SYNC_JOBS_INDEX (HTTP $code) and deleted it (HTTP $del)"

  code=$(status_of -u reader:reader-password -X PUT "$doc?refresh=true" -H 'Content-Type: application/json' -d "$body")
  [ "$code" = 403 ] || die "check failed: reader writing into $SYNC_JOBS_INDEX got HTTP $code, expected 403"
  echo "check ok: reader writing into $SYNC_JOBS_INDEX is refused (HTTP $code)"

  headers=$(scurl -o /dev/null -D - "$url/_cluster/health") || die "request failed: anonymous GET $url/_cluster/health"
  code=$(printf '%s\n' "$headers" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p')
  auth=$(printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: *//p' | paste -sd'|' - | sed 's/|/ | /g')
  [ "$code" = 401 ] || die "check failed: a request without credentials got HTTP $code, expected 401"
  [ -n "$auth" ] || die "check failed: the 401 without credentials carries no WWW-Authenticate header"
  echo "check ok: a request without credentials is refused (HTTP $code, WWW-Authenticate: $auth)"
}

start() {
  fresh=0
  if node_pid "$run" >/dev/null && secure_healthy; then
    log "secure elasticsearch already running at $url"
  else
    fresh=1
    stop_node_in "$run"
    check_port_free "$port" CSP_SECURE_PORT
    check_port_free $((port + 100)) "CSP_SECURE_PORT (the transport port is 100 higher)"
    "$here/fetch-nodes.sh" elasticsearch
    # A start that fails or is stopped part way stops the node it launched.
    on_exit '[ "$fresh" != 1 ] || stop_node_in "$run"'
    prepare_node_dir elasticsearch "$run"
    make_certs
    own_for_node_user "$run"
    ensure_roles_and_users
    log "starting secure elasticsearch $ES_VERSION at $url"
    launch_secure_node
    wait_node "$run" "$url"
  fi
  # a copy of the CA anyone can read, refreshed on every start
  cp "$node_ca" "$ca_copy.tmp" && chmod 644 "$ca_copy.tmp" && mv -f "$ca_copy.tmp" "$ca_copy"
  [ "$fresh" = 1 ] || ensure_roles_and_users running
  wait_users
  "$here/create-index.sh" "$url"
  smoke_check
  fresh=0
  echo "secure elasticsearch running at $url"
  echo "CA certificate: $ca_copy"
  echo "users: elastic / $password (superuser); <user> / <user>-password for $(file_users | cut -d: -f1 | paste -sd' ' -)"
}

case "$action" in
  start) start ;;
  stop)
    if node_pid "$run" >/dev/null; then
      stop_node_in "$run"
      log "stopped secure elasticsearch at $url"
    fi
    rm -rf "$run" "$ca_copy"
    ;;
  status)
    if node_pid "$run" >/dev/null && secure_healthy; then
      echo "secure elasticsearch running at $url (CA $ca_copy)"
    else
      echo "secure elasticsearch not running at $url"
      exit 1
    fi
    ;;
  *) die "usage: scripts/secure-node.sh start|stop|status" ;;
esac
