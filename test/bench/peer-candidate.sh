#!/usr/bin/env bash
# Starts Gatehouse as the candidate of the peer benchmark (bench-peers/run.sh):
#
#   cd path/to/bench-peers && \
#     CANDIDATE_CMD='bash path/to/gatehouse/test/bench/peer-candidate.sh' CANDIDATE_NAME=gatehouse ./run.sh
#
# run.sh exports PORT, UPSTREAM_URL and JWT_PUBLIC_KEY_FILE (RS256 SPKI PEM) and
# pins this command to its proxy core. Its tokens carry iss "peers-bench", exp,
# jti and permissions {"bench": "rw"}, so Gatehouse needs one issuer and one API
# covering every path (GATEHOUSE_PEER_CACHE_MAX sets cache.maxEntries, e.g. 1000 to
# defeat the cache in the pool regime). The log level stays "info" as in production: the access
# log line per request is part of the cost being measured. Uses the built
# dist/main.js (npm ci builds it; npm run build after changing src/).
set -euo pipefail

: "${PORT:?PORT must be set (run.sh sets it)}"
: "${UPSTREAM_URL:?UPSTREAM_URL must be set (run.sh sets it)}"
: "${JWT_PUBLIC_KEY_FILE:?JWT_PUBLIC_KEY_FILE must be set (run.sh sets it)}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MAIN="$REPO/dist/main.js"
[[ -f "$MAIN" ]] || { echo "peer-candidate: $MAIN is missing; run npm ci (or npm run build) in $REPO" >&2; exit 2; }
[[ -r "$JWT_PUBLIC_KEY_FILE" ]] || { echo "peer-candidate: cannot read $JWT_PUBLIC_KEY_FILE" >&2; exit 2; }

# One folder per port, rewritten on every start, so repeated runs leave nothing behind.
DIR="${GATEHOUSE_PEER_DIR:-${TMPDIR:-/tmp}/gatehouse-peer-bench-$PORT}"
mkdir -p "$DIR"
chmod 700 "$DIR"
rm -f "$DIR/apikeys.json"

# JSON is valid YAML: no quoting surprises whatever the paths contain.
node -e '
  const [file, port, upstream, pem, dir] = process.argv.slice(1)
  const config = {
    listen: `127.0.0.1:${port}`,
    admin: { listen: process.env.GATEHOUSE_PEER_ADMIN_LISTEN || "127.0.0.1:0" },
    upstream: { url: upstream },
    apis: [{ name: "bench", prefixes: ["/"] }],
    unmatched: "deny",
    jwt: { issuers: [{ issuer: "peers-bench", publicKeyFile: pem, algorithms: ["RS256"] }] },
    store: { type: "file", path: `${dir}/apikeys.json` },
    log: { level: process.env.GATEHOUSE_PEER_LOG_LEVEL || "info" },
  }
  // GATEHOUSE_PEER_CACHE_MAX=1000: the pool of 5,000 tokens then gets no cache hit (as node-fastify-cached).
  if (process.env.GATEHOUSE_PEER_CACHE_MAX) config.cache = { maxEntries: Number(process.env.GATEHOUSE_PEER_CACHE_MAX) }
  require("fs").writeFileSync(file, JSON.stringify(config, null, 2) + "\n")
' "$DIR/gatehouse.yaml" "$PORT" "$UPSTREAM_URL" "$JWT_PUBLIC_KEY_FILE" "$DIR"

unset NODE_OPTIONS GATEHOUSE_CONFIG
exec node "$MAIN" serve --config "$DIR/gatehouse.yaml"
