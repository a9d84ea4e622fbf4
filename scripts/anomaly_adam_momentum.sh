#!/usr/bin/env bash
# Issue 23, anomaly 1: why does Adam + CDAT σ = 2 with the paper's rule blow up on cross-entropy? Isolating runs
# (exploratory, no committed verdict rule): the defaults benchmark's mlp-ce and cnn-ce cells at scale 0.5, the
# paper's rule (--safeguards false --sigma 2), full batch, seeds 0–2, with
#   adam in float32 and float64        (is it float32?)
#   adam with β₁ = 0, rmsprop, gd      (is it the momentum in Adam's direction? GD as the control)
# then one line per run: final loss, peak loss / initial, blew up, the first step above 2 × the initial, and the
# largest rise over η·n before it (the quadratic model along u predicts a change of 0 at σ = 2).
#
#   scripts/anomaly_adam_momentum.sh [OUT_DIR]     (default runs/anomaly-adam; finished runs are kept)
#
# About 25 runs of 30 s – 3 min on one thread each (≈ 40 min on one core beside other work).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdat="$root/build/apps/cdat/cdat"
python="${PYTHON:-/usr/bin/python3}"
out="${1:-runs/anomaly-adam}"
[[ -x "$cdat" ]] || { echo "anomaly_adam_momentum: build cdat first (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"

common=(--dataset fashion-mnist --test-size 0 --activation tanh --loss ce --batch-size full --sharpness-every 0
        --tuner cdat --safeguards false --sigma 2 --threads 1 --quiet)
declare -A workload=(
  [mlp]="--model mlp --width 128 --depth 2 --train-size 4096 --steps 150"
  [cnn]="--model cnn --width 8 --depth 2 --train-size 512 --steps 75"
)
variants=("adam float32" "adam float64" "adam-beta1-0 float32" "rmsprop float32" "gd float32")

for name in mlp cnn; do
  for variant in "${variants[@]}"; do
    read -r base dtype <<< "$variant"
    case "$base" in
      adam-beta1-0) flags=(--optimizer adam --beta1 0) ;;
      *) flags=(--optimizer "$base") ;;
    esac
    for seed in 0 1 2; do
      run="$out/$name-$base-$dtype-s$seed"
      [[ -f "$run/summary.json" ]] && continue
      # A run that diverges (the point of several) exits non-zero after writing its summary.json.
      # shellcheck disable=SC2086  # the workload's flags are words
      "$cdat" train "${common[@]}" ${workload[$name]} "${flags[@]}" --dtype "$dtype" --seed "$seed" --out "$run" > /dev/null 2>&1 ||
        [[ -f "$run/summary.json" ]] || { echo "anomaly_adam_momentum: $run failed without a summary" >&2; exit 1; }
    done
  done
done

"$python" - "$out" <<'EOF'
import csv, json, os, sys
root = sys.argv[1]
print(f"{'run':32s} {'final':>9s} {'peak/init':>9s} blew_up  first>2x  max rise/(eta n) before it")
for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if not os.path.exists(os.path.join(path, "summary.json")):
        continue
    summary = json.load(open(os.path.join(path, "summary.json")))
    rows = list(csv.DictReader(open(os.path.join(path, "metrics.csv"))))
    loss = [float(r["train_loss"]) for r in rows]
    first = next((i for i, l in enumerate(loss) if l > 2 * loss[0]), None)
    rises = []
    for r in rows[: first if first is not None else len(rows)]:
        try:
            scale = float(r["lr"]) * float(r["numerator"])
            if scale > 0:
                rises.append(float(r["actual_change"]) / scale)
        except ValueError:  # a step without the column's value
            pass
    print(f"{name:32s} {summary['final_train_loss']:9.4g} {max(loss) / loss[0]:9.3g} {str(summary['blew_up']):7s}  "
          f"{str(first):8s}  {max(rises) if rises else float('nan'):.3g}")
EOF
