#!/usr/bin/python3
"""Figures of `cdat reproduce` that are not per-run curves (those are drawn by cdat_plot.py).

    reproduce_figures.py heatmap   HEATMAP_CSV   --out PNG   # §4.4: final/initial loss over sigma x batch size
    reproduce_figures.py advantage ADVANTAGE_CSV --out PNG   # §4.5: CDAT's advantage per ablation factor

heatmap.csv columns: ema,batch,sigma,final_over_initial,diverged (batch "full" for full batch), optionally
optimizer,ema_mode (default gd, separate); one panel per optimizer x EMA mode x EMA value, colour = log10(final/initial), diverged cells marked with x, the best sigma of each batch size
outlined. advantage.csv columns: factor,value,advantage,...; one panel per factor, bars of the advantage
(tuned constant final loss / CDAT final loss; 1 = parity).

Errors name the file; exit code 1. Needs matplotlib (Debian: /usr/bin/python3); Agg backend.
"""
import argparse
import csv
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_rows(path, required):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise SystemExit(f"reproduce_figures: {path}: cannot read: {e}")
    if not rows or any(k not in rows[0] for k in required):
        raise SystemExit(f"reproduce_figures: {path}: expected columns {','.join(required)}")
    return rows


def batch_key(text):
    return math.inf if text == "full" else float(text)


def save(fig, out):
    fig.savefig(out, dpi=90)
    plt.close(fig)


def heatmap(path, out):
    rows = read_rows(path, ["ema", "batch", "sigma", "final_over_initial", "diverged"])
    def panel_of(r):
        return (r.get("optimizer", "gd"), r.get("ema_mode", "separate"), float(r["ema"]))

    panels = sorted({panel_of(r) for r in rows})
    batches = sorted({r["batch"] for r in rows}, key=batch_key)
    sigmas = sorted({float(r["sigma"]) for r in rows})
    columns = min(3, len(panels))
    lines = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.6 * columns, 3.6 * lines), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels):
        optimizer, mode, ema = panel
        grid = np.full((len(sigmas), len(batches)), np.nan)
        diverged = np.zeros_like(grid, dtype=bool)
        for r in rows:
            if panel_of(r) != panel:
                continue
            i, j = sigmas.index(float(r["sigma"])), batches.index(r["batch"])
            grid[i, j] = math.log10(max(float(r["final_over_initial"]), 1e-12))
            diverged[i, j] = r["diverged"] == "1"
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis_r")
        for j in range(len(batches)):
            column = grid[:, j]
            if np.all(np.isnan(column)):
                continue
            best = int(np.nanargmin(column))
            ax.add_patch(plt.Rectangle((j - 0.5, best - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
            for i in range(len(sigmas)):
                ax.text(j, i, "x" if diverged[i, j] else f"{10 ** column[i]:.2f}", ha="center", va="center",
                        fontsize=7, color="white" if column[i] > np.nanmean(grid) else "black")
        ax.set_xticks(range(len(batches)), batches)
        ax.set_yticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
        ax.set_xlabel("batch size")
        ax.set_ylabel("sigma")
        what = "EMA of the ratio" if mode == "ratio" else "EMA"
        ax.set_title(f"{optimizer}: final/initial train loss, {what} {ema:g}", fontsize=9)
        fig.colorbar(image, ax=ax, label="log10 ratio")
    fig.suptitle("CDAT in mini batch (red: best sigma per batch size; x: diverged)", fontsize=10)
    fig.tight_layout()
    save(fig, out)


def advantage(path, out):
    rows = read_rows(path, ["factor", "value", "advantage"])
    factors = list(dict.fromkeys(r["factor"] for r in rows))
    fig, axes = plt.subplots(1, len(factors), figsize=(2.6 * len(factors), 3.2), squeeze=False, sharey=True)
    for ax, factor in zip(axes[0], factors):
        mine = [r for r in rows if r["factor"] == factor]
        values = [float(r["advantage"]) if r["advantage"] not in ("", "nan", "inf") else 0.0 for r in mine]
        # Bars grow up (CDAT better) or down (constant LR better) from parity at 1.
        colors = ["tab:blue" if v >= 1 else "tab:red" for v in values]
        ax.bar(range(len(mine)), [v - 1 for v in values], bottom=1.0, color=colors)
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.2f}", ha="center", va="bottom" if v >= 1 else "top", fontsize=8)
        ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(mine)), [r["value"] for r in mine])
        ax.set_xlabel(factor)
    low = min(0.9, min(float(r["advantage"]) for r in rows) - 0.1)
    high = max(1.1, max(float(r["advantage"]) for r in rows) + 0.1)
    axes[0][0].set_ylim(max(0.0, low), high)
    axes[0][0].set_ylabel("constant loss / CDAT loss")
    fig.suptitle("CDAT sigma=2 advantage over the tuned constant LR (> 1: CDAT better)", fontsize=10)
    fig.tight_layout()
    save(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="reproduce_figures", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["heatmap", "advantage"])
    parser.add_argument("csv")
    parser.add_argument("--out", required=True, help="PNG file to write")
    args = parser.parse_args(argv)
    {"heatmap": heatmap, "advantage": advantage}[args.kind](args.csv, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
