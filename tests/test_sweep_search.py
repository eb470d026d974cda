"""The optional Optuna search (sweeps/search.py) in this process: trials are
sweep points, the study survives a restart, and a test accuracy never
chooses (skipped where optuna is not installed)."""
import json

import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

from sweeps.search import PLOT, TABLE, Search, run_search  # noqa: E402
from tests.test_sweep import direct, run_table  # noqa: E402

SPACE = {"ETA": {"low": 1e-3, "high": 1e-2, "log": True},
         "NUM_HIDDEN": {"low": 16, "high": 32, "step": 16}}
BASE = {"N_TRAIN": 320, "N_TEST": 96, "N_EPOCHS": 2, "W_REPORT_INTERVAL": 1000,
        "MODEL_SEED": 1}


def search(**kw):
    return Search.from_dict({"benchmark": "yinyang", "base": BASE, "space": SPACE,
                             "trials": 3, "metric": "final_train_acc", "seed": 2,
                             **kw})


def test_trials_are_sweep_points_and_a_restart_goes_on(tmp_path):
    study = run_search(search(parallel=2), tmp_path, use_ray=False, progress=False)
    assert len(study.trials) == 3
    df = pd.read_csv(tmp_path / TABLE)
    assert (df["state"] == "COMPLETE").all() and len(df) == 3
    assert (tmp_path / PLOT).stat().st_size > 0
    for row in df.itertuples():     # each trial: its run, as if run directly
        params = dict(BASE, ETA=row.ETA, NUM_HIDDEN=row.NUM_HIDDEN)
        want = direct(params, tmp_path / f"direct{row.number}")
        pd.testing.assert_frame_equal(run_table(tmp_path / row.point), want)
        assert row.final_train_acc == want["train_acc"].iloc[-1]
    assert study.best_value == df["final_train_acc"].max()
    # a driver stopped with a trial running: that trial's values run again
    stale = optuna.load_study(study_name="search",
                              storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    stale.enqueue_trial({"ETA": 0.005, "NUM_HIDDEN": 32})
    stale.ask(search().distributions())     # left RUNNING
    study = run_search(search(trials=4), tmp_path, use_ray=False, progress=False)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE"] * 3 + ["FAIL", "COMPLETE"]
    assert study.trials[-1].params == {"ETA": 0.005, "NUM_HIDDEN": 32}


@pytest.mark.filterwarnings("ignore:Choices for a categorical")
def test_a_failing_trial_counts_and_is_recorded(tmp_path):
    s = search(space={"REC_NEURONS": {"choices": [[["nope", "V"]]]}}, trials=2)
    study = run_search(s, tmp_path, use_ray=False, progress=False)
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL"]
    assert "nope" in study.trials[0].user_attrs["error"]
    # Yin-Yang has no validation split: a trial without the metric fails too
    study = run_search(search(metric="best_val_acc", trials=1), tmp_path / "v",
                       use_ray=False, progress=False)
    assert study.trials[0].state.name == "FAIL"
    assert "no best_val_acc" in study.trials[0].user_attrs["error"]


@pytest.mark.parametrize("kw,match", [
    ({"metric": "final_test_acc"}, "test accuracy must not choose"),
    ({"space": {"ETA": {"low": 1e-3}}}, "give low and high"),
    ({"space": {"NUM_HIDDN": {"low": 1, "high": 2}}}, "NUM_HIDDEN"),
    ({"space": {"ETA": {"low": -1.0, "high": 1.0}}}, "ETA"),
    ({"space": {"OUT_DIR": {"choices": ["a"]}}}, "sets these itself"),
])
def test_a_wrong_search_is_refused(kw, match):
    with pytest.raises((KeyError, TypeError, ValueError), match=match):
        search(**kw)


def test_command_line_runs_a_search_file(tmp_path, capsys):
    from train_scripts.sweep import main
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"base": BASE, "space": SPACE, "trials": 1,
                                "metric": "final_train_acc"}))
    rc = main(["yinyang", str(path), "--trials", "2", "--out", str(tmp_path / "s"),
               "--no-ray", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert "best final_train_acc" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "s" / TABLE)) == 2
    with pytest.raises(SystemExit) as stop:
        main(["yinyang", str(path), "--grid", "ETA=[1]", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2 and "takes no grid" in capsys.readouterr().err
