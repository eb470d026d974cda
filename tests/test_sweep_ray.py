"""Sweeps and parallel cross-validation on Ray (skipped where Ray is not
installed). Ray starts once for this file (2 CPUs); a tiny Yin-Yang grid
(2 x 2 points, 2 seeds, a few hundred samples, 2 epochs)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from params.yinyang import defaults  # noqa: E402
from simulators.shd import SHDModel  # noqa: E402
from simulators.yinyang import YinYangModel  # noqa: E402
from sweeps import Sweep, run_sweep  # noqa: E402
from sweeps.point import DONE, ERROR  # noqa: E402
from sweeps.report import PLOT, TABLE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = {"benchmark": "yinyang",
        "base": {"N_TRAIN": 640, "N_TEST": 96, "N_EPOCHS": 2, "W_REPORT_INTERVAL": 1000},
        "grid": {"NUM_HIDDEN": [16, 24], "ETA": [0.002, 0.01]}, "seeds": 2}


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray for the whole file; its address for other drivers."""
    ctx = ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ctx.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    """Every point of SPEC run directly, here: point name -> results table."""
    out = tmp_path_factory.mktemp("direct")
    tables = {}
    for pt in Sweep.from_dict(SPEC).expand():
        p = defaults()
        p.update(pt.params)
        p.update({"OUT_DIR": str(out), "NAME": pt.name, "N_THREADS": 1})
        YinYangModel(p).train_test(p)
        tables[pt.name] = pd.read_csv(out / f"{pt.name}_results.csv").drop(
            columns="time_s")
    return tables


def run_table(folder):
    return pd.read_csv(folder / "run_results.csv").drop(columns="time_s")


def test_sweep_on_ray_equals_the_points_run_directly(ray_address, direct, tmp_path):
    res = run_sweep(Sweep.from_dict(SPEC), tmp_path, use_ray=True, progress=False)
    assert not res.failed and len(res.points) == 8
    df = pd.read_csv(tmp_path / TABLE)
    assert (df["status"] == "done").all() and len(df) == 8
    assert sorted(set(zip(df["NUM_HIDDEN"], df["ETA"], df["seed"]))) == sorted(
        (h, e, s) for h in (16, 24) for e in (0.002, 0.01) for s in (1, 2))
    assert (tmp_path / PLOT).stat().st_size > 0
    for row in df.itertuples():
        folder = tmp_path / row.point
        want = direct[row.point]
        pd.testing.assert_frame_equal(run_table(folder), want)
        assert row.final_test_acc == want["test_acc"].iloc[-1]
        for f in ("run.json", "run_results.txt", "run_checkpoint_last.npz",
                  "run_checkpoint_best.npz", DONE):
            assert (folder / f).exists(), (row.point, f)
        # each task ran on the one CPU it declared
        assert json.loads((folder / "run.json").read_text())["N_THREADS"] == 1


