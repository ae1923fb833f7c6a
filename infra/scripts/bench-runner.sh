# Sourced by the benchmark scripts: start a release-built runner (profile `local`) on
# spare loopback ports with throttling off, wait for it, stop it on exit, and log the
# seeded admin in. Set API_PORT, EDGE_PORT, MOTO_PORT and WORK first; extra `serve`
# arguments go in RUNNER_ARGS (an array).
VENV=${TRACSEQ_VENV:-.venv}
OHA=$(infra/scripts/oha.sh)
mkdir -p "$WORK"

cargo build --quiet --profile local -p tracseq-runner --bin tracseq-local
target/local/tracseq-local serve --api-port "$API_PORT" --edge-port "$EDGE_PORT" --moto-port "$MOTO_PORT" \
  --no-throttle --venv "$VENV" "${RUNNER_ARGS[@]}" > "$WORK/runner.log" 2>&1 &
RUNNER=$!
trap 'kill -INT $RUNNER 2>/dev/null || true; wait $RUNNER 2>/dev/null || true' EXIT
API="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 240); do
  curl -fs "$API/api/health" > /dev/null && break
  if ! kill -0 "$RUNNER" 2>/dev/null; then
    echo "the runner exited (a port still held by a previous run?):" >&2
    tail -20 "$WORK/runner.log" >&2
    exit 1
  fi
  sleep 0.5
done

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -fs "$API/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@lab.local","password":"admin123"}' | json '["access_token"]')
AUTH="authorization: Bearer $TOKEN"
MACHINE="machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); $(date -u +%F)"
# CPU seconds a process has used (user + system), and moto's process: locally the data
# path is moto's, so each benchmark reports both beside its timings.
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
MOTO_PID=$(pgrep -P "$RUNNER" -f moto || true)
