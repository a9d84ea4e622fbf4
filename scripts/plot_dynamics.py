#!/usr/bin/env python3
"""Draw runs of the simplified learning-rate / sharpness model (PAPER §5), as written by `cdat dynamics`.

Each CSV has the columns t,eta,sharpness,y,x. The figure stacks three panels against the step t, like the
paper's Figures 4 and 8: the learning rate eta (log scale), the sharpness lambda, and the normalized
centered sharpness y = eta*lambda - 2 with its edge-of-stability line y = 0. --with-x adds a fourth panel
with |x| (log scale), the component along the top eigenvector.

    plot_dynamics.py a.csv b.csv --label "constant" --label "CDAT" --out fig.png [--svg]

Needs matplotlib (Debian: /usr/bin/python3); draws with the Agg backend, no display needed.
"""
import argparse
import csv
import io
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = ["t", "eta", "sharpness", "y", "x"]


def read_run(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != COLUMNS:
            raise SystemExit(f"plot_dynamics: {path}: expected header {','.join(COLUMNS)}, got {header}")
        columns = {name: [] for name in COLUMNS}
        for row in reader:
            for name, value in zip(COLUMNS, row):
                columns[name].append(float(value))
    if not columns["t"]:
        raise SystemExit(f"plot_dynamics: {path}: no rows")
    return columns


def masked(values, positive):
    """Values for a log axis: non-positive ones become NaN (gaps) instead of breaking the scale."""
    return [v if (not positive or v > 0) else math.nan for v in values]


def save_png(fig, path, dpi, quantize):
    """Saves the figure; with quantize, as a 64-colour palette PNG (line plots lose nothing visible)."""
    if not quantize:
        fig.savefig(path, dpi=dpi)
        return
    from PIL import Image  # matplotlib depends on Pillow

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(colors=64).save(path, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", help="dynamics CSV files (t,eta,sharpness,y,x)")
    parser.add_argument("--label", action="append", default=[],
                        help="legend label, once per CSV in order (default: the file name)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--svg", action="store_true", help="also write an SVG next to the PNG")
    parser.add_argument("--title", default=None, help="figure title")
    parser.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    parser.add_argument("--width", type=float, default=6.0, help="figure width in inches")
    parser.add_argument("--log-sharpness", action="store_true", help="log scale for the sharpness panel")
    parser.add_argument("--log-t", action="store_true", help="log scale for the step axis")
    parser.add_argument("--y-range", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                        help="limits of the y panel (default: automatic)")
    parser.add_argument("--with-x", action="store_true", help="add a panel with |x| (log scale)")
    parser.add_argument("--x-range", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                        help="limits of the |x| panel (default: automatic)")
    parser.add_argument("--full-color", action="store_true",
                        help="keep the PNG in full colour (default: a 64-colour palette, a few times smaller)")
    args = parser.parse_args(argv)

    if args.label and len(args.label) != len(args.csv):
        parser.error(f"--label given {len(args.label)} times for {len(args.csv)} CSV files")
    labels = args.label or [os.path.splitext(os.path.basename(p))[0] for p in args.csv]
    runs = [read_run(p) for p in args.csv]

    panels = 4 if args.with_x else 3
    fig, axes = plt.subplots(panels, 1, sharex=True, figsize=(args.width, 1.9 * panels + 0.6))
    ax_eta, ax_lambda, ax_y = axes[0], axes[1], axes[2]
    for run, label in zip(runs, labels):
        t = run["t"]
        if args.log_t:
            t = [v + 1 for v in t]  # t starts at 0
        line, = ax_eta.plot(t, masked(run["eta"], True), lw=1.0, label=label)
        color = line.get_color()
        ax_lambda.plot(t, run["sharpness"], lw=1.0, color=color)
        ax_y.plot(t, run["y"], lw=1.0, color=color)
        if args.with_x:
            axes[3].plot(t, masked([abs(v) for v in run["x"]], True), lw=0.8, color=color)

    ax_eta.set_yscale("log")
    ax_eta.set_ylabel(r"$\eta_t$")
    ax_eta.legend(fontsize="small", loc="best")
    ax_lambda.set_ylabel(r"sharpness $\lambda_t$")
    if args.log_sharpness:
        ax_lambda.set_yscale("log")
    ax_y.axhline(0.0, color="black", lw=0.8, ls="--")
    ax_y.set_ylabel(r"$y_t = \eta_t\lambda_t - 2$")
    if args.y_range:
        ax_y.set_ylim(*args.y_range)
    if args.with_x:
        axes[3].set_yscale("log")
        axes[3].set_ylabel(r"$|x_t|$")
        if args.x_range:
            axes[3].set_ylim(*args.x_range)
    axes[-1].set_xlabel("step t")
    if args.log_t:
        axes[-1].set_xscale("log")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    if args.title:
        fig.suptitle(args.title, fontsize="medium")
    fig.tight_layout()
    save_png(fig, args.out, args.dpi, quantize=not args.full_color)
    if args.svg:
        fig.savefig(os.path.splitext(args.out)[0] + ".svg")
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
