"""Sweeps without Ray: expansion, the in-process runner, restart and resume,
failures, the table, the plot and the command line (tests/test_sweep_ray.py
runs the same sweeps on Ray)."""
import json

import numpy as np
import pandas as pd
import pytest

from params.yinyang import defaults
from simulators.yinyang import YinYangModel
from sweeps import Sweep, load, run_sweep
from sweeps.point import DONE, ERROR, summarise
from sweeps.report import PLOT, TABLE

BASE = {"N_TRAIN": 320, "N_TEST": 96, "N_EPOCHS": 2, "W_REPORT_INTERVAL": 1000}


def direct(point_params, out, **kw):
    """The run of a point, done directly: its results table, without times."""
    p = defaults()
    p.update(point_params)
    p.update({"OUT_DIR": str(out), "NAME": "direct", "N_THREADS": 1, **kw})
    YinYangModel(p).train_test(p)
    return pd.read_csv(out / "direct_results.csv").drop(columns="time_s")


def run_table(folder):
    return pd.read_csv(folder / "run_results.csv").drop(columns="time_s")


# -- what a sweep expands into ------------------------------------------------

def test_grid_points_and_seeds_expand_validated_with_readable_names():
    sw = Sweep("yinyang", base={"N_EPOCHS": 3},
               grid={"NUM_HIDDEN": [10, 20], "ETA": [0.001, 0.01]},
               points=[{"NUM_HIDDEN": 10, "ETA": 0.001},        # = a grid point
                       {"LOSS_TYPE": "first_spike_exp"}], seeds=2)
    pts = sw.expand()
    assert len(pts) == (4 + 1) * 2
    assert sw.varied_keys() == ["NUM_HIDDEN", "ETA", "LOSS_TYPE"]
    assert pts[0].name == "NUM_HIDDEN-10_ETA-0.001_seed-1"
    assert pts[-1].name == "LOSS_TYPE-first_spike_exp_seed-2"
    assert len({p.name for p in pts}) == len(pts)
    for p in pts:
        assert p.params["N_EPOCHS"] == 3 and p.params["MODEL_SEED"] == p.seed
    assert pts[-1].params["NUM_HIDDEN"] == defaults()["NUM_HIDDEN"]
    assert [p.seed for p in Sweep("yinyang", seeds=[7, 9]).expand()] == [7, 9]
    two = Sweep("yinyang", seeds=[3], seed_keys=["MODEL_SEED", "TRAIN_DATA_SEED"])
    assert two.expand()[0].params["TRAIN_DATA_SEED"] == 3


@pytest.mark.parametrize("spec,match", [
    ({"grid": {"NUM_HIDDN": [1, 2]}}, "did you mean 'NUM_HIDDEN'"),
    ({"points": [{"ETA": "fast"}]}, "ETA"),
    ({"base": {"OUT_DIR": "x"}}, "sets these itself"),
    ({"base": {"WRITE_TO_DISK": False}}, "read from the files"),
    ({"grid": {"MODEL_SEED": [1, 2]}, "seeds": 2}, "from the sweep's seeds"),
    ({"grid": {"ETA": []}}, "non-empty list"),
    ({"mode": "test"}, "sweep mode"),
    ({"sedes": 3}, "unknown sweep entries"),
])
def test_a_wrong_sweep_is_refused_before_any_run(spec, match, tmp_path):
    with pytest.raises((KeyError, TypeError, ValueError), match=match):
        run_sweep(Sweep.from_dict({"benchmark": "yinyang", **spec}), tmp_path,
                  use_ray=False, progress=False)
    assert not any(p.is_dir() for p in tmp_path.iterdir())


# -- running, restarting, resuming ----------------------------------------------

def test_sequential_sweep_equals_direct_runs_and_restart_skips(tmp_path):
    sw = Sweep("yinyang", base=BASE, grid={"NUM_HIDDEN": [16, 24]}, seeds=[1, 2])
    res = run_sweep(sw, tmp_path / "sw", use_ray=False, progress=False)
    assert not res.failed and len(res.table) == 4
    df = pd.read_csv(tmp_path / "sw" / TABLE)
    assert list(df["NUM_HIDDEN"]) == [16, 16, 24, 24] and list(df["seed"]) == [1, 2, 1, 2]
    assert (df["status"] == "done").all() and not df["skipped"].any()
    assert (tmp_path / "sw" / PLOT).stat().st_size > 0
    for pt, row in zip(res.points, df.itertuples()):
        folder = tmp_path / "sw" / pt.name
        want = direct(pt.params, tmp_path / pt.name)
        pd.testing.assert_frame_equal(run_table(folder), want)
        assert row.final_test_acc == want["test_acc"].iloc[-1]
        assert row.epochs == 2 and row.time_s > 0
        saved = json.loads((folder / "run.json").read_text())
        assert saved["NUM_HIDDEN"] == pt.varied["NUM_HIDDEN"] and saved["N_THREADS"] == 1
        assert (folder / "run_checkpoint_last.npz").exists()
    stamps = {pt.name: (tmp_path / "sw" / pt.name / DONE).stat().st_mtime_ns
              for pt in res.points}
    again = run_sweep(sw, tmp_path / "sw", use_ray=False, progress=False)
    assert again.table["skipped"].all()
    pd.testing.assert_frame_equal(again.table.drop(columns=["skipped", "wall_s",
                                                            "resumed_from_epoch"]),
                                  res.table.drop(columns=["skipped", "wall_s",
                                                          "resumed_from_epoch"]))
    assert stamps == {pt.name: (tmp_path / "sw" / pt.name / DONE).stat().st_mtime_ns
                      for pt in res.points}


