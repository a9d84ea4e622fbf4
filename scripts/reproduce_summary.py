#!/usr/bin/python3
"""The summary table of docs/REPORT.md, from the verdict files `cdat reproduce` wrote (issue 13: the table
comes from scripts/reproduce_report.sh, not by hand).

Usage: reproduce_summary.py DIR [--wall-minutes M]
  DIR: a folder with one <experiment>/verdicts.json per experiment (docs/reproduce, or a reproduce --out);
  the rows follow DIR/verdicts.md's order where it exists.
Prints a Markdown table: per experiment the scale and seeds it was judged at, the claims judged, how many
hold, do not hold or are inconclusive, and how many of the verdicts judged over seeds held in every seed.
"""
import json
import pathlib
import re
import sys

OUTCOMES = ("holds", "does not hold", "inconclusive")


def summary_row(name, verdicts):
    findings = verdicts["findings"]
    counts = {o: sum(f["verdict"] == o for f in findings) for o in OUTCOMES}
    over_seeds = [f for f in findings if f.get("seeds", 0) > 0]
    unanimous = sum(f["seeds_held"] == f["seeds"] for f in over_seeds if f["verdict"] == "holds")
    scale = verdicts.get("scale", "—")
    seeds = verdicts.get("seeds", "—")
    held = f"{unanimous} of {counts['holds']}" if over_seeds else "—"
    return (f"| [{name}](reproduce/{name}/verdicts.md) | {scale} | {seeds} | {len(findings)} | {counts['holds']} | "
            f"{counts['does not hold']} | {counts['inconclusive']} | {held} |")


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    folder = pathlib.Path(argv[0])
    wall = argv[argv.index("--wall-minutes") + 1] if "--wall-minutes" in argv else None
    files = sorted(folder.glob("*/verdicts.json"))
    combined = folder / "verdicts.md"  # the experiments in the order `cdat reproduce` ran them
    if combined.exists():
        order = re.findall(r"\(`cdat reproduce ([\w-]+)`\)", combined.read_text())
        files.sort(key=lambda p: order.index(p.parent.name) if p.parent.name in order else len(order))
    if not files:
        sys.exit(f"reproduce_summary: no */verdicts.json under {folder}")
    print("| experiment | scale | seeds | claims judged | holds | does not hold | inconclusive | holds in every seed |")
    print("|---|---|---|---|---|---|---|---|")
    for path in files:
        print(summary_row(path.parent.name, json.loads(path.read_text())))
    if wall:
        print(f"\n_`cdat reproduce` took {wall} min of wall time in this pass (finished runs are reused)._")


if __name__ == "__main__":
    main(sys.argv[1:])
