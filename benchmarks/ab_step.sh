#!/usr/bin/env bash
# A/B of the training step: benchmarks/profile_step.py of an earlier commit and of this tree, the
# two in turn, round after round, so that the machine's drift hits both; then each figure's
# median per side and their ratio. Needs the real model input (make run).
#     bash benchmarks/ab_step.sh fc1b682 [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(mktemp -d)
trap 'git worktree remove --force "$before"' EXIT
git worktree add -q --detach "$before" "$1"
export KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
data=$PWD/data/05_model_input
python=$PWD/.venv/bin/python
for round in $(seq "${2:-3}"); do
  for tree in "$before" "$PWD"; do
    side=$([ "$tree" = "$PWD" ] && echo after || echo before)
    for config in "paddlerec 32 400" "paddlerec 1024 120" "default 1024 60"; do
      set -- $config
      (cd "$tree" && PYTHONPATH="$tree/src:$tree/benchmarks" "$python" benchmarks/profile_step.py \
        --network "$1" --batch "$2" --steps "$3" --alternate 3 --data-dir "$data") |
        sed -n "s/^\(.*\), \(eager\|compiled\): ms\/step \([0-9. ]*\);.*/$side|\1|\2|\3/p"
    done
  done
done | "$python" -c '
import statistics, sys
times = {}
for line in sys.stdin:
    side, config, mode, values = line.strip().split("|")
    times.setdefault((config, mode), {}).setdefault(side, []).extend(map(float, values.split()))
print("ms/step, median [min-max] over every round; after / before of the medians")
for (config, mode), sides in times.items():
    b, a = sides["before"], sides["after"]
    cells = [f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]" for v in (b, a)]
    ratio = statistics.median(a) / statistics.median(b)
    print(f"{config}, {mode}: before {cells[0]}, after {cells[1]}, ratio {ratio:.3f}")
'
