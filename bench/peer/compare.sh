#!/usr/bin/env bash
# Times the same full-batch GD + CDAT loop in C++ (cdat) and in PyTorch-Python, alternating the two so that
# machine noise hits both, and prints the speed ratio. Usage: bench/peer/compare.sh [build dir] [threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
threads=${2:-0}
run() {  # run LANG WIDTH SAMPLES STEPS → ms per step
  if [ "$1" = cpp ]; then "$build/bench/peer_loop" --width "$2" --samples "$3" --steps "$4" --threads "$threads"
  else /usr/bin/python3 bench/peer/cdat_loop.py --width "$2" --samples "$3" --steps "$4" --threads "$threads"; fi |
    awk '/ms_per_step/ {print $2}'
}
for config in "small 128 1024 200" "large 512 4096 10"; do
  set -- $config
  cpp=(); py=()
  for round in 1 2 3; do cpp+=("$(run cpp "$2" "$3" "$4")"); py+=("$(run py "$2" "$3" "$4")"); done
  best_cpp=$(printf '%s\n' "${cpp[@]}" | sort -g | head -1)
  best_py=$(printf '%s\n' "${py[@]}" | sort -g | head -1)
  printf '%-6s MLP 784-%s-%s-10 x %s: cdat %8.2f ms/step, PyTorch-Python %8.2f ms/step, cdat is %.2fx faster\n' \
    "$1" "$2" "$2" "$3" "$best_cpp" "$best_py" "$(echo "$best_py / $best_cpp" | bc -l)"
done
