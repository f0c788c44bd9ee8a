#!/usr/bin/env bash
# The Postman collection (fixtures/postman) against the real binary, run by newman: starts the
# service on a fresh SQLite database in a temporary folder and a free loopback port, reads the
# bootstrap user's client id and secret from what it prints, runs the collection, stops the
# service, and exits with newman's status.
#
#   bash tests/postman/run.sh                        # target/debug/provisioning
#   PROVISIONING_BIN=path/to/provisioning bash tests/postman/run.sh
#
# Needs Node.js (20 or later) and npm; newman is installed here, in tests/postman/node_modules.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

binary="${PROVISIONING_BIN:-target/debug/provisioning}"
# A relative path is the repository's (as make and cargo name it), or the caller's.
if [[ "$binary" != /* ]]; then
  if [[ -e "$root/$binary" ]]; then binary="$root/$binary"; else binary="$PWD/$binary"; fi
fi
if [[ ! -x "$binary" ]]; then
  echo "run.sh: no provisioning binary at $binary (cargo build --bin provisioning, or set PROVISIONING_BIN)" >&2
  exit 2
fi
for tool in node npm npx; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing: install Node.js 20 and npm" >&2; exit 2; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/provisioning-postman.XXXXXX")"
server_pid=""
stop() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -s "$work/server.log" ]]; then
    echo "== the server's log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

echo "== starting $binary on a fresh SQLite database"
# Port 0: the system picks a free port, and the service prints the address it got. Settings
# that could move /health or the issuer elsewhere are cleared; the rate limits are raised so a
# run (or several iterations of one) is never throttled.
env -u PUBLIC_URL -u ADMIN_BIND -u RATE_LIMIT_URL -u TRUSTED_PROXIES -u CORS_ORIGINS -u BOOTSTRAP_EMAIL \
  DATABASE_URL="sqlite://$work/postman.db" \
  BIND=127.0.0.1:0 \
  MAIL_URL="file://$work/outbox" \
  RATE_LIMIT_TOKEN="${RATE_LIMIT_TOKEN:-600/60}" \
  RATE_LIMIT_READS="${RATE_LIMIT_READS:-6000/60}" \
  RATE_LIMIT_WRITES="${RATE_LIMIT_WRITES:-1200/60}" \
  CLIENT_FAILURE_LIMIT="${CLIENT_FAILURE_LIMIT:-100/60}" \
  RUST_LOG="${RUST_LOG:-info}" \
  LOG_FORMAT=text \
  "$binary" serve >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

# The bootstrap credentials and the address, as the service prints them on stdout.
field() { sed -n "s/^ *$1:[[:space:]]*\([^[:space:]]*\).*/\1/p" "$work/server.out" | head -n 1; }
base_url="" client_id="" client_secret=""
for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited before it was ready:" >&2
    cat "$work/server.out" >&2
    exit 1
  fi
  base_url="$(sed -n 's/^Listening on \([^[:space:]]*\).*/\1/p' "$work/server.out" | head -n 1)"
  client_id="$(field client_id)"
  client_secret="$(field client_secret)"
  [[ -n "$base_url" && -n "$client_id" && -n "$client_secret" ]] && break
  sleep 0.1
done
if [[ -z "$base_url" || -z "$client_id" || -z "$client_secret" ]]; then
  echo "run.sh: no address or bootstrap credentials in the server's output after 30 s:" >&2
  cat "$work/server.out" >&2
  exit 1
fi

# Wait until GET /health answers 200 (node's fetch: no curl needed).
healthy=""
for _ in $(seq 1 100); do
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$base_url/health" 2>/dev/null; then
    healthy=1
    break
  fi
  sleep 0.1
done
if [[ -z "$healthy" ]]; then
  echo "run.sh: $base_url/health did not answer 200" >&2
  exit 1
fi
echo "== serving at $base_url (bootstrap client id $client_id)"

echo "== installing newman"
cd "$here"
npm install --no-package-lock --no-audit --no-fund --loglevel=error

echo "== newman run"
set +e
npx newman run ../../fixtures/postman/provisioning.postman_collection.json \
  --environment ../../fixtures/postman/provisioning.postman_environment.json \
  --env-var "base_url=$base_url" \
  --env-var "client_id=$client_id" \
  --env-var "client_secret=$client_secret" \
  --timeout-request 30000 \
  --reporters cli
status=$?
set -e
if [[ $status -eq 0 ]]; then echo "== the collection passed"; else echo "== newman failed ($status)" >&2; fi
exit "$status"
