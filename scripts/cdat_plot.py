#!/usr/bin/python3
"""Draw the paper's diagnostic panels (PAPER §3-4) from run folders written by `cdat train --out DIR`.

Each run folder holds metrics.csv (one row per step; a cell is empty when it was not measured that step),
and optionally summary.json (label, diverged, ...) and config.toml. The figure is a 2x3 grid against the
step: train loss (log), learning rate eta (log), sharpness lambda_max with each run's stability threshold
(dashed, same colour), eta*lambda with the edge of stability eta*lambda = 2, gradient norm (log), and a
panel with the legend and each run's final/best train loss. One colour per run. When a run logged the
quadratic model's columns (predicted_change, actual_change), the grid is 2x4 with two more panels: the
change in loss per step, actual (solid) against the model's prediction (dashed), and the model error
(actual - predicted) relative to the loss f(w_t) (issue 11: why a step was too long).

    cdat_plot.py RUN_DIR [RUN_DIR ...] --out PREFIX [--labels a,b,...] [--title TEXT]

writes PREFIX.png and PREFIX.svg. A path may also be a metrics.csv file. Dynamics CSVs written by
`cdat dynamics` (header t,eta,sharpness,y,x) are handed to plot_dynamics.py in this directory.

Errors (a missing metrics.csv, an unreadable file) are reported on stderr naming the path; exit code 1.
Needs matplotlib and numpy (Debian: /usr/bin/python3); draws with the Agg backend, no display needed.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROG = "cdat_plot"
# The columns are those of the file's header (written by src/train/metrics_log.cpp, the one list of them);
# a file needs these two to be a metrics file.
REQUIRED_COLUMNS = ["step", "train_loss"]
DYNAMICS_HEADER = ["t", "eta", "sharpness", "y", "x"]


class PlotError(Exception):
    """A problem with an input or output path; the message names it."""


# ----------------------------------------------------------------------------------------------- reading

def read_header(path):
    """The first CSV row of a file, or None when the file is empty."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise PlotError(f"{path}: cannot read: {e}") from e


def is_dynamics_csv(path):
    if not os.path.isfile(path):
        return False
    header = read_header(path)
    return header is not None and [h.strip() for h in header[:len(DYNAMICS_HEADER)]] == DYNAMICS_HEADER