def test_interrupted_point_resumes_from_its_last_checkpoint(tmp_path):
    sw = Sweep("yinyang", base=BASE, grid={"NUM_HIDDEN": [16]}, seeds=[4])
    (pt,) = sw.expand()
    folder = tmp_path / "sw" / pt.name
    # what a run killed after its first epoch leaves: files and a checkpoint
    p = defaults()
    p.update(pt.params)
    p.update({"OUT_DIR": str(folder), "NAME": "run", "N_THREADS": 1, "N_EPOCHS": 1})
    YinYangModel(p).train_test(p)
    with pytest.warns(UserWarning, match="N_EPOCHS"):
        res = run_sweep(sw, tmp_path / "sw", use_ray=False, progress=False)
    rec = res.records[pt.name]
    assert rec["status"] == "done" and rec["resumed_from_epoch"] == 1
    pd.testing.assert_frame_equal(run_table(folder), direct(pt.params, tmp_path / "d"))
    assert json.loads((folder / DONE).read_text())["resumed"] is True


def test_started_point_without_checkpoint_starts_afresh(tmp_path):
    sw = Sweep("yinyang", base=BASE, seeds=[5])
    (pt,) = sw.expand()
    folder = tmp_path / "sw" / pt.name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")        # killed before its first epoch
    res = run_sweep(sw, tmp_path / "sw", use_ray=False, progress=False)
    assert res.records[pt.name]["status"] == "done"
    assert res.records[pt.name]["resumed_from_epoch"] is None
    pd.testing.assert_frame_equal(run_table(folder), direct(pt.params, tmp_path / "d"))


def test_more_epochs_later_continue_the_complete_points(tmp_path):
    one = Sweep("yinyang", base={**BASE, "N_EPOCHS": 1}, seeds=[6])
    run_sweep(one, tmp_path / "sw", use_ray=False, progress=False)
    two = Sweep("yinyang", base=BASE, seeds=[6])
    with pytest.warns(UserWarning, match="N_EPOCHS"):
        res = run_sweep(two, tmp_path / "sw", use_ray=False, progress=False)
    (pt,) = res.points
    assert res.records[pt.name]["resumed_from_epoch"] == 1
    assert res.table["epochs"].tolist() == [2]
    pd.testing.assert_frame_equal(run_table(tmp_path / "sw" / pt.name),
                                  direct(pt.params, tmp_path / "d"))


