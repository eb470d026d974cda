"""Runs you can trust (issue 12): what a run leaves in OUT_DIR belongs to that
run, a resume continues exactly that run, and nothing is chosen on the test set.

Small Yin-Yang runs on one network shape (built once per session); scores
are scripted through ``end_of_epoch`` where a test needs a given order of
accuracies.
"""
import json
import os
import socket
import subprocess
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from params.mnist import defaults as mnist_defaults
from params.yinyang import defaults as yinyang_defaults
from simulators import outputs
from simulators.base import Simulator
from simulators.datasets.yinyang import yinyang_dataset
from simulators.outputs import RunLockedError
from simulators.yinyang import YinYangModel

N_HIDDEN = 24


def small(out, **kw):
    p = yinyang_defaults()
    p.update({"N_TRAIN": 64, "N_TEST": 32, "N_EPOCHS": 1, "OUT_DIR": str(out),
              "MODEL_SEED": 7, "NUM_HIDDEN": N_HIDDEN, "W_REPORT_INTERVAL": 1000,
              "N_THREADS": 1})
    p.update(kw)
    return p


def scripted(m, **scores):
    """Make epoch e's row report scores[key][e] (e.g. train_acc=[...])."""
    def end_of_epoch(p, epoch, train_stats, row):
        for key, values in scores.items():
            assert key in row, (key, sorted(row))
            row[key] = values[epoch]
    m.end_of_epoch = end_of_epoch
    return m


def meta(out, kind, name="test"):
    with np.load(out / f"{name}_checkpoint_{kind}.npz") as z:
        return json.loads(str(z["__meta__"]))


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def sleeper():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    child.kill()
    child.wait()


# -- 1. the last checkpoint knows the best score ------------------------------------

def test_resume_never_replaces_the_best_checkpoint_by_a_worse_model(tmp_path):
    acc = [0.5, 0.9, 0.7]
    p = small(tmp_path, N_EPOCHS=2)
    scripted(YinYangModel(p), train_acc=acc).train(p)
    assert meta(tmp_path, "last")["best"] == 0.9     # was 0.5: one epoch behind
    assert meta(tmp_path, "best")["epoch"] == 2
    p.update(N_EPOCHS=3, LOAD_LAST=True)
    with pytest.warns(UserWarning, match="N_EPOCHS"):
        scripted(YinYangModel(p), train_acc=acc).train(p)
    best = meta(tmp_path, "best")
    assert best["epoch"] == 2 and best["best"] == 0.9    # 0.7 < 0.9 stays out
    assert meta(tmp_path, "last")["epoch"] == 3


# -- 2. one run per NAME ----------------------------------------------------------------

def test_a_second_run_of_a_name_is_refused_and_overwrite_replaces_it(tmp_path):
    p = small(tmp_path)
    YinYangModel(p).train(p)
    csv_before = (tmp_path / "test_results.csv").read_bytes()
    best_before = (tmp_path / "test_checkpoint_best.npz").read_bytes()
    with pytest.raises(FileExistsError) as err:
        YinYangModel(p).train(p)
    msg = str(err.value)
    for text in ("test_results.csv", "test_checkpoint_last.npz", "test.json",
                 "another NAME", "LOAD_LAST=True", "OVERWRITE=True"):
        assert text in msg, (text, msg)
    assert (tmp_path / "test_results.csv").read_bytes() == csv_before
    assert (tmp_path / "test_checkpoint_best.npz").read_bytes() == best_before
    assert not (tmp_path / "test.lock").exists()          # released on the error
    # only checkpoints would be written: still the same run's files
    with pytest.raises(FileExistsError):
        YinYangModel(p).train(small(tmp_path, WRITE_TO_DISK=False))
    # writing nothing at all is no conflict
    YinYangModel(p).train(small(tmp_path, WRITE_TO_DISK=False, CHECKPOINT=False))
    # continuing from the best epoch would cut the run's later epochs
    with pytest.raises(FileExistsError, match="LOAD_BEST"):
        YinYangModel(p).train(small(tmp_path, LOAD_BEST=True))
    # OVERWRITE: the new run alone, also in the appended text log
    q = small(tmp_path, OVERWRITE=True, N_EPOCHS=2, MODEL_SEED=8)
    YinYangModel(q).train(q)
    assert list(pd.read_csv(tmp_path / "test_results.csv")["epoch"]) == [0, 1]
    txt = (tmp_path / "test_results.txt").read_text().splitlines()
    assert len(txt) == 3 and txt[0].startswith("# epoch")
    assert json.loads((tmp_path / "test.json").read_text())["MODEL_SEED"] == 8
    assert meta(tmp_path, "best")["p"]["MODEL_SEED"] == 8
    # another NAME in the same OUT_DIR is another run
    r = small(tmp_path, NAME="other")
    YinYangModel(r).train(r)


