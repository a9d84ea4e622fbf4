#!/usr/bin/python3
"""Summarise the finished runs of a `cdat reproduce` run store while (or after) an experiment runs: the runs
are grouped by the configuration keys that differ between them, except the seed, and each group gets the
median, lowest and highest final train loss over its seeds and how many runs blew up: the flag `cdat train`
writes into summary.json ("blew_up": diverged, or a train loss above 2 × the initial one; the rule is defined
once, in src/train/blowup.h, and the safeguards experiment judges with it). Runs written before summary.json
had the flag are counted as unknown.

Usage: run_store_table.py STORE [--where key=value ...] [--columns key,key,...]
  STORE: the reproduce output folder (its runs/ holds one folder per run).
  --where: keep runs whose config.toml has these values (e.g. --where steps=75 model=cnn).
  --columns: the keys that name a group (default: every key that differs, except seed, out and the data-parallel keys).
Prints a Markdown table.
"""
import argparse
import json
import math
import pathlib
import statistics
import sys
import tomllib

IGNORED = {"seed", "out", "nproc", "dist-timeout"}


def load_run(folder):
    summary = folder / "summary.json"
    if not summary.exists():
        return None
    config = tomllib.loads((folder / "config.toml").read_text())
    result = json.loads(summary.read_text())
    if result.get("interrupted", False):
        return None  # resumable, not finished
    final = result.get("final_train_loss")  # null when not finite
    ok = not result.get("diverged", False) and final is not None and math.isfinite(final)
    return {"config": config, "final": final if ok else math.inf, "blew_up": result.get("blew_up")}


def matches(config, where):
    return all(str(config.get(key)) == value for key, value in where.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("store")
    ap.add_argument("--where", nargs="*", default=[])
    ap.add_argument("--columns", default="")
    a = ap.parse_args()
    where = dict(item.split("=", 1) for item in a.where)
    runs = [r for r in (load_run(d) for d in sorted(pathlib.Path(a.store, "runs").iterdir()) if d.is_dir())
            if r and matches(r["config"], where)]
    if not runs:
        sys.exit(f"run_store_table: no finished run in {a.store}/runs matches {where}")
    keys = a.columns.split(",") if a.columns else sorted(
        k for k in set().union(*(r["config"] for r in runs)) - IGNORED
        if len({str(r["config"].get(k)) for r in runs}) > 1)
    groups = {}
    for r in runs:
        groups.setdefault(tuple(str(r["config"].get(k)) for k in keys), []).append(r)
    print("| " + " | ".join(keys) + " | seeds | final train loss: median (lowest–highest) | blew up |")
    print("|" + "---|" * (len(keys) + 3))
    for name in sorted(groups):
        finals = sorted(r["final"] for r in groups[name])
        text = f"{statistics.median(finals):.4g} ({finals[0]:.4g}–{finals[-1]:.4g})"
        flags = [r["blew_up"] for r in groups[name]]
        blown = str(sum(f is True for f in flags)) + (f" (+{flags.count(None)} unknown)" if None in flags else "")
        print("| " + " | ".join(name) + f" | {len(finals)} | {text} | {blown} |")


if __name__ == "__main__":
    main()