def test_a_failing_point_is_recorded_and_the_others_run(tmp_path, capsys):
    spec = {"benchmark": "yinyang", "base": {**BASE, "N_EPOCHS": 1},
            "points": [{"NUM_HIDDEN": 16}, {"REC_NEURONS": [["nope", "V"]]},
                       {"NUM_HIDDEN": 24}], "seeds": 1}
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(spec))
    from train_scripts.sweep import main
    rc = main(["yinyang", str(path), "--out", str(tmp_path / "sw"), "--no-ray",
               "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "FAILED REC_NEURONS-nope+V_seed-1" in err and "nope" in err
    df = pd.read_csv(tmp_path / "sw" / TABLE)
    assert df["status"].tolist() == ["done", "failed", "done"]
    assert "nope" in df["error"][1] and df["final_test_acc"].notna().tolist() == \
        [True, False, True]
    error = json.loads((tmp_path / "sw" / "REC_NEURONS-nope+V_seed-1" / ERROR).read_text())
    assert "nope" in error["error"] and "Traceback" in error["traceback"]
    # run again: the done points are skipped, the failed one is tried again
    res = run_sweep(load(path), tmp_path / "sw", use_ray=False, progress=False)
    assert res.table["skipped"].tolist() == [True, False, True]
    assert len(res.failed) == 1


def test_command_line_grid_seeds_and_overrides(tmp_path, capsys):
    from train_scripts.sweep import main
    rc = main(["yinyang", "--grid", "NUM_HIDDEN=[16,24]", "--seeds", "1,3",
               "N_TRAIN=320", "N_TEST=96", "N_EPOCHS=1", "--out", str(tmp_path / "sw"),
               "--no-ray", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "sweep of 4 runs" in out and "NUM_HIDDEN-24_seed-3" in out
    spec = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert spec["grid"] == {"NUM_HIDDEN": [16, 24]} and spec["seeds"] == [1, 3]
    assert spec["base"]["N_EPOCHS"] == 1
    df = pd.read_csv(tmp_path / "sw" / TABLE)
    assert df["seed"].tolist() == [1, 3, 1, 3] and (df["epochs"] == 1).all()
    assert main(["yinyang", "--grid", "NUM_HIDDN=[1]", "--out", str(tmp_path / "x")]) == 2
    assert "NUM_HIDDEN" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_summary_follows_the_best_checkpoint_rule(tmp_path):
    rows = pd.DataFrame({"epoch": [0, 1, 2], "train_acc": [0.5, 0.9, 0.95],
                         "val_acc": [0.6, 0.8, 0.8], "test_acc": [0.55, 0.7, 0.75],
                         "time_s": [1.0, 2.0, 3.0], "best_on": ["val_acc"] * 3})
    rows.to_csv(tmp_path / "r.csv", index=False)
    s = summarise(tmp_path / "r.csv")
    assert s["best_epoch"] == 1 and s["best_val_acc"] == 0.8     # the first best
    assert s["test_acc_at_best"] == 0.7 and s["final_test_acc"] == 0.75
    assert s["final_val_acc"] == 0.8 and s["time_s"] == 6.0 and s["epochs"] == 3


def test_cv_parallel_without_ray_says_what_to_install(monkeypatch, tmp_path):
    import sweeps.tasks
    monkeypatch.setattr(sweeps.tasks, "ray_installed", lambda: False)
    monkeypatch.setattr("sweeps.runner.ray_installed", lambda: False)
    with pytest.raises(ImportError, match=r"\[ray\]"):
        sweeps.tasks.run_tasks(abs, [1], use_ray=True)
    assert sweeps.tasks.run_tasks(abs, [-1, -2], use_ray=False) == [1, 2]
    got = sweeps.tasks.run_tasks(int, ["1", "x"], use_ray=False)
    assert got[0] == 1 and isinstance(got[1], ValueError)
    with pytest.warns(UserWarning, match="Ray is not installed"):
        res = run_sweep(Sweep("yinyang", base={**BASE, "N_EPOCHS": 1}), tmp_path,
                        progress=False)
    assert np.isfinite(res.table["final_test_acc"][0])


def test_shd_sweep_with_validation_columns_and_model_kwargs(tmp_path):
    from tests.shd_files import write_vlen
    from tests.test_shd import N_CH, make_samples, params
    data = tmp_path / "data"
    data.mkdir()
    write_vlen(data / "shd_train.h5", *make_samples(3, seed=0))
    write_vlen(data / "shd_test.h5", *make_samples(1, seed=1))
    base = {k: v for k, v in params(data, tmp_path / "unused").items()
            if k in ("DATA_DIR", "DATA_CACHE_DIR", "TRIAL_MS", "N_BATCH",
                     "N_VALIDATE", "N_MAX_SPIKE", "INPUT_HIDDEN_MEAN",
                     "INPUT_HIDDEN_STD", "W_REPORT_INTERVAL")}
    sw = Sweep("shd", base={**base, "N_EPOCHS": 2}, grid={"NUM_HIDDEN": [12, 20]},
               seeds=[1], model_kwargs={"n_channels": N_CH})
    with pytest.warns(UserWarning, match="N_VALIDATE|N_TRAIN"):
        res = run_sweep(sw, tmp_path / "sw", use_ray=False, progress=False)
    assert not res.failed
    df = pd.read_csv(tmp_path / "sw" / TABLE)
    for col in ("final_val_acc", "best_val_acc", "final_test_acc", "test_acc_at_best"):
        assert df[col].notna().all(), col
    assert (df["best_on"] == "val_acc").all()
    for row in df.itertuples():
        runs = pd.read_csv(tmp_path / "sw" / row.point / "run_results.csv")
        assert row.final_val_acc == runs["val_acc"].iloc[-1]
        assert row.best_val_acc == runs["val_acc"].max()
        assert row.test_acc_at_best == runs["test_acc"][runs["val_acc"].idxmax()]
    assert (tmp_path / "sw" / PLOT).stat().st_size > 0