def test_a_live_run_of_the_name_holds_the_lock(tmp_path, sleeper):
    p = small(tmp_path)
    m = YinYangModel(p)
    lock = tmp_path / "test.lock"
    lock.write_text(f"{sleeper.pid} {socket.gethostname()}\n")
    with pytest.raises(RunLockedError, match=str(sleeper.pid)):
        m.train(p)
    with pytest.raises(RunLockedError):
        m.test(p)
    assert lock.read_text().split()[0] == str(sleeper.pid)    # not taken
    assert not (tmp_path / "test_results.csv").exists()
    # a lock from another host cannot be checked: refused, with a way out
    lock.write_text(f"{dead_pid()} elsewhere.example\n")
    with pytest.raises(RunLockedError, match="delete the lock file"):
        m.train(p)


def test_a_stale_lock_is_taken_over_and_the_lock_held_during_the_run(tmp_path):
    p = small(tmp_path)
    m = YinYangModel(p)
    lock = tmp_path / "test.lock"
    pid = dead_pid()
    lock.write_text(f"{pid} {socket.gethostname()}\n")
    held = []

    def end_of_epoch(q, epoch, train_stats, row):
        held.append(lock.read_text().split()[0])
    m.end_of_epoch = end_of_epoch
    with pytest.warns(UserWarning, match=f"stale lock.*{pid}"):
        m.train(p)
    assert held == [str(os.getpid())]
    assert not lock.exists()
    p["LOAD_BEST"] = True
    m.test(p)                            # the lock was released: test runs
    assert not lock.exists()


def test_lock_is_exclusive_within_a_process(tmp_path):
    p = {"OUT_DIR": str(tmp_path), "NAME": "x"}
    with outputs.RunLock(p):
        with pytest.raises(RunLockedError, match=str(os.getpid())):
            outputs.RunLock(p).acquire()
    with outputs.RunLock(p):             # released: can be taken again
        pass
    assert not (tmp_path / "x.lock").exists()


# -- 3. a crash between the result row and the checkpoint --------------------------------

def test_resume_after_a_crash_before_the_checkpoint_keeps_each_epoch_once(
        tmp_path, monkeypatch):
    p = small(tmp_path, N_EPOCHS=2, REC_PREDICTIONS=True)
    save = outputs.Checkpoints.save

    class Killed(Exception):
        pass

    def crash_in_epoch_1(self, kind, state):
        if state["meta"]["epoch"] == 2:
            raise Killed("between the result row and the checkpoint")
        return save(self, kind, state)
    monkeypatch.setattr(outputs.Checkpoints, "save", crash_in_epoch_1)
    with pytest.raises(Killed):
        YinYangModel(p).train(p)
    monkeypatch.setattr(outputs.Checkpoints, "save", save)
    assert list(pd.read_csv(tmp_path / "test_results.csv")["epoch"]) == [0, 1]
    assert meta(tmp_path, "last")["epoch"] == 1
    assert not (tmp_path / "test.lock").exists()
    p["LOAD_LAST"] = True
    YinYangModel(p).train(p)
    assert list(pd.read_csv(tmp_path / "test_results.csv")["epoch"]) == [0, 1]
    rows = [ln.split()[0] for ln in
            (tmp_path / "test_results.txt").read_text().splitlines()
            if not ln.startswith("#")]
    assert rows == ["0", "1"]
    preds = pd.read_csv(tmp_path / "test_predictions_train_epochs.csv")
    assert preds.groupby("epoch").size().to_dict() == {0: 64, 1: 64}


def test_result_log_keeps_every_column_when_the_columns_change(tmp_path):
    p = small(tmp_path)
    log = outputs.ResultLog(p)
    log.write({"epoch": 0, "train_acc": 0.5})
    log.write({"epoch": 1, "train_acc": 0.6, "val_acc": 0.4})
    df = pd.read_csv(tmp_path / "test_results.csv")
    assert list(df.columns) == ["epoch", "train_acc", "val_acc"]
    assert df["val_acc"].isna().tolist() == [True, False]
    assert df["train_acc"].tolist() == [0.5, 0.6]


