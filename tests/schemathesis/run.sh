#!/usr/bin/env bash
# Schemathesis against the real binary on SQLite, with a token: every operation in
# /openapi.json, every check, and the stateful phase. Exits non-zero on any failure.
#
#   PROVISIONING_BIN   the binary (default target/debug/provisioning)
#   SCHEMATHESIS_VENV  where to install schemathesis (default target/schemathesis-venv)
#   SCHEMATHESIS_MAX_EXAMPLES  cases per operation and phase (default 25)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${PROVISIONING_BIN:-$root/target/debug/provisioning}"
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
version="4.32.5"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh database, a free port, no rate limits (the run is one client sending thousands of
# requests), mail into a folder; identity providers' domain checks ask a port where nothing
# answers, so no lookup leaves the machine, and a provider that never answers is given 2 s.
env -u PUBLIC_URL DATABASE_URL="sqlite://$work/contract.db" BIND=127.0.0.1:0 RUST_LOG=warn \
  RATE_LIMIT_TOKEN=off RATE_LIMIT_READS=off RATE_LIMIT_WRITES=off MAIL_URL="file://$work/outbox" \
  DNS_RESOLVER=127.0.0.1:9 UPSTREAM_TIMEOUT=2 \
  "$bin" serve >"$work/server.out" 2>"$work/server.err" &
server=$!
for _ in $(seq 1 100); do
  grep -q "client_secret:" "$work/server.out" 2>/dev/null && grep -q "Listening on" "$work/server.out" && break
  sleep 0.1
done
url="$(sed -n 's/.*Listening on \([^ ]*\).*/\1/p' "$work/server.out" | head -n1)"
client_id="$(sed -n 's/.*client_id:[[:space:]]*\([^ ]*\).*/\1/p' "$work/server.out" | head -n1)"
client_secret="$(sed -n 's/.*client_secret:[[:space:]]*\([^ ]*\).*/\1/p' "$work/server.out" | head -n1)"
if [ -z "$url" ] || [ -z "$client_secret" ]; then
  echo "the server did not start:" >&2
  cat "$work/server.out" "$work/server.err" >&2
  exit 1
fi
token="$(curl -sf "$url/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$client_id\",\"client_secret\":\"$client_secret\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

export PROVISIONING_TOKEN="$token" PROVISIONING_CLIENT_ID="$client_id" PROVISIONING_CLIENT_SECRET="$client_secret"
status=0
"$venv/bin/schemathesis" --config-file "$root/tests/schemathesis/schemathesis.toml" run "$url/openapi.json" \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --workers 1 \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --generation-database none \
  --report "${SCHEMATHESIS_REPORT:-junit}" --report-dir "${SCHEMATHESIS_REPORT_DIR:-$work/report}" \
  --no-color "$@" || status=$?
if grep -q "panicked\|internal error" "$work/server.err"; then
  echo "the server logged errors during the run:" >&2
  grep -n "panicked\|internal error" "$work/server.err" | head -n 20 >&2
  status=1
fi
exit "$status"
