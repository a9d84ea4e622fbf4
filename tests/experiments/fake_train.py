#!/usr/bin/python3
"""A stand-in for `cdat train --config DIR/requested.toml --quiet` in the run store's tests: no training, a known
answer. The final train loss is 1 + (log2(lr) − log2(TARGET))², TARGET from the environment variable
CDAT_FAKE_TARGET_LR; writes summary.json and a two-row metrics.csv where `cdat train` would."""
import json
import math
import os
import sys


def main():
    config = sys.argv[sys.argv.index("--config") + 1]
    lr = None
    with open(config) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "lr":
                lr = float(value)
    folder = os.path.dirname(config)
    loss = 1.0 + (math.log2(lr) - math.log2(float(os.environ["CDAT_FAKE_TARGET_LR"]))) ** 2
    with open(os.path.join(folder, "metrics.csv"), "w") as f:
        f.write(f"step,train_loss,wall_time_s\n0,{loss + 1},0.5\n1,{loss},1\n")
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump({"final_train_loss": loss, "best_train_loss": loss, "final_over_initial": loss / (loss + 1),
                   "diverged": False, "interrupted": False, "steps": 2, "wall_time_s": 1.0}, f)


if __name__ == "__main__":
    main()