# -- 4. temporary files of interrupted writes -------------------------------------------

def test_stale_tmp_files_of_the_name_are_removed(tmp_path):
    dead, live = dead_pid(), os.getpid()
    stale = [tmp_path / f".test_results.csv.{dead}.tmp",
             tmp_path / f".test_checkpoint_last.npz.{dead}.tmp",
             tmp_path / f".test.json.{dead}.tmp"]
    kept = [tmp_path / f".test_results.csv.{live}.tmp",     # a live writer
            tmp_path / f".other_results.csv.{dead}.tmp",    # another NAME
            tmp_path / f".testing_results.csv.{dead}.tmp"]  # NAME "testing"
    for f in stale + kept:
        f.write_text("half")
    p = small(tmp_path)
    YinYangModel(p).train(p)
    assert not any(f.exists() for f in stale)
    assert all(f.exists() for f in kept)


def test_a_failed_atomic_write_leaves_no_tmp_file(tmp_path):
    def write(tmp):
        tmp.write_text("half")
        raise OSError("disk full")
    with pytest.raises(OSError):
        outputs._atomic_write(tmp_path / "x.json", write)
    assert list(tmp_path.iterdir()) == []


# -- 5. the model seed is recorded ---------------------------------------------------------

def test_a_drawn_model_seed_is_recorded_and_reproduces_the_run(tmp_path):
    p = small(tmp_path, MODEL_SEED=None)
    m = YinYangModel(p)
    seed = m.p["MODEL_SEED"]
    assert isinstance(seed, int) and seed >= 1
    w0 = m.net.get("w_in0").copy()
    m.train(p)
    assert json.loads((tmp_path / "test.json").read_text())["MODEL_SEED"] == seed
    assert meta(tmp_path, "last")["p"]["MODEL_SEED"] == seed
    # the recorded seed builds the same network; another draw does not
    again = YinYangModel(small(tmp_path, MODEL_SEED=seed))
    np.testing.assert_array_equal(again.net.get("w_in0"), w0)
    other = YinYangModel(small(tmp_path, MODEL_SEED=None))
    assert other.p["MODEL_SEED"] != seed
    assert not np.array_equal(other.net.get("w_in0"), w0)
    # resuming with MODEL_SEED=None takes the checkpoint's seed
    q = small(tmp_path, MODEL_SEED=None, LOAD_LAST=True, N_EPOCHS=2)
    r = YinYangModel(q)
    assert r.p["MODEL_SEED"] == seed
    with pytest.warns(UserWarning, match="N_EPOCHS"):
        r.train(q)
    assert list(pd.read_csv(tmp_path / "test_results.csv")["epoch"]) == [0, 1]


# -- 6. resuming with other parameters -----------------------------------------------------

