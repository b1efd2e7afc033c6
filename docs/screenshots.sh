#!/usr/bin/env bash
# Screenshots of the comparison report and of kedro-viz, as a user sees them, for the docs.
# With the base environment it records what they were taken from (docs/images/sources.json):
# a test fails when the committed report or pipelines have changed since.
# Needs Debian's chromium (`apt-get install chromium`) and a finished `kedro run`.
# Usage: bash docs/screenshots.sh [env]   (env: base by default, or sample)
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
# kedro-viz checks PyPI for updates at start: a dead proxy keeps that check on this machine.
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
env_name=${1:-base}
root=data; [ "$env_name" = sample ] && root=data/sample
out=docs/images
port=4142
shot() {  # shot URL FILE WIDTH HEIGHT
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --hide-scrollbars --virtual-time-budget=15000 \
    --window-size="$3,$4" --screenshot="$2" "$1" 2>/dev/null
}
shot "file://$PWD/$root/08_reporting/compare_report.html" "$out/compare_report.png" 1300 2400
setsid .venv/bin/kedro viz run --host 127.0.0.1 --port "$port" --no-browser --env "$env_name" \
  > /tmp/census-mtl-viz.log 2>&1 &
viz=$!
trap 'kill -TERM -- -$viz 2>/dev/null || true' EXIT
for _ in $(seq 90); do curl -sf "http://127.0.0.1:$port/api/main" > /dev/null && break; sleep 1; done
shot "http://127.0.0.1:$port/" "$out/kedro_viz.png" 1600 1000
shot "http://127.0.0.1:$port/?pid=ple&expandAllPipelines=false" "$out/kedro_viz_ple.png" 1600 1000
[ "$env_name" = base ] && .venv/bin/python -m census_mtl.reporting.summary screenshots
ls -l "$out"
