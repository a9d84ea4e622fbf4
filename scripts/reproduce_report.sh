#!/usr/bin/env bash
# Regenerates the evidence behind docs/REPORT.md: runs `cdat reproduce` (default: all experiments at
# scale 1, about an hour on 2 cores; finished runs in runs/reproduce are reused), then copies each
# experiment's verdicts and figures into docs/reproduce/, the figures palette-compressed (PIL).
#
#   scripts/reproduce_report.sh [cdat reproduce arguments...]    e.g.  scripts/reproduce_report.sh eos -j 2
#
# Needs a built cdat (build/apps/cdat/cdat) and /usr/bin/python3 with matplotlib (PYTHON overrides).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdat="$root/build/apps/cdat/cdat"
python="${PYTHON:-/usr/bin/python3}"
[[ -x "$cdat" ]] || { echo "reproduce_report: build cdat first (scripts/setup.sh)" >&2; exit 2; }
cd "$root"
out=runs/reproduce  # relative, so the paths in the verdict files are too
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(all -j 2)
start=$(date +%s)
"$cdat" reproduce "${args[@]}" --out "$out"
wall_minutes=$(( ($(date +%s) - start + 30) / 60 ))

dest=docs/reproduce
mkdir -p "$dest"
for dir in "$out"/*/; do
  name="$(basename "$dir")"
  [[ "$name" == runs || ! -f "$dir/verdicts.md" ]] && continue
  mkdir -p "$dest/$name"
  cp "$dir/verdicts.md" "$dir/verdicts.json" "$dest/$name/"
  for png in "$dir"/*.png; do
    [[ -f "$png" ]] || continue
    # 1000 px wide, 64-colour palette: about 50 kB a figure instead of 160 kB, still readable.
    "$python" -c 'import sys; from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB"); im.thumbnail((1000, 1000), Image.LANCZOS)
im.quantize(colors=64).save(sys.argv[2], optimize=True)' "$png" "$dest/$name/$(basename "$png")"
  done
done
cp "$out/verdicts.md" "$dest/verdicts.md"
# REPORT.md's summary table (issue 13): generated, not written by hand.
"$python" "$root/scripts/reproduce_summary.py" "$dest" --wall-minutes "$wall_minutes" > "$dest/summary.md"
cat "$dest/summary.md"
du -sh "$dest"
