#!/usr/bin/env bash
# Load benchmark of the local stack: a release-built runner (profile `local`) on spare
# loopback ports, driven by oha for a bounded time. Throttling is off so the runner's own
# ceiling is measured, not the template's rate limit.
#   GET /api/version  - no AWS I/O: runner + handler cost
#   GET /api/health   - DynamoDB + SQS + S3 calls to moto on every request
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3900}
EDGE_PORT=${EDGE_PORT:-4900}
MOTO_PORT=${MOTO_PORT:-4901}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
WORK=target/load-bench
RUNNER_ARGS=(--env LOGIN_LIMIT_PER_EMAIL=100000000 --env LOGIN_LIMIT_PER_IP=100000000)
source infra/scripts/bench-runner.sh

echo "$MACHINE"
echo
echo "== GET /api/version (no AWS I/O), $CONNECTIONS connections, $DURATION"
"$OHA" --no-tui -z "$DURATION" -c "$CONNECTIONS" "http://127.0.0.1:$API_PORT/api/version"
echo
echo "== GET /api/health (table, 2 queues, bucket on moto per request), 10 connections, $DURATION"
"$OHA" --no-tui -z "$DURATION" -c 10 "http://127.0.0.1:$API_PORT/api/health"
echo
# Logins hash with argon2id (19 MiB, 2 passes) on the blocking pool; other routes must
# not stall behind them. Compare /api/version's latency alone and under login load.
LOGIN='{"email":"admin@lab.local","password":"admin123"}'
# /api/version at a steady 5,000 requests/s: a busy API, not a saturated machine.
echo "== GET /api/version alone, 5,000 requests/s, $DURATION"
"$OHA" --no-tui -z "$DURATION" -c 10 -q 5000 "http://127.0.0.1:$API_PORT/api/version" | grep -E "Requests/sec|50.00%|99.00%"
echo "== GET /api/version, 5,000 requests/s, while POST /api/auth/login runs on 8 connections, $DURATION"
"$OHA" --no-tui -z "$DURATION" -c 8 -m POST -T application/json -d "$LOGIN" "http://127.0.0.1:$API_PORT/api/auth/login" > target/load-bench-login.txt &
LOAD=$!
PEAK=0
"$OHA" --no-tui -z "$DURATION" -c 10 -q 5000 "http://127.0.0.1:$API_PORT/api/version" | grep -E "Requests/sec|50.00%|99.00%" &
VERSION=$!
while kill -0 "$LOAD" 2>/dev/null; do
  RSS=$(ps -o rss= -p "$RUNNER"); [ "$RSS" -gt "$PEAK" ] && PEAK=$RSS
  sleep 0.5
done
wait "$VERSION" "$LOAD" || true
echo "== POST /api/auth/login (argon2id verify + session transaction on moto), 8 connections"
grep -E "Success rate|Requests/sec|50.00%|99.00%|\[[0-9]{3}\]" target/load-bench-login.txt
echo
echo "runner RSS: peak during login load $(( PEAK / 1024 )) MiB, after all load $(( $(ps -o rss= -p "$RUNNER") / 1024 )) MiB"
