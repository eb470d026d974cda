"""Yin-Yang with the table's defaults: test accuracy per seed and time per epoch.

    python bench/yinyang.py [--seeds 1,2,3] [KEY=VALUE ...]
Prints one JSON line per seed and a summary line.
"""
import argparse
import json
import os
import platform
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from params.yinyang import defaults  # noqa: E402
from simulators.yinyang import YinYangModel  # noqa: E402
from train_scripts.cli import parse_value  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1")
    ap.add_argument("overrides", nargs="*")
    a = ap.parse_args()
    accs = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        p = defaults()
        p["OUT_DIR"] = tempfile.mkdtemp(prefix="yy_bench_")
        p["MODEL_SEED"] = seed
        p["TRAIN_DATA_SEED"] = 123 + seed
        p["WRITE_TO_DISK"] = False
        for kv in a.overrides:
            k, v = kv.split("=", 1)
            p[k] = parse_value(v)
        res = YinYangModel(p).train_test(p)
        h = res["history"]
        accs.append(h[-1]["test_acc"])
        print(json.dumps({"bench": "yinyang", "seed": seed,
                          "test_acc": h[-1]["test_acc"],
                          "best_test_acc": max(r["test_acc"] for r in h),
                          "train_acc": h[-1]["train_acc"],
                          "s_per_epoch": float(np.mean([r["time_s"] for r in h])),
                          "epochs": len(h)}), flush=True)
    print(json.dumps({"bench": "yinyang", "mean_test_acc": float(np.mean(accs)),
                      "std_test_acc": float(np.std(accs)), "n_seeds": len(accs),
                      "machine": f"{platform.machine()} {os.cpu_count()} cores"}))


if __name__ == "__main__":
    main()
