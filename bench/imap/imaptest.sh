#!/usr/bin/env bash
# bench/imap/imaptest.sh — Dovecot's imaptest against tern-imapd (conformance gate).
#
#   bench/imap/imaptest.sh scripted            # imaptest's scripted tests (src/tests)
#   bench/imap/imaptest.sh stress [SECS] [CLIENTS]   # default workload, state tracking on
#
# Needs the imaptest binary (IMAPTEST, default /tmp/imaptest/imaptest, built with
# /work/shared/tools/build-imaptest.sh from github:dovecot/imaptest) and its tests/ next
# to it. Starts tern-imapd from TERN_BIN (default build/bin) on a temp data dir with one
# user, prints imaptest's summary, and stops the daemon. IMAPTEST_LOG=FILE keeps the
# whole imaptest output (every failed command / error line). TERN_IMAP_EXTRA adds lines
# to [imap], e.g. TERN_IMAP_EXTRA='view_cache_messages = 1' (every SELECT of imaptest's
# small mailboxes then goes through the view cache).
set -euo pipefail
MODE="${1:-scripted}"
SECS="${2:-120}"
CLIENTS="${3:-10}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${TERN_BIN:-$ROOT/build/bin}"
IMAPTEST="${IMAPTEST:-/tmp/imaptest/imaptest}"
TESTS="$(dirname "$IMAPTEST")/tests"
[[ -x "$IMAPTEST" ]] || { echo "imaptest not found at $IMAPTEST (IMAPTEST=...)" >&2; exit 69; }
DIR=$(mktemp -d /tmp/tern-imaptest.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$DIR/tern.toml" <<TOML
hostname = "mx.example.test"
data_dir = "$DIR/var"
[imap]
listen = ["127.0.0.1:$PORT"]
allow_plaintext_auth = true
${TERN_IMAP_EXTRA:-}
[limits]
auth_failures = 100000
connections_per_ip = 1000
TOML
"$BIN/ternctl" --config "$DIR/tern.toml" init >/dev/null
"$BIN/ternctl" --config "$DIR/tern.toml" domain add example.test >/dev/null
# ternctl asks for 8+ characters; with TERN_PASSWORD_HASH (e.g. the peers' $6$ hash of
# "secret", for a fair comparison) set TERN_PASSWORD to the password it hashes.
PASS="${TERN_PASSWORD:-imaptest-secret}"
if [[ -n "${TERN_PASSWORD_HASH:-}" ]]; then
  "$BIN/ternctl" --config "$DIR/tern.toml" user add u@example.test --password-hash "$TERN_PASSWORD_HASH" >/dev/null
else
  echo "$PASS" | "$BIN/ternctl" --config "$DIR/tern.toml" user add u@example.test --password-stdin >/dev/null
fi
"$BIN/tern-imapd" --config "$DIR/tern.toml" >"$DIR/imapd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
if [[ "$MODE" == scripted ]]; then
  "$IMAPTEST" host=127.0.0.1 port=$PORT user=u@example.test pass="$PASS" test="$TESTS" 2>&1 | tee "${IMAPTEST_LOG:-/dev/null}" | tail -3
else
  # Default workload on a mailbox filled from imaptest's own test mbox.
  "$IMAPTEST" host=127.0.0.1 port=$PORT user=u@example.test pass="$PASS" \
    mbox="$TESTS/default.mbox" clients="$CLIENTS" secs="$SECS" 2>&1 | tee "${IMAPTEST_LOG:-/dev/null}" | tail -8
fi
