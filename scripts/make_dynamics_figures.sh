#!/usr/bin/env bash
# Regenerates the figures of docs/dynamics.md with the built `cdat` tool and scripts/plot_dynamics.py.
#
#   scripts/make_dynamics_figures.sh [path/to/cdat] [output dir]
#
# Defaults: the first of build/apps/cdat/cdat, build-*/apps/cdat/cdat that exists; docs/figures.
# Needs /usr/bin/python3 with matplotlib (PYTHON overrides). The CSVs go to a temporary directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdat="${1:-}"
if [[ -z "$cdat" ]]; then
  for candidate in "$root"/build/apps/cdat/cdat "$root"/build-*/apps/cdat/cdat; do
    if [[ -x "$candidate" ]]; then cdat="$candidate"; break; fi
  done
fi
[[ -x "$cdat" ]] || { echo "make_dynamics_figures: no cdat binary (build it, or pass its path)" >&2; exit 2; }
out="${2:-$root/docs/figures}"
python="${PYTHON:-/usr/bin/python3}"
plot="$root/scripts/plot_dynamics.py"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run() {  # run NAME FLAGS...: one simulation into $tmp/NAME.csv, its summary to stdout
  local name="$1"; shift
  echo "== $name: cdat dynamics $*"
  "$cdat" dynamics "$@" --out "$tmp/$name.csv" | sed -n '2,6p'
}

# 1. Constant learning rate: sharpness rises to 2/η = 20 and hovers there; y oscillates around 0.
run constant --rule constant --lr 0.1 --steps 6000
"$python" "$plot" "$tmp/constant.csv" --label "constant lr=0.1" \
  --title "Constant learning rate: sharpness hovers at the edge 2/lr = 20" \
  --with-x --out "$out/dynamics_constant.png"

# 1b. Why δ: with δ = 0, x underflows to exactly 0 and nothing stops progressive sharpening.
run constant_long --rule constant --lr 0.1 --steps 20000
run constant_nodelta --rule constant --lr 0.1 --steps 20000 --delta 0
"$python" "$plot" "$tmp/constant_long.csv" "$tmp/constant_nodelta.csv" \
  --label "constant lr=0.1, delta=1e-6" --label "constant lr=0.1, delta=0" \
  --title "Without the perturbation delta, x underflows and sharpening never stops" \
  --with-x --x-range 1e-40 10 --y-range -1.5 1.5 --out "$out/dynamics_delta.png"

# 2. Classical tuners: η = 1.9/λ and the Armijo linesearch undershoot the edge; λ grows like √t, η falls.
run classical --rule classical --scale 1.9 --steps 20000
run linesearch --rule linesearch --steps 20000
"$python" "$plot" "$tmp/linesearch.csv" "$tmp/classical.csv" \
  --label "Armijo linesearch" --label "classical 1.9/lambda" \
  --title "Classical tuners undershoot the edge (y < 0): sharpness keeps growing" \
  --with-x --y-range -0.45 0.05 --out "$out/dynamics_classical.png"

# 3. CDAT on the edge, σ = 2, both closures (and the classical tuner for reference).
run cdat2_lagged --rule cdat --sigma 2 --closure lagged --steps 40000
run cdat2_current --rule cdat --sigma 2 --closure current --steps 40000
run classical_long --rule classical --scale 1.9 --steps 40000
"$python" "$plot" "$tmp/cdat2_lagged.csv" "$tmp/cdat2_current.csv" "$tmp/classical_long.csv" \
  --label "CDAT sigma=2, lagged" --label "CDAT sigma=2, current" --label "classical 1.9/lambda" \
  --title "CDAT on the edge: the lagged closure stabilizes the sharpness" \
  --with-x --y-range -0.12 0.02 --out "$out/dynamics_cdat_edge.png"

# 4. CDAT slightly below the edge: y settles just below 0 and λ creeps up.
run cdat199_lagged --rule cdat --sigma 1.99 --closure lagged --steps 20000
run cdat19_lagged --rule cdat --sigma 1.9 --closure lagged --steps 20000
run cdat19_current --rule cdat --sigma 1.9 --closure current --steps 20000
run cdat2_lagged_short --rule cdat --sigma 2 --closure lagged --steps 20000
"$python" "$plot" "$tmp/cdat2_lagged_short.csv" "$tmp/cdat199_lagged.csv" "$tmp/cdat19_lagged.csv" \
  "$tmp/cdat19_current.csv" \
  --label "sigma=2, lagged" --label "sigma=1.99, lagged" --label "sigma=1.9, lagged" --label "sigma=1.9, current" \
  --title "CDAT below the edge: y < 0 and the sharpness creeps up" \
  --with-x --y-range -0.12 0.02 --out "$out/dynamics_cdat_below.png"

ls -l "$out"/dynamics_*.png