def test_resume_with_another_network_names_each_key(tmp_path):
    p = small(tmp_path)
    YinYangModel(p).train(p)
    q = small(tmp_path, LOAD_LAST=True, N_EPOCHS=2, NUM_HIDDEN=N_HIDDEN // 2)
    with pytest.raises(ValueError) as err:
        YinYangModel(q).train(q)
    msg = str(err.value)
    assert f"NUM_HIDDEN: {N_HIDDEN} in the checkpoint, {N_HIDDEN // 2} now" in msg
    assert "array w_in0" in msg and "reshape" not in msg
    # keys that change the network but not the arrays' shapes: the
    # checkpoint's own record of them is compared (here made to differ)
    for kind in ("last", "best"):
        path = tmp_path / f"test_checkpoint_{kind}.npz"
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        rec = json.loads(str(arrays["__meta__"]))
        rec["p"].update(DT_MS=0.2, LOSS_TYPE="first_spike_exp", MODEL_SEED=8,
                        N_BATCH=16)
        arrays["__meta__"] = np.array(json.dumps(rec))
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    q = small(tmp_path, LOAD_LAST=True, N_EPOCHS=2)
    m = YinYangModel(q)
    with pytest.raises(ValueError) as err:
        m.train(q)
    msg = str(err.value)
    for text in ("DT_MS: 0.2 in the checkpoint, 0.1 now",
                 "LOSS_TYPE: 'first_spike_exp' in the checkpoint, 'first_spike' now",
                 "MODEL_SEED: 8 in the checkpoint, 7 now",
                 "N_BATCH: 16 in the checkpoint, 32 now"):
        assert text in msg, (text, msg)
    assert m.epoch == 0                          # nothing was restored
    # a test checks what changes the network's output, not N_BATCH or the seed
    q["LOAD_LAST"], q["LOAD_BEST"] = False, True
    with pytest.raises(ValueError) as err:
        m.test(q)
    assert "DT_MS" in str(err.value) and "LOSS_TYPE" in str(err.value)
    assert "N_BATCH" not in str(err.value) and "MODEL_SEED" not in str(err.value)


def test_resume_with_another_eta_warns_and_records_what_is_used(tmp_path):
    p = small(tmp_path, ETA=0.004, ETA_DECAY=0.5)
    YinYangModel(p).train(p)
    q = small(tmp_path, ETA=0.01, ETA_DECAY=0.5, N_EPOCHS=2, LOAD_LAST=True,
              TRAIN_DATA_SEED=5)
    with pytest.warns(UserWarning) as rec:
        res = YinYangModel(q).train(q)
    msg = "\n".join(str(w.message) for w in rec)
    assert "ETA: 0.004 in the checkpoint, 0.01 now" in msg
    assert "scheduled learning rate 0.002 is used" in msg
    assert "TRAIN_DATA_SEED: 123 in the checkpoint, 5 now; 5 is used" in msg
    assert "N_EPOCHS: 1 in the checkpoint, 2 now; 2 is used" in msg
    assert "LOAD_LAST" not in msg and "OUT_DIR" not in msg
    assert res["history"][0]["eta"] == 0.002
    saved = json.loads((tmp_path / "test.json").read_text())
    assert saved["ETA"] == 0.004 and saved["TRAIN_DATA_SEED"] == 5
    assert meta(tmp_path, "last")["p"]["ETA"] == 0.004
    # the same parameters resume without a word
    q = small(tmp_path, ETA=0.004, ETA_DECAY=0.5, N_EPOCHS=2, LOAD_LAST=True,
              TRAIN_DATA_SEED=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        YinYangModel(q).train(q)


# -- 7. the test set chooses nothing ------------------------------------------------------

def test_train_test_chooses_the_best_epoch_on_the_validation_split(tmp_path):
    p = small(tmp_path, N_EPOCHS=2)
    class WithValidation(YinYangModel):
        def load_data(self, q):
            ds = super().load_data(q)
            ds["validation"] = yinyang_dataset(32, 99, trial_ms=q["TRIAL_MS"],
                                               dt_ms=q["DT_MS"])
            return ds
    m = WithValidation(p)
    scripted(m, val_acc=[0.9, 0.5], test_acc=[0.1, 0.95], train_acc=[0.2, 0.3])
    hist = m.train_test(p)["history"]
    assert meta(tmp_path, "best")["epoch"] == 1              # not epoch 2 (test)
    assert [r["best_on"] for r in hist] == ["val_acc", "val_acc"]
    assert all(r["val_n"] == 32 and r["test_n"] == 32 for r in hist)
    df = pd.read_csv(tmp_path / "test_results.csv")
    assert {"val_acc", "test_acc", "best_on"} <= set(df.columns)


def test_train_test_without_validation_says_it_chooses_on_training(tmp_path):
    p = small(tmp_path, N_EPOCHS=2)
    m = scripted(YinYangModel(p), train_acc=[0.9, 0.5], test_acc=[0.1, 0.95])
    hist = m.train_test(p)["history"]
    assert meta(tmp_path, "best")["epoch"] == 1
    assert hist[-1]["best_on"] == "train_acc"
    assert list(pd.read_csv(tmp_path / "test_results.csv")["best_on"]) == \
        ["train_acc", "train_acc"]


def test_learning_rate_schedule_never_reads_the_test_accuracy():
    p = mnist_defaults()
    sim = types.SimpleNamespace(eta=1.0, schedule={"ema1": None, "ema2": None,
                                                   "last_change": 0})
    row = {"epoch": 0, "train_acc": 0.25, "test_acc": 0.75}
    Simulator._schedule(sim, p, row)
    assert row["ema_fast"] == pytest.approx((1 - p["EMA_ALPHA1"]) * 0.25)
