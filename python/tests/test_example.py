"""examples/python/train_mlp.py runs and decreases the loss on Fashion-MNIST."""
import os
import re
import subprocess
import sys

import torchcdat


def test_train_mlp_example_prints_a_final_loss_below_the_initial_one(repo):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.dirname(os.path.dirname(torchcdat.__file__)), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, str(repo / "examples" / "python" / "train_mlp.py"), "--train-size", "256",
                          "--steps", "20", "--width", "32", "--sharpness-every", "10"],
                         check=True, capture_output=True, text=True, env=env).stdout
    first = float(re.search(r"step    0  loss (\S+)", out).group(1))
    final = float(re.search(r"final_loss (\S+)", out).group(1))
    assert final < 0.8 * first, out
    assert len(re.findall(r"sharpness \S+", out)) == 2
