#!/usr/bin/python3
"""Writes small fake inputs for the `cdat plot` tests into DIR (standard library only):

  DIR/run1/      a constant-LR GD run at the edge of stability (sharpness every 5 steps, test_* every 20)
  DIR/run2/      a CDAT run that diverges: the last loss cells are inf/nan, summary.json says diverged
  DIR/old/       run1's metrics in the format before the quadratic-model columns (no model panels)
  DIR/empty/     a folder without metrics.csv
  DIR/dyn.csv    a `cdat dynamics` trajectory (t,eta,sharpness,y,x)

    make_fake_runs.py DIR
"""
import json
import math
import os
import sys

HEADER = ("step,train_loss,train_acc,lr,sharpness,lr_x_sharpness,stability_threshold,grad_norm,curvature,"
          "numerator,alignment,trials,predicted_change,actual_change,model_error,test_loss,test_acc,wall_time_s")
MODEL_COLUMNS = slice(12, 15)  # predicted_change, actual_change, model_error


def model_cells(predicted, actual):
    return [predicted, actual, actual - predicted]


def cell(value):
    return "" if value is None else repr(float(value)) if isinstance(value, float) else str(value)


def write_run(folder, rows, summary, old_format=False):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "metrics.csv"), "w", encoding="utf-8") as f:
        header = HEADER.split(",")
        if old_format:
            for row in [header] + rows:
                del row[MODEL_COLUMNS]
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(cell(v) for v in row) + "\n")
    with open(os.path.join(folder, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
    with open(os.path.join(folder, "config.toml"), "w", encoding="utf-8") as f:
        f.write(f'optimizer = "{summary["optimizer"]}"\ntuner = "{summary["tuner"]}"\n')


def constant_gd_run(steps=200, lr=0.05, every=5):
    rows = []
    for t in range(steps):
        sharp = min(2.0 / lr * (1 + 0.03 * math.sin(0.7 * t)), 8.0 + 0.2 * t)
        loss = 2.3 * math.exp(-t / 60) + 0.05 + 0.02 * abs(math.sin(0.9 * t)) * (t > 60)
        measured = t % every == 0
        rows.append([t, loss, 1 - loss / 2.5, lr,
                     sharp if measured else None,
                     lr * sharp if measured else None,
                     2.0 / lr if measured else None,
                     1.5 * math.exp(-t / 120) + 0.1, sharp * 0.8, -0.5 * loss,
                     0.5 + 0.3 * math.sin(t) if measured else None,
                     None,
                     *model_cells(-0.01 * loss, -0.01 * loss * (1 + 0.5 * math.sin(0.3 * t))),
                     loss * 1.1 if t % 20 == 0 else None,
                     1 - loss / 2.4 if t % 20 == 0 else None,
                     0.01 * t])
    return rows


def diverging_cdat_run(steps=150, every=5):
    rows = []
    for t in range(steps):
        lr = 0.01 * min(1.0 + t / 10.0, 8.0)
        sharp = 10.0 + 0.08 * t
        loss = 2.3 * math.exp(-t / 40) + 0.03
        if t > 130:
            loss *= math.exp(0.8 * (t - 130))
        if t >= steps - 2:
            loss = math.inf if t == steps - 2 else math.nan
        measured = t % every == 0
        rows.append([t, loss, 0.5, lr,
                     sharp if measured else None,
                     lr * sharp if measured else None,
                     2.0 / lr if measured else None,
                     1.0 + 0.01 * t, sharp, -loss,
                     None, None, *model_cells(-0.02 * loss, 0.05 * loss if t > 125 else -0.02 * loss),
                     None, None, 0.02 * t])
    return rows


def dynamics_csv(path, steps=300):
    lam, x, eta = 15.0, 1e-2, 0.1
    with open(path, "w", encoding="utf-8") as f:
        f.write("t,eta,sharpness,y,x\n")
        for t in range(steps):
            f.write(f"{t},{eta},{lam},{eta * lam - 2},{x}\n")
            x = (1 - eta * lam) * x + 1e-6
            lam = lam + eta * (0.1 - 10 * x * x)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    write_run(os.path.join(out, "run1"), constant_gd_run(),
              {"label": "gd lr=0.05", "optimizer": "gd", "tuner": "constant", "sharpness_kind": "hessian",
               "final_train_loss": 0.07, "best_train_loss": 0.05, "diverged": False, "steps": 200,
               "wall_time_s": 2.0})
    write_run(os.path.join(out, "run2"), diverging_cdat_run(),
              {"label": "gd+cdat σ=2", "optimizer": "gd", "tuner": "cdat", "sharpness_kind": "hessian",
               "final_train_loss": None, "best_train_loss": 0.04, "diverged": True, "steps": 150,
               "wall_time_s": 3.0})
    write_run(os.path.join(out, "old"), constant_gd_run(),
              {"label": "old format", "optimizer": "gd", "tuner": "constant", "sharpness_kind": "hessian",
               "final_train_loss": 0.07, "best_train_loss": 0.05, "diverged": False, "steps": 200,
               "wall_time_s": 2.0}, old_format=True)
    os.makedirs(os.path.join(out, "empty"), exist_ok=True)
    dynamics_csv(os.path.join(out, "dyn.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
