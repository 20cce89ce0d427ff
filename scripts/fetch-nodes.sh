#!/usr/bin/env bash
# Fetches the Elasticsearch and OpenSearch integ-test-zips from Maven Central by coordinates and
# unpacks them into the cache. OpenSearch gets its lang-painless module assembled from the
# published jars. Runs are idempotent: what is already unpacked is kept.
#   scripts/fetch-nodes.sh [elasticsearch|opensearch]...   (default: both)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ensure_prerequisites nodes
# The node user reads the unpacked distributions from here.
mkdir -p "$CSP_CACHE"
chmod 755 "$CSP_CACHE"
check_node_user_reaches "$CSP_CACHE" CSP_CACHE

fetch_elasticsearch() {
  local home="$CSP_CACHE/elasticsearch-$ES_VERSION"
  [ -x "$home/bin/elasticsearch" ] && return 0
  log "fetching elasticsearch $ES_VERSION"
  local tmp; tmp=$(mktemp -d)
  on_exit "rm -rf '$tmp'"
  maven_copy "org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" "$tmp"
  (cd "$tmp" && unzip -q ./*.zip)
  rm -rf "$home" && mv "$tmp/elasticsearch-$ES_VERSION" "$home"
  rm -rf "$tmp"
  chmod -R a+rX "$home"
}

fetch_opensearch() {
  local home="$CSP_CACHE/opensearch-$OPENSEARCH_VERSION"
  [ -f "$home/modules/lang-painless/plugin-descriptor.properties" ] && return 0
  log "fetching opensearch $OPENSEARCH_VERSION with lang-painless"
  local tmp; tmp=$(mktemp -d)
  on_exit "rm -rf '$tmp'"
  maven_copy "org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" "$tmp"
  (cd "$tmp" && unzip -q ./*.zip)
  local module="$tmp/opensearch-$OPENSEARCH_VERSION/modules/lang-painless"
  mkdir -p "$module"
  local artifact
  for artifact in \
    "org.opensearch.plugin:lang-painless:$OPENSEARCH_VERSION" \
    "org.opensearch.plugin:opensearch-scripting-painless-spi:$OPENSEARCH_VERSION" \
    "org.antlr:antlr4-runtime:$ANTLR_VERSION" \
    "org.ow2.asm:asm:$ASM_VERSION" \
    "org.ow2.asm:asm-util:$ASM_VERSION" \
    "org.ow2.asm:asm-tree:$ASM_VERSION" \
    "org.ow2.asm:asm-commons:$ASM_VERSION" \
    "org.ow2.asm:asm-analysis:$ASM_VERSION"; do
    maven_copy "$artifact" "$module"
  done
  # The published jars carry no plugin descriptor; these are the values the module is built with.
  cat >"$module/plugin-descriptor.properties" <<PROPS
description=An easy, safe and fast scripting language for OpenSearch
version=$OPENSEARCH_VERSION
name=lang-painless
classname=org.opensearch.painless.PainlessPlugin
java.version=11
opensearch.version=$OPENSEARCH_VERSION
extended.plugins=
has.native.controller=false
custom.foldername=
PROPS
  cat >"$module/plugin-security.policy" <<'POLICY'
grant {
  // painless compiles scripts into classes loaded by its own class loader
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
POLICY
  rm -rf "$home" && mv "$tmp/opensearch-$OPENSEARCH_VERSION" "$home"
  rm -rf "$tmp"
  chmod -R a+rX "$home"
}

[ $# -gt 0 ] || set -- elasticsearch opensearch
for kind in "$@"; do
  case "$kind" in
    elasticsearch) fetch_elasticsearch ;;
    opensearch) fetch_opensearch ;;
    *) die "unknown node kind '$kind' (elasticsearch or opensearch)" ;;
  esac
done