def test_restart_after_killing_the_driver_skips_done_points(ray_address, direct,
                                                           tmp_path):
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "sw"
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen(
        [sys.executable, "-m", "train_scripts.sweep", "yinyang", str(spec), "--out",
         str(out), "--address", ray_address, "--quiet"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    try:
        while not list(out.glob(f"*/{DONE}")):
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()
            assert time.time() < deadline, "no point finished in 120 s"
            time.sleep(0.02)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)      # the driver dies mid-sweep
        driver.wait()
        log.close()
    done = {f.parent.name: f.stat().st_mtime_ns for f in out.glob(f"*/{DONE}")}
    assert 1 <= len(done) < 8, done
    assert not (out / TABLE).exists() or \
        (pd.read_csv(out / TABLE)["status"] == "done").sum() < 8
    res = run_sweep(Sweep.from_dict(SPEC), out, use_ray=True, progress=False)
    assert not res.failed
    df = res.table
    skipped = set(df.loc[df["skipped"].astype(bool), "point"])
    assert set(done) <= skipped and len(skipped) < 8
    for name, stamp in done.items():        # not run again
        assert (out / name / DONE).stat().st_mtime_ns == stamp
    for row in df.itertuples():             # resumed or not: as if never stopped
        pd.testing.assert_frame_equal(run_table(out / row.point), direct[row.point])
    assert (df["status"] == "done").all()


def test_a_failing_point_is_reported_on_ray(ray_address, tmp_path):
    spec = dict(SPEC, grid={}, seeds=1,
                points=[{"NUM_HIDDEN": 16}, {"REC_NEURONS": [["nope", "V"]]}])
    res = run_sweep(Sweep.from_dict(spec), tmp_path, use_ray=True, progress=False)
    status = dict(zip(res.table["point"], res.table["status"]))
    assert status == {"NUM_HIDDEN-16_seed-1": "done",
                      "REC_NEURONS-nope+V_seed-1": "failed"}
    (failed,) = res.failed
    assert "nope" in failed["error"]
    err = json.loads((tmp_path / "REC_NEURONS-nope+V_seed-1" / ERROR).read_text())
    assert "nope" in err["error"]
    assert "nope" in pd.read_csv(tmp_path / TABLE)["error"].dropna().iloc[0]


def test_a_task_whose_worker_dies_is_reported_and_the_others_finish(ray_address):
    from sweeps.tasks import TaskCrashed, run_tasks

    def square_or_die(x):       # local: Ray ships it by value
        if x == 2:
            os._exit(1)
        return x * x
    got = run_tasks(square_or_die, [1, 2, 3], cpus=1)
    assert got[0] == 1 and got[2] == 9
    assert isinstance(got[1], TaskCrashed)


def test_optuna_search_runs_its_trials_on_ray(ray_address, tmp_path):
    pytest.importorskip("optuna")
    from sweeps.search import Search, run_search
    s = Search("yinyang", base=dict(SPEC["base"], MODEL_SEED=1), trials=2, parallel=2,
               space={"ETA": {"low": 1e-3, "high": 1e-2, "log": True}},
               metric="final_train_acc", seed=1)
    study = run_search(s, tmp_path, use_ray=True, progress=False)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for t in study.trials:
        runs = pd.read_csv(tmp_path / t.user_attrs["point"] / "run_results.csv")
        assert t.value == runs["train_acc"].iloc[-1]
    assert ray.is_initialized()         # the file's Ray, left running


def test_cross_validation_folds_in_parallel_equal_sequential_folds(ray_address,
                                                                   tmp_path):
    from tests.shd_files import write_vlen
    from tests.test_shd import N_CH, make_samples, params
    data = tmp_path / "data"
    data.mkdir()
    write_vlen(data / "shd_train.h5", *make_samples(4, seed=0))
    write_vlen(data / "shd_test.h5", *make_samples(2, seed=1))
    got = {}
    for parallel in (False, True):
        out = tmp_path / f"parallel_{parallel}"
        p = params(data, out, N_EPOCHS=2, NAME="cv", N_THREADS=1, MODEL_SEED=3)
        m = SHDModel(p, n_channels=N_CH)
        # MODEL_SEED None: every fold task must start from this model's weights
        p.update(CV_PARALLEL=parallel, MODEL_SEED=None)
        got[parallel] = m.cross_validate(p)
    seq, par = got[False], got[True]
    pd.testing.assert_frame_equal(pd.DataFrame(seq["rows"]).drop(columns="time_s"),
                                  pd.DataFrame(par["rows"]).drop(columns="time_s"))
    s, q = (dict(x["summary"]) for x in (seq, par))
    s.pop("time_s"), q.pop("time_s")
    assert s == q and s["n_folds"] == 4
    for k in range(4):                  # the same per-fold files
        a, b = (pd.read_csv(tmp_path / f"parallel_{x}" / f"cv_fold{k}_results.csv")
                .drop(columns="time_s") for x in (False, True))
        pd.testing.assert_frame_equal(a, b)
        assert json.loads((tmp_path / "parallel_True" / f"cv_fold{k}.json")
                          .read_text())["MODEL_SEED"] == 3
    csv = {x: pd.read_csv(tmp_path / f"parallel_{x}" / "cv_crossval.csv")
           .drop(columns="time_s") for x in (False, True)}
    pd.testing.assert_frame_equal(csv[False], csv[True])
    assert np.isclose(json.loads((tmp_path / "parallel_True" /
                                  "cv_crossval_summary.json").read_text())
                      ["mean_val_acc"], s["mean_val_acc"])

