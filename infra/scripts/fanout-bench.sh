#!/usr/bin/env bash
# Event fan-out benchmark on a release-built runner (profile `local`) and moto: 1,000
# events through the outbox to 3 webhook subscribers (issue 7). Prints end-to-end
# latency p50/p99 and throughput.
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3930}
EDGE_PORT=${EDGE_PORT:-4930}
MOTO_PORT=${MOTO_PORT:-4931}
WORK=target/fanout-bench
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh

echo "$MACHINE"
echo "== ${EVENTS:-1000} events at once to ${SUBSCRIBERS:-3} webhook subscribers (throughput)"
"$VENV/bin/python" infra/scripts/fanout_bench.py "$API" "http://127.0.0.1:$MOTO_PORT" "$TOKEN" "${EVENTS:-1000}" "${SUBSCRIBERS:-3}" 0
echo "== ${PACED_EVENTS:-200} events at ${PACE:-5}/s to ${SUBSCRIBERS:-3} webhook subscribers (latency without a backlog)"
"$VENV/bin/python" infra/scripts/fanout_bench.py "$API" "http://127.0.0.1:$MOTO_PORT" "$TOKEN" "${PACED_EVENTS:-200}" "${SUBSCRIBERS:-3}" "${PACE:-5}"
