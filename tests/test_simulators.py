"""Simulators end to end on small configurations (Yin-Yang, MNIST)."""
import gzip
import json
import struct

import numpy as np
import pandas as pd
import pytest

from params.mnist import defaults as mnist_defaults
from params.yinyang import defaults as yinyang_defaults
from simulators.mnist import MNISTModel
from simulators.yinyang import YinYangModel


def small_yinyang(tmp_path, **kw):
    p = yinyang_defaults()
    p["N_TRAIN"] = 32 * 25
    p["N_TEST"] = 32 * 4
    p["N_EPOCHS"] = 3
    p["OUT_DIR"] = str(tmp_path)
    p["MODEL_SEED"] = 7
    p["W_REPORT_INTERVAL"] = 1000
    for k, v in kw.items():
        p[k] = v
    return p


def test_yinyang_learns_above_chance(tmp_path):
    p = small_yinyang(tmp_path, N_EPOCHS=4)
    res = YinYangModel(p).train_test(p)
    hist = res["history"]
    assert len(hist) == 4
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_acc"] > 0.6          # chance is 1/3
    df = pd.read_csv(tmp_path / "test_results.csv")
    assert list(df["epoch"]) == [0, 1, 2, 3]
    assert {"train_acc", "test_acc", "train_hid0_rate", "time_s"} <= set(df)
    saved = json.loads((tmp_path / "test.json").read_text())
    assert saved["N_EPOCHS"] == 4 and saved["LOSS_TYPE"] == "first_spike"


def test_recordings_are_returned_and_written(tmp_path):
    p = small_yinyang(tmp_path, N_EPOCHS=1, REC_SPIKES=["input", "hidden"],
                      REC_SPIKES_EPOCH_TRIAL=[[0, 2]],
                      REC_SYNAPSES=[["hid_to_out", "w"]],
                      REC_SYNAPSES_EPOCH_TRIAL=[[0, 3]],
                      W_OUTPUT_EPOCH_TRIAL=[[0, 5]])
    m = YinYangModel(p)
    rec = m.train(p)["recordings"]
    hid = rec["spikes"]["hidden"]
    assert len(hid) == 1 and hid[0]["trial"] == 2
    assert len(hid[0]["spikes"]) == p["N_BATCH"]
    inp = rec["spikes"]["input"][0]["spikes"]
    for t, i in inp:   # every Yin-Yang sample: 5 input spikes inside the trial
        assert len(t) == 5 and sorted(i) == [0, 1, 2, 3, 4]
        assert np.all((t >= 0) & (t < p["TRIAL_MS"]))
    for t, i in hid[0]["spikes"]:
        assert np.all(i < p["NUM_HIDDEN"]) and np.all(t < p["TRIAL_MS"])
    (e, t, w), = rec["synapses"]["hid_to_out.w"]
    assert (e, t) == (0, 3) and w.shape == (p["NUM_HIDDEN"] * 3,)
    assert set(rec["weights"]) == {(0, 5)}
    assert (tmp_path / "test_spikes_hidden.npz").exists()
    z = np.load(tmp_path / "test_spikes_input.npz")
    assert len(z["e0_t2_b0_t"]) == 5


def test_parameter_errors(tmp_path):
    p = small_yinyang(tmp_path)
    with pytest.raises(KeyError, match="did you mean 'TRIAL_MS'"):
        p["TRAIL_MS"] = 20.0
    m = YinYangModel(p)
    q = small_yinyang(tmp_path, NUM_HIDDEN=50)
    with pytest.raises(ValueError, match="NUM_HIDDEN"):
        m.train(q)
    q = small_yinyang(tmp_path / "none", LOAD_LAST=True)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        m.train(q)