def to_float(text):
    """A cell as a float; empty, unparsable or non-finite cells become NaN (gaps)."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


class Columns(dict):
    """metrics.csv's columns by the names of its header; a column the file lacks (an older file, a run without
    that measurement) reads all-NaN."""

    def __init__(self, columns, rows):
        super().__init__(columns)
        self.rows = rows

    def __missing__(self, name):
        return np.full(self.rows, math.nan)


def read_metrics(path):
    """metrics.csv as {column: numpy array}, every column of its header; columns the file lacks are all-NaN."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise PlotError(f"{path}: empty file (expected a header with {', '.join(REQUIRED_COLUMNS)})")
            header = [h.strip() for h in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise PlotError(f"{path}: not a metrics file: no column(s) {', '.join(missing)} in the header")
            index = {name: i for i, name in enumerate(header)}
            rows = []
            for row in reader:
                # A run still being written may end in a partial line: keep only complete rows.
                if len(row) != len(header):
                    continue
                rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise PlotError(f"{path}: cannot read: {e}") from e
    if not rows:
        raise PlotError(f"{path}: no rows")
    return Columns({name: np.array([to_float(r[i]) for r in rows], dtype=float) for name, i in index.items()},
                   len(rows))


def read_summary(path):
    """summary.json as a dict, {} when the file does not exist."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PlotError(f"{path}: cannot read: {e}") from e
    if not isinstance(summary, dict):
        raise PlotError(f"{path}: expected a JSON object")
    return summary


class Run:
    def __init__(self, path):
        path = os.path.normpath(path)
        if os.path.isdir(path):
            self.dir = path
            self.metrics_path = os.path.join(path, "metrics.csv")
        elif os.path.isfile(path):
            self.dir = os.path.dirname(path) or "."
            self.metrics_path = path
        else:
            raise PlotError(f"{path}: no such run folder")
        if not os.path.isfile(self.metrics_path):
            raise PlotError(f"{self.metrics_path}: missing (not a run folder written by `cdat train --out`)")
        self.m = read_metrics(self.metrics_path)
        self.summary = read_summary(os.path.join(self.dir, "summary.json"))
        name = os.path.basename(os.path.abspath(self.dir))
        label = self.summary.get("label")
        self.label = str(label) if label else name
        self.diverged = bool(self.summary.get("diverged", False))
        self.kind = str(self.summary.get("sharpness_kind", "") or "")

    def legend_label(self):
        return self.label + (" (diverged)" if self.diverged else "")

    def series(self, name, positive=False):
        """(steps, values) where the value was measured (and > 0 for a log axis)."""
        step, values = self.m["step"], self.m[name]
        keep = np.isfinite(step) & np.isfinite(values)
        if positive:
            keep &= values > 0
        return step[keep], values[keep]

    def eta_lambda(self):
        """eta*lambda, computed from lr and sharpness on rows where the column itself is empty."""
        values = self.m["lr_x_sharpness"].copy()
        fill = ~np.isfinite(values)
        values[fill] = self.m["lr"][fill] * self.m["sharpness"][fill]
        step = self.m["step"]
        keep = np.isfinite(step) & np.isfinite(values)
        return step[keep], values[keep]

    def has_model_error(self):
        """Whether some step logged both the quadratic model's predicted change and the actual one."""
        return bool(np.any(np.isfinite(self.m["predicted_change"]) & np.isfinite(self.m["actual_change"])))

    def relative_model_error(self):
        """(steps, (actual - predicted) / f(w_t)) where both changes were logged."""
        error = self.m["actual_change"] - self.m["predicted_change"]
        step, values = self.m["step"], error / np.abs(self.m["train_loss"])
        keep = np.isfinite(step) & np.isfinite(values)
        return step[keep], values[keep]

    def edge_in_eta_lambda(self):
        """The edge in units of eta*lambda: eta * threshold (2 for GD/RMSProp, (2+2b1)/(1-b1) for Adam)."""
        values = self.m["lr"] * self.m["stability_threshold"]
        values = values[np.isfinite(values) & (values > 0)]
        return float(np.median(values)) if values.size else None


# ----------------------------------------------------------------------------------------------- drawing

def plot_line(ax, x, y, color, label=None, **kwargs):
    """A line; with few points (sparse measurements) also markers so that single points show."""
    if x.size == 0:
        return
    if x.size <= 40:
        kwargs.setdefault("marker", "o")
        kwargs.setdefault("markersize", 3)
    ax.plot(x, y, color=color, label=label, **kwargs)


def robust_top(values, floor=None):
    """An upper y limit that ignores a blow-up at the end of a diverged run."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    top = float(np.max(values))
    return top if floor is None else max(top, floor)


def draw(runs, title):
    plt.rcParams.update({
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",  # keep text as text in the SVG (searchable, editable)
    })
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(runs) > len(colors):
        colors = [plt.get_cmap("turbo")(i / max(1, len(runs) - 1)) for i in range(len(runs))]

    model_panels = any(run.has_model_error() for run in runs)
    if model_panels:
        fig, axes = plt.subplots(2, 4, figsize=(20, 8.4), sharex=True)
        ax_loss, ax_lr, ax_sharp, ax_change = axes[0]
        ax_el, ax_grad, ax_error, ax_info = axes[1]
    else:
        fig, axes = plt.subplots(2, 3, figsize=(15, 8.4), sharex=True)
        ax_loss, ax_lr, ax_sharp = axes[0]
        ax_el, ax_grad, ax_info = axes[1]

    max_step = 0.0
    for run, color in zip(runs, colors):
        steps = run.m["step"][np.isfinite(run.m["step"])]
        if steps.size:
            max_step = max(max_step, float(steps.max()))

    # Train loss (log). Limit the top to a few times the largest initial loss so a diverged run's blow-up
    # does not squash the others; its last finite point is marked with an x.
    initial_losses = []
    for run, color in zip(runs, colors):
        x, y = run.series("train_loss", positive=True)
        plot_line(ax_loss, x, y, color, lw=1.2)
        if x.size:
            initial_losses.append(float(y[0]))
            if run.diverged:  # a dotted line where the run stopped being finite
                ax_loss.axvline(x[-1], color=color, lw=1.0, ls=":")
    ax_loss.set_yscale("log")
    ax_loss.set_title("train loss")
    if initial_losses:
        all_loss = np.concatenate([run.series("train_loss", positive=True)[1] for run in runs])
        cap = 5.0 * max(initial_losses)
        if all_loss.size and float(all_loss.max()) > cap:
            ax_loss.set_ylim(top=cap)

    # Learning rate (log).
    for run, color in zip(runs, colors):
        x, y = run.series("lr", positive=True)
        plot_line(ax_lr, x, y, color, lw=1.2)
    ax_lr.set_yscale("log")
    ax_lr.set_title(r"learning rate $\eta_t$")

    # Sharpness with each run's stability threshold (dashed). The threshold starts far above the
    # sharpness when eta is small: the y range follows the sharpness, the threshold enters from above.
    kinds = {run.kind for run in runs if run.kind}
    if kinds == {"preconditioned"}:
        sharp_title = r"preconditioned sharpness $\lambda_{\max}(P^{-1}H)$"
    elif kinds == {"hessian"} or not kinds:
        sharp_title = r"sharpness $\lambda_{\max}(H)$"
    else:
        sharp_title = r"sharpness $\lambda_{\max}$ (Hessian or preconditioned)"
    max_sharp, max_thr = [], []
    for run, color in zip(runs, colors):
        x, y = run.series("sharpness")
        plot_line(ax_sharp, x, y, color, lw=1.2)
        if y.size:
            max_sharp.append(float(np.max(y)))
        tx, ty = run.series("stability_threshold", positive=True)
        if tx.size:
            ax_sharp.plot(tx, ty, color=color, lw=1.0, ls="--", alpha=0.85)
            max_thr.append(float(np.max(ty)))
    ax_sharp.set_title(sharp_title)
    if max_sharp:
        top_sharp = max(max_sharp)
        if top_sharp > 0:
            top = top_sharp
            if max_thr:
                top = max(top, min(max(max_thr), 2.5 * top_sharp))
            all_sharp = np.concatenate([run.series("sharpness")[1] for run in runs])
            bottom = min(0.0, float(np.min(all_sharp)) * 1.1)
            ax_sharp.set_ylim(bottom, 1.12 * top)
    ax_sharp.plot([], [], color="0.35", ls="--", lw=1.0, label="stability threshold (2/η, Adam: (2+2β₁)/((1−β₁)η))")
    ax_sharp.legend(loc="upper left", frameon=False, fontsize=8)

    # eta * lambda with the edge of stability.
    edges = []
    el_max = []
    for run, color in zip(runs, colors):
        x, y = run.eta_lambda()
        plot_line(ax_el, x, y, color, lw=1.2)
        if y.size:
            el_max.append(float(np.max(y)))
        edge = run.edge_in_eta_lambda()
        if edge is not None and abs(edge - 2.0) > 0.05:
            edges.append(edge)
            ax_el.axhline(edge, color=color, lw=1.0, ls="--", alpha=0.85)
    ax_el.axhline(2.0, color="black", lw=1.0, ls="--")
    ax_el.annotate("edge of stability  η·λ = 2", xy=(0.0, 2.0), xycoords=("axes fraction", "data"),
                   xytext=(4, 3), textcoords="offset points", ha="left", va="bottom", fontsize=9)
    ax_el.set_title(r"$\eta_t \cdot \lambda_{\max}$")
    max_edge = max([2.0] + edges)
    top = 1.3 * max_edge
    if el_max:
        top = max(top, min(1.08 * max(el_max), 2.5 * max_edge))
    ax_el.set_ylim(0.0, top)

    # Gradient norm (log).
    for run, color in zip(runs, colors):
        x, y = run.series("grad_norm", positive=True)
        plot_line(ax_grad, x, y, color, lw=1.2)
    ax_grad.set_yscale("log")
    ax_grad.set_title(r"gradient norm $\|\nabla L\|$")

    panels = [ax_loss, ax_lr, ax_sharp, ax_el, ax_grad]
    if model_panels:
        draw_model_panels(runs, colors, ax_change, ax_error)
        panels += [ax_change, ax_error]
    for ax in panels:
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(0, max(1.0, max_step))
        ax.tick_params(labelbottom=True)
        ax.set_xlabel("step")

    # Sixth panel: the legend and a small summary per run.
    ax_info.axis("off")
    handles = [plt.Line2D([], [], color=color, lw=2.5) for color in colors[:len(runs)]]
    legend = ax_info.legend(handles, [run.legend_label() for run in runs], loc="upper left", frameon=False,
                            fontsize=10, title="runs", title_fontsize=10, borderaxespad=0.0)
    lines = []
    for run in runs:
        final = run.summary.get("final_train_loss")
        best = run.summary.get("best_train_loss")
        _, loss = run.series("train_loss")
        if loss.size:  # a run still being written has no summary.json yet
            final = loss[-1] if "final_train_loss" not in run.summary else final
            best = float(np.min(loss)) if "best_train_loss" not in run.summary else best
        n_steps = run.summary.get("steps")
        if n_steps is None:
            finite = run.m["step"][np.isfinite(run.m["step"])]
            n_steps = int(finite.max()) if finite.size else 0
        lines.append(f"{shorten(run.label, 24):<24} {fmt(final):>9} {fmt(best):>9} {n_steps:>7} "
                     f"{fmt(run.summary.get('wall_time_s')):>9}")
    header = f"{'train loss':<24} {'final':>9} {'best':>9} {'steps':>7} {'time (s)':>9}"
    if len(runs) > 8:  # no room for the table under a long legend
        lines, header = [], ""
    table = ax_info.text(0.0, 0.0, header + "\n" + "\n".join(lines), transform=ax_info.transAxes,
                         family="monospace", fontsize=8.5, va="top", ha="left")

    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    # The table goes right under the legend, whose height depends on the number of runs.
    fig.canvas.draw()
    box = legend.get_window_extent().transformed(ax_info.transAxes.inverted())
    table.set_y(max(0.0, box.y0 - 0.06))
    return fig


def draw_model_panels(runs, colors, ax_change, ax_error):
    """The quadratic model along each step (issue 11): actual f(w + eta u) - f(w) against the prediction
    eta g.u + eta^2 u.Hu / 2, and their difference over the loss. Both on symlog axes: the changes span
    decades and change sign."""
    losses = np.concatenate([run.series("train_loss", positive=True)[1] for run in runs])
    scale = float(np.median(losses)) if losses.size else 1.0
    for run, color in zip(runs, colors):
        x, y = run.series("actual_change")
        plot_line(ax_change, x, y, color, lw=1.2)
        x, y = run.series("predicted_change")
        plot_line(ax_change, x, y, color, lw=1.0, ls="--", alpha=0.85)
        x, y = run.relative_model_error()
        plot_line(ax_error, x, y, color, lw=1.2)
    ax_change.set_yscale("symlog", linthresh=1e-3 * scale)
    ax_change.axhline(0.0, color="black", lw=0.8)
    ax_change.set_title(r"change in loss per step: actual, predicted (dashed)")
    ax_change.plot([], [], color="0.35", lw=1.2, label=r"actual $f(w+\eta u)-f(w)$")
    ax_change.plot([], [], color="0.35", lw=1.0, ls="--", label=r"quadratic model $\eta g^\top u+\eta^2 u^\top Hu/2$")
    ax_change.legend(loc="best", frameon=False, fontsize=8)
    ax_error.set_yscale("symlog", linthresh=1e-4)
    ax_error.axhline(0.0, color="black", lw=0.8)
    ax_error.set_title("quadratic model error (actual - predicted) / loss")


def shorten(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"


def fmt(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


# ----------------------------------------------------------------------------------------------- main

def delegate_dynamics(paths, labels, prefix, title):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot_dynamics.py")
    if not os.path.isfile(script):
        raise PlotError(f"{paths[0]}: is a dynamics CSV, but its plotter {script} does not exist")
    argv = [sys.executable, script, *paths]
    for label in labels or []:
        argv += ["--label", label]
    argv += ["--out", prefix + ".png", "--svg"]
    if title:
        argv += ["--title", title]
    return subprocess.call(argv)


def strip_extension(prefix):
    root, ext = os.path.splitext(prefix)
    return root if ext.lower() in (".png", ".svg") else prefix


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders (or metrics.csv files, or dynamics CSVs)")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.png and PREFIX.svg")
    parser.add_argument("--labels", default=None, help="comma-separated legend labels, one per run")
    parser.add_argument("--title", default=None, help="figure title")
    parser.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    args = parser.parse_args(argv)

    labels = None
    if args.labels is not None:
        labels = [s.strip() for s in args.labels.split(",")]
        if len(labels) != len(args.runs):
            parser.error(f"--labels has {len(labels)} names for {len(args.runs)} runs")
    prefix = strip_extension(args.out)

    try:
        dynamics = [is_dynamics_csv(p) for p in args.runs]
        if any(dynamics):
            if not all(dynamics):
                odd = args.runs[dynamics.index(False)]
                raise PlotError(f"{odd}: cannot mix run folders and dynamics CSVs in one figure")
            out_dir = os.path.dirname(prefix)
            if out_dir:
                os.makedirs(out_dir, exist_ok=True)
            return 1 if delegate_dynamics(args.runs, labels, prefix, args.title) != 0 else 0

        runs = [Run(p) for p in args.runs]
        if labels:
            for run, label in zip(runs, labels):
                if label:
                    run.label = label
        fig = draw(runs, args.title)
        out_dir = os.path.dirname(prefix)
        try:
            if out_dir:
                os.makedirs(out_dir, exist_ok=True)
            fig.savefig(prefix + ".png", dpi=args.dpi)
            fig.savefig(prefix + ".svg")
        except OSError as e:
            raise PlotError(f"{prefix}: cannot write the figure: {e}") from e
        finally:
            plt.close(fig)
    except PlotError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
