"""One point of a sweep: a training run in a folder of its own.

The run writes the usual files (``run_results.csv``, ``run.json``,
checkpoints, ...) into OUT/<point>/; beside them the sweep keeps
``done.json`` (written when the run returned: its parameters and summary)
or ``error.json`` (the error of the last attempt). A point is complete when
``done.json`` holds the parameters it would run with now; otherwise a run
that left a last checkpoint is resumed from it (LOAD_LAST) and one that left
files but no checkpoint is started afresh (OVERWRITE).
"""
import importlib
import json
import os
import time
import traceback
from pathlib import Path

import numpy as np

from .spec import RUN_NAME

DONE = "done.json"
ERROR = "error.json"
# the simulator class of each benchmark
SIMULATORS = {"yinyang": "simulators.yinyang:YinYangModel",
              "mnist": "simulators.mnist:MNISTModel",
              "shd": "simulators.shd:SHDModel",
              "dvs_gesture": "simulators.dvs_gesture:DVSGestureModel",
              "smnist": "simulators.smnist:SMNISTModel"}
# how long a run waits for the lock of an earlier attempt of the same point
# (a task of a killed driver may take a moment to be stopped)
LOCK_WAIT_S = 60.0


def simulator_class(benchmark):
    module, name = SIMULATORS[benchmark].split(":")
    return getattr(importlib.import_module(module), name)


def run_params(point_params, folder, cpus):
    """The parameters a point runs with in ``folder`` on ``cpus`` threads."""
    p = dict(point_params)
    p.update({"OUT_DIR": str(folder), "NAME": RUN_NAME, "N_THREADS": int(cpus),
              "LOAD_LAST": False, "LOAD_BEST": False, "OVERWRITE": False,
              "WRITE_TO_DISK": True})
    return p


def _comparable(p):
    """The parameters that decide what a run computes (not where or how fast)."""
    from simulators.base import RESUME_QUIET_KEYS
    return {k: v for k, v in p.items() if k not in RESUME_QUIET_KEYS}


def read_done(folder, p):
    """The summary of a complete point, or None when it has to run (again)."""
    path = Path(folder) / DONE
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if json.loads(json.dumps(_comparable(done.get("params", {})))) != \
            json.loads(json.dumps(_comparable(p))):
        return None         # other parameters now: run (or resume) again
    return done.get("summary")


def summarise(results_csv):
    """The sweep table's numbers of one run, from its NAME_results.csv
    (all epochs, also those before a resume).

    final_*: the last epoch; best_*: the epoch the run's best checkpoint
    comes from (highest validation accuracy, training accuracy when there is
    no validation split: column best_on); test_acc_at_best: the test
    accuracy in that epoch (train_test mode)."""
    import pandas as pd
    df = pd.read_csv(results_csv)
    if df.empty:
        raise ValueError(f"{results_csv} has no epochs")
    last = df.iloc[-1]
    select = str(last["best_on"]) if "best_on" in df else \
        ("val_acc" if "val_acc" in df else "train_acc")
    best = df.iloc[int(np.argmax(df[select].to_numpy()))]   # first maximum

    def col(row, name):
        return float(row[name]) if name in row and pd.notna(row[name]) else None
    return {"epochs": int(len(df)), "best_epoch": int(best["epoch"]),
            "best_on": select,
            "final_train_acc": col(last, "train_acc"),
            "final_val_acc": col(last, "val_acc"),
            "best_val_acc": col(best, "val_acc"),
            "final_test_acc": col(last, "test_acc"),
            "test_acc_at_best": col(best, "test_acc"),
            "final_train_loss": col(last, "train_loss"),
            "final_val_loss": col(last, "val_loss"),
            "time_s": float(df["time_s"].sum()) if "time_s" in df else None}


def _write_json(path, obj):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def run_point(task):
    """Run (or resume) one point; return its record. Never raises for a
    failing run: the error is written to error.json and returned.

    ``task``: {"benchmark", "name", "folder", "params" (plain dict, as
    Point.params), "mode", "cpus", "model_kwargs"}.
    """
    t0 = time.time()
    folder = Path(task["folder"])
    record = {"point": task["name"], "status": "failed", "error": None,
              "skipped": False, "resumed_from_epoch": None}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ERROR).unlink(missing_ok=True)
        (folder / DONE).unlink(missing_ok=True)     # of other parameters
        from params import validate
        from simulators import outputs
        benchmark = task["benchmark"]
        p = validate(run_params(task["params"], folder, task["cpus"]), benchmark)
        kind = None
        if outputs.Checkpoints(p).meta("last") is not None:
            p["LOAD_LAST"] = True           # an interrupted run: go on from there
            kind = "last"
            record["resumed_from_epoch"] = int(
                outputs.Checkpoints(p).meta("last")["epoch"])
        elif outputs.existing_run_files(p):
            p["OVERWRITE"] = True           # stopped before its first checkpoint
        model = simulator_class(benchmark)(p, **task.get("model_kwargs", {}))
        _call_waiting_for_lock(getattr(model, task["mode"]), p)
        summary = summarise(folder / f"{RUN_NAME}_results.csv")
        p["LOAD_LAST"], p["OVERWRITE"] = False, False
        _write_json(folder / DONE, {"params": dict(p), "summary": summary,
                                    "resumed": kind is not None})
        record.update(summary)
        record["status"] = "done"
    except Exception as err:        # recorded; the other points go on
        record["error"] = f"{type(err).__name__}: {err}"
        try:
            _write_json(folder / ERROR, {"error": record["error"],
                                         "traceback": traceback.format_exc()})
        except OSError:
            pass
    record["wall_s"] = time.time() - t0
    return record


def _call_waiting_for_lock(method, p):
    from simulators.outputs import RunLockedError
    deadline = time.time() + LOCK_WAIT_S
    while True:
        try:
            return method(p)
        except RunLockedError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