def _write_idx(path, arr):
    arr = np.asarray(arr, np.uint8)
    magic = 0x0800 | arr.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d)
                                                  for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def fake_mnist(d, n_train=400, n_test=100, seed=0):
    """Two-class images: a bright bar on the left or on the right (+noise)."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)

    def make(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        img = (rng.random((n, 28, 28)) < 0.05) * 100
        for k, y in enumerate(labels):
            col = 3 + 2 * y
            img[k, 4:24, col:col + 2] = 255
        return img.astype(np.uint8), labels

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        img, lab = make(n)
        _write_idx(d / f"{prefix}-images-idx3-ubyte.gz", img)
        _write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", lab)


def test_mnist_trains_on_small_idx_files(tmp_path):
    fake_mnist(tmp_path / "data", n_train=2000)
    p = mnist_defaults()
    p.update({"DATA_DIR": str(tmp_path / "data"), "OUT_DIR": str(tmp_path),
              "N_TRAIN": 300, "N_VALIDATE": 64, "N_TEST": 64, "N_EPOCHS": 4,
              "NUM_HIDDEN": 64, "REDUCED_CLASSES": [1, 7], "LOSS_TYPE": "sum",
              "MODEL_SEED": 3, "COLLECT_CONFUSION": True})
    m = MNISTModel(p)
    res = m.train(p)
    last = res["history"][-1]
    assert last["val_n"] == 64
    assert last["val_acc"] > 0.75               # two classes: chance 0.5
    test = m.test(p)
    assert test["n"] == len(m.datasets["test"]) and test["acc"] > 0.75


def test_mnist_missing_files_name_them(tmp_path):
    p = mnist_defaults()
    p["DATA_DIR"] = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        MNISTModel(p)


def small_mnist(tmp_path, out, **kw):
    p = mnist_defaults()
    p.update({"DATA_DIR": str(tmp_path / "data"), "OUT_DIR": str(out),
              "N_TRAIN": 160, "N_VALIDATE": 32, "N_TEST": 32,
              "NUM_HIDDEN": 32, "REDUCED_CLASSES": [1, 7], "LOSS_TYPE": "sum",
              "MODEL_SEED": 3, "PDROP_INPUT": 0.2, "PDROP_HIDDEN": 0.1,
              "REG_TYPE": "simple"})
    p.update(kw)
    return p


def test_resume_gives_the_same_weights_as_one_run(tmp_path):
    """Shuffling, dropout noise, Adam state and epoch all survive a checkpoint."""
    fake_mnist(tmp_path / "data")
    a = small_mnist(tmp_path, tmp_path / "a", N_EPOCHS=3)
    m = MNISTModel(a)
    m.train(a)
    full = m.net.state_dict()

    b = small_mnist(tmp_path, tmp_path / "b", N_EPOCHS=2)
    MNISTModel(b).train(b)
    b["N_EPOCHS"] = 3
    b["LOAD_LAST"] = True
    m2 = MNISTModel(b)
    res = m2.train(b)
    assert [r["epoch"] for r in res["history"]] == [2]
    resumed = m2.net.state_dict()
    assert full["adam_t"] == resumed["adam_t"] > 0
    for k in full:
        np.testing.assert_array_equal(full[k], resumed[k], err_msg=k)
    rows = pd.read_csv(tmp_path / "b" / "test_results.csv")
    assert list(rows["epoch"]) == [0, 1, 2]
    # a different run (another seed) does differ: the test can fail
    c = small_mnist(tmp_path, tmp_path / "c", N_EPOCHS=3, TRAIN_DATA_SEED=5)
    m3 = MNISTModel(c)
    m3.train(c)
    assert not np.array_equal(m3.net.state_dict()["w_out"], full["w_out"])


def test_mnist_augmentation_shifts_each_epoch_and_resumes(tmp_path):
    """AUGMENTATION={"random_shift": 2}: every epoch trains on freshly
    shifted images (same counts, other pixels), reproducibly on resume."""
    fake_mnist(tmp_path / "data")
    a = small_mnist(tmp_path, tmp_path / "a", N_EPOCHS=2,
                    AUGMENTATION={"random_shift": 2})
    m = MNISTModel(a)
    raw = m.datasets["train"]
    e0, e1 = m.training_data(a, 0), m.training_data(a, 1)
    assert len(e0) == len(raw) and np.array_equal(e0.labels, raw.labels)
    assert not np.array_equal(e0.units, raw.units[:len(e0.units)])
    assert not np.array_equal(e0.units, e1.units[:len(e0.units)])
    m.train(a)
    full = m.net.state_dict()
    b = small_mnist(tmp_path, tmp_path / "b", N_EPOCHS=1,
                    AUGMENTATION={"random_shift": 2})
    MNISTModel(b).train(b)
    b.update(N_EPOCHS=2, LOAD_LAST=True)
    m2 = MNISTModel(b)
    m2.train(b)
    for k in full:
        np.testing.assert_array_equal(full[k], m2.net.state_dict()[k], err_msg=k)
    plain = small_mnist(tmp_path, tmp_path / "c", N_EPOCHS=2)
    m3 = MNISTModel(plain)
    m3.train(plain)
    assert not np.array_equal(m3.net.state_dict()["w_out"], full["w_out"])
    with pytest.raises(ValueError, match="ID_jitter"):
        small_mnist(tmp_path, tmp_path, AUGMENTATION={"ID_jitter": 2})


@pytest.mark.parametrize("loss,extra", [
    ("first_spike", {}), ("first_spike_exp", {}), ("max", {"RECURRENT": True}),
    ("avg_xentropy", {"REG_TYPE": "Thomas1"}),
    ("sum", {"REG_TYPE": "simple", "AVG_SNSUM": True}),
])
def test_mnist_parameter_paths_run(tmp_path, loss, extra):
    fake_mnist(tmp_path / "data", n_train=300)
    p = small_mnist(tmp_path, tmp_path, N_EPOCHS=1, LOSS_TYPE=loss,
                    REDUCED_CLASSES=None, N_TRAIN=64, NUM_HIDDEN=16, **extra)
    if loss.startswith("first_spike"):
        p["HIDDEN_OUTPUT_MEAN"] = 1.0
    m = MNISTModel(p)
    row = m.train(p)["history"][0]
    assert np.isfinite(row["train_loss"]) and row["train_n"] == 64
    assert m.net.cfg.loss == loss and m.net.cfg.n_out == 10
    if extra.get("RECURRENT"):
        assert "w_rec0" in m.net.trained
    if "REG_TYPE" in extra:
        assert m.net.cfg.hidden[0].reg == ("avg" if extra.get("AVG_SNSUM")
                                           else extra["REG_TYPE"])


def test_plots_are_drawn_to_files(tmp_path):
    p = small_yinyang(tmp_path, N_EPOCHS=2, TRAINING_PLOT=True,
                      TRAINING_PLOT_INTERVAL=1, FANCY_PLOTS=True,
                      REC_SPIKES=["hidden"], REC_SPIKES_EPOCH_TRIAL=[[1, 0]])
    YinYangModel(p).train_test(p)
    assert (tmp_path / "test_training.png").stat().st_size > 1000
    assert (tmp_path / "test_raster_hidden_e1_t0.png").stat().st_size > 1000


def test_evaluation_sees_every_spike_with_dropout_scaled_weights(tmp_path):
    """PDROP_INPUT / PDROP_HIDDEN drop spikes in training passes only. An
    evaluation pass sees every spike through weights scaled by the keep
    probability (the weight-scaling rule): it equals the test pass of a
    dropout-free model holding those scaled weights, and the trained weights
    come back exactly afterwards."""
    fake_mnist(tmp_path / "data")
    p = small_mnist(tmp_path, tmp_path / "a", N_EPOCHS=1, PDROP_INPUT=0.5,
                    PDROP_HIDDEN=0.3, WRITE_TO_DISK=False)
    a = MNISTModel(p)
    a.train(p)
    trained = a.net.state_dict()
    assert a.net.dropout_scaled() == {"w_in0": 0.5, "w_out": pytest.approx(0.7)}
    q = small_mnist(tmp_path, tmp_path / "b", N_EPOCHS=1, PDROP_INPUT=0.0,
                    PDROP_HIDDEN=0.0, WRITE_TO_DISK=False)
    b = MNISTModel(q)
    scaled = dict(trained, w_in0=trained["w_in0"] * 0.5, w_out=trained["w_out"] * 0.7)
    b.net.load_state_dict(scaled)
    ta, tb = a.test(p), b.test(q)
    assert ta["acc"] == tb["acc"] and ta["loss"] == pytest.approx(tb["loss"], rel=1e-5)
    assert ta["hid0_rate"] == pytest.approx(tb["hid0_rate"], rel=1e-6)
    after = a.net.state_dict()
    for k in trained:
        assert np.array_equal(trained[k], after[k]), k
    # a training pass drops input spikes: fewer hidden spikes than without
    b.net.load_state_dict(trained)
    tr_a = a._pass("train", p, learn=True, epoch=9).summary()
    tr_b = b._pass("train", q, learn=True, epoch=9).summary()
    assert tr_a["hid0_rate"] < 0.9 * tr_b["hid0_rate"]


def test_eta_warmup_ramps_the_first_updates(tmp_path):
    """Adam's first update moves each weight by about ETA (m/sqrt(v) = +-1);
    with ETA_WARMUP=4 the first update is a quarter of that, and the ramp
    goes on from the optimiser's step count when a run resumes."""
    def one_batch(out, **kw):
        p = small_yinyang(tmp_path / out, N_TRAIN=32, N_BATCH=32, N_EPOCHS=1,
                          ETA=0.004, ETA_DECAY=1.0, **kw)
        m = YinYangModel(p)
        w0 = m.net.state_dict()["w_in0"].copy()
        m.train(p)
        return m, p, m.net.state_dict()["w_in0"] - w0

    _, _, plain = one_batch("plain")
    m, p, warm = one_batch("warm", ETA_WARMUP=4)
    moved = np.abs(plain) > 1e-6
    assert moved.sum() >= 20
    # float32 weights: compare to a few ulps of the weights' size
    np.testing.assert_allclose(np.abs(plain[moved]), 0.004, atol=2e-5)
    np.testing.assert_allclose(warm[moved], plain[moved] / 4, atol=2e-5)
    # resumed: update 2 of the ramp (ETA / 2), not update 1 again
    w1 = m.net.state_dict()["w_in0"].copy()
    q = dict(p, N_EPOCHS=2, LOAD_LAST=True)
    m2 = YinYangModel(q)
    m2.train(q)
    step2 = m2.net.state_dict()["w_in0"] - w1
    assert m2.net.adam_steps == 2
    assert np.max(np.abs(step2)) <= 0.004 / 2 + 2e-5
    assert np.max(np.abs(step2)) > 0.004 / 4 * 1.5
