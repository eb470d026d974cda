"""MNIST from ../shared/data/mnist (or DATA_DIR=...): test accuracy and time per epoch.

    python bench/mnist.py [KEY=VALUE ...]      e.g. LOSS_TYPE=\"sum\" N_EPOCHS=20
Prints one JSON line per epoch and a final line with the test accuracy of
the last epoch's weights and of the weights of the best validation epoch.
"""
import json
import os
import platform
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from params.mnist import defaults  # noqa: E402
from simulators.mnist import MNISTModel  # noqa: E402
from train_scripts.cli import parse_value  # noqa: E402


def main():
    p = defaults()
    p["DATA_DIR"] = os.path.join(HERE, "..", "..", "shared", "data", "mnist")
    p["OUT_DIR"] = tempfile.mkdtemp(prefix="mnist_bench_")
    p["MODEL_SEED"] = 1
    p["WRITE_TO_DISK"] = False
    for kv in sys.argv[1:]:
        k, v = kv.split("=", 1)
        p[k] = parse_value(v)
    m = MNISTModel(p)
    res = m.train(p)
    for r in res["history"]:
        print(json.dumps({"bench": "mnist", **{k: v for k, v in r.items()
                                               if isinstance(v, (int, float))}}),
              flush=True)
    test = m.test(p)
    best = {}
    if p["CHECKPOINT"] and p["N_VALIDATE"]:
        # model selection on the validation split: the best epoch's weights
        p["LOAD_BEST"] = True
        best = {"test_acc_best_val_epoch": m.test(p)["acc"]}
    print(json.dumps({"bench": "mnist", "loss_type": p["LOSS_TYPE"],
                      "epochs": p["N_EPOCHS"], "test_acc": test["acc"], **best,
                      "best_val_acc": max(r["val_acc"] for r in res["history"]),
                      "machine": f"{platform.machine()} {os.cpu_count()} cores"}))


if __name__ == "__main__":
    main()
