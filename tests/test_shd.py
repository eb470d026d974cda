"""SHD/SSC simulator end to end on tiny synthetic HDF5 files written here.

The synthetic task: 4 classes, each a sweep of 3-spike bursts over its own
block of 10 of 40 channels (up or down), with timing jitter, 20 random
noise spikes, and a per-speaker channel shift / time stretch; 4 speakers.
Trials are 100 ms at 1 ms steps.
"""
import json

import numpy as np
import pandas as pd
import pytest

from params.shd import defaults
from simulators.base import neuron_major, run_trial_stepwise
from simulators.datasets import SpikeDataset
from simulators.shd import SHDModel, add_input_delays
from tests.shd_files import write_padded, write_vlen

# the synthetic files hold noise spikes past the 100 ms trials on purpose
pytestmark = [pytest.mark.filterwarnings("ignore:N_TRAIN="),
              pytest.mark.filterwarnings("ignore:.*lie at or after TRIAL_MS")]

N_CH = 40
N_CLASSES = 4
SPEAKERS = (3, 5, 8, 9)          # ids; ordinal indices 0..3


def make_samples(n_per, seed, speakers=SPEAKERS, trial_s=0.1):
    rng = np.random.default_rng(seed)
    samples, labels, spk = [], [], []
    w = N_CH // N_CLASSES
    for si, s in enumerate(speakers):
        sh = si % 3 - 1
        for c in range(N_CLASSES):
            for _ in range(n_per):
                order = np.arange(w) if c % 2 == 0 else np.arange(w)[::-1]
                t, u = [], []
                for i, ch in enumerate(order):
                    for r in range(3):
                        t.append((8 + 6 * i + 2 * r + rng.normal(0, 1.0)) * 1e-3
                                 * (1 + 0.05 * sh))
                        u.append(min(max(c * w + ch + sh, 0), N_CH - 1))
                t += list(rng.uniform(0, trial_s * 1.1, 20))   # some beyond the trial
                u += list(rng.integers(0, N_CH, 20))
                samples.append((np.abs(np.array(t)), np.array(u)))
                labels.append(c)
                spk.append(s)
    return samples, np.array(labels), np.array(spk)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """SHD files in the official (vlen) layout, SSC files padded in SSC/."""
    d = tmp_path_factory.mktemp("shd_data")
    write_vlen(d / "shd_train.h5", *make_samples(6, seed=0))
    write_vlen(d / "shd_test.h5", *make_samples(3, seed=1))
    (d / "SSC").mkdir()
    write_padded(d / "SSC" / "ssc_train.h5", *make_samples(5, seed=2))
    write_padded(d / "SSC" / "ssc_valid.h5", *make_samples(2, seed=3))
    write_padded(d / "SSC" / "ssc_test.h5", *make_samples(2, seed=4))
    return d


def params(data, out, **kw):
    p = defaults()
    p.update({"DATA_DIR": str(data), "DATA_CACHE_DIR": str(data / "cache"),
              "OUT_DIR": str(out), "TRIAL_MS": 100.0, "NUM_HIDDEN": 24,
              "N_BATCH": 8, "N_VALIDATE": 16, "N_EPOCHS": 1, "MODEL_SEED": 3,
              "N_MAX_SPIKE": 60, "INPUT_HIDDEN_MEAN": 0.3,
              "INPUT_HIDDEN_STD": 0.15, "ETA": 1e-2, "N_THREADS": 2,
              "W_REPORT_INTERVAL": 10000})
    p.update(kw)
    return p


def model(p, n_channels=N_CH):
    return SHDModel(p, n_channels=n_channels)


# -- data, splits, cache ----------------------------------------------------

def test_random_split_sizes_cache_and_classes(data, tmp_path):
    p = params(data, tmp_path, N_TRAIN=50, N_VALIDATE=20, N_TEST=30)
    m = model(p)
    tr, va, te = (m.datasets[k] for k in ("train", "validation", "test"))
    assert (len(tr), len(va), len(te)) == (50, 20, 30)
    assert m.n_classes == N_CLASSES and m.cfg.n_out == N_CLASSES
    assert m.cfg.n_in == N_CH and tr.n_units == N_CH
    for ds in (tr, va, te):
        ds.validate()
        assert ds.duration_ms == 100.0
        assert np.all(ds.times == np.floor(ds.times))    # on the 1 ms grid
    cached = sorted(f.name for f in (data / "cache").iterdir())
    assert any(f.startswith("shd_train_") for f in cached)
    assert any(f.startswith("shd_test_") for f in cached)
    # validation and training samples are distinct samples of the file
    full = m._load(p, "train")
    key = lambda ds: {tuple(ds.sample(i)[0][:5]) + tuple(ds.sample(i)[1][:5])
                      for i in range(len(ds))}
    assert not key(tr) & key(va) and len(full) == 96
    # N_VALIDATE = 0: no validation split; N_TRAIN caps
    q = params(data, tmp_path, N_VALIDATE=0, N_TRAIN=40)
    with pytest.warns(UserWarning, match="uses 40 of the 96"):
        m2 = model(q)
    assert m2.datasets["validation"] is None and len(m2.datasets["train"]) == 40
    res = m2.train(q)
    assert "val_acc" not in res["final"] and np.isfinite(res["final"]["train_loss"])
    with pytest.raises(ValueError, match="N_VALIDATE"):    # data are fixed at build
        m2.train(params(data, tmp_path, N_VALIDATE=5, N_TRAIN=40))


def test_speaker_split_reduced_classes_and_balance(data, tmp_path):
    p = params(data, tmp_path, EVALUATION="speaker", SPEAKER_LEFT=[1],
               REDUCED_CLASSES=[3, 1], BALANCE_EVAL_CLASSES=True)
    m = model(p)
    tr, va = m.datasets["train"], m.datasets["validation"]
    assert set(va.speakers) == {SPEAKERS[1]}
    assert SPEAKERS[1] not in set(tr.speakers)
    assert m.n_classes == 2 and set(tr.labels) == {0, 1}
    assert np.bincount(va.labels).tolist() == [6, 6]
    # class 3 sweeps down channels 30-39 (speaker shifts by at most 1)
    t, u = tr.sample(int(np.flatnonzero(tr.labels == 0)[0]))
    assert np.median(u) >= 28
    q = params(data, tmp_path, BALANCE_TRAIN_CLASSES=True, N_VALIDATE=10)
    m2 = model(q)
    counts = np.bincount(m2.training_data(q, 0).labels, minlength=N_CLASSES)
    assert len(set(counts)) == 1 and counts[0] > 0


def test_ssc_validation_set_and_padded_layout(data, tmp_path):
    p = params(data, tmp_path, DATASET="SSC", EVALUATION="validation_set")
    m = model(p)
    assert len(m.datasets["validation"]) == 4 * 4 * 2
    assert len(m.datasets["train"]) == 4 * 4 * 5 and len(m.datasets["test"]) == 32
    res = m.train(p)
    assert res["final"]["val_n"] == 32
    with pytest.raises(ValueError, match="ssc_valid"):
        model(params(data, tmp_path, EVALUATION="validation_set"))


def test_missing_files_and_bad_data_give_clear_errors(data, tmp_path):
    with pytest.raises(FileNotFoundError, match="shd_train.h5"):
        model(params(tmp_path / "nowhere", tmp_path))
    # SSC valid file missing
    d = tmp_path / "ssc"
    d.mkdir()
    for split in ("train", "test"):
        write_padded(d / f"ssc_{split}.h5", *make_samples(1, seed=0))
    with pytest.raises(FileNotFoundError, match="ssc_valid.h5"):
        model(params(d, tmp_path, DATASET="SSC", EVALUATION="validation_set"))
    # no speaker ids but a speaker split
    e = tmp_path / "nospk"
    e.mkdir()
    s, l, _ = make_samples(1, seed=0)
    write_vlen(e / "shd_train.h5", s, l, None)
    write_vlen(e / "shd_test.h5", s, l, None)
    with pytest.raises(ValueError, match="speaker"):
        model(params(e, tmp_path, EVALUATION="speaker"))
    with pytest.raises(ValueError, match="n_channels"):
        model(params(data, tmp_path), n_channels=20)


def test_normalise_spike_number(data, tmp_path):
    p = params(data, tmp_path, NORMALISE_SPIKE_NUMBER=True)
    m = model(p)
    target = int(m.train_raw.counts().min())
    for k in ("validation", "test"):
        assert m.datasets[k].counts().max() <= target
    ep0 = m.training_data(p, 0)
    assert np.all(ep0.counts() == np.minimum(m.train_raw.counts(), target))
    assert not np.array_equal(ep0.units, m.training_data(p, 1).units)


def test_chunked_neuron_major_layout(data, tmp_path):
    m = model(params(data, tmp_path))
    ds = m.datasets["train"]
    want = ds.to_neuron_major()
    for chunk in (1, 7, 1000):
        for a, b in zip(neuron_major(ds, chunk), want):
            assert np.array_equal(a, b) and a.dtype == b.dtype


def test_input_delay_copies(data, tmp_path):
    ds = SpikeDataset.from_lists([np.array([0.0, 5.0, 50.0])], [np.array([1, 2, 3])],
                                 [0], 4, 60.0)
    out = add_input_delays(ds, 2, 20.0)
    out.validate()
    assert out.n_units == 12
    got = sorted(zip(*[a.tolist() for a in out.sample(0)]))
    assert got == [(0.0, 1), (5.0, 2), (20.0, 5), (25.0, 6), (40.0, 9), (45.0, 10),
                   (50.0, 3)]          # 70 ms and 90 ms copies fall off the trial
    p = params(data, tmp_path, N_INPUT_DELAY=2, INPUT_DELAY=10.0)
    m = model(p)
    assert m.cfg.n_in == 3 * N_CH
    tr = m.datasets["train"]
    assert tr.n_units == 3 * N_CH and tr.units.max() >= 2 * N_CH
    assert np.isfinite(m.train(p)["final"]["train_loss"])


# -- augmentation --------------------------------------------------------------

def test_augmentation_fresh_each_epoch_reproducible_and_bounded(data, tmp_path):
    aug = {"random_shift": 3, "random_dilate": [0.9, 1.1], "ID_jitter": 1.0}
    p = params(data, tmp_path, AUGMENTATION=aug, N_EPOCHS=2)
    m = model(p)
    raw = m.train_raw
    a0, a1 = m.training_data(p, 0), m.training_data(p, 1)
    for a in (a0, a1):
        a.validate()
        assert np.array_equal(a.labels, raw.labels)
        assert a.n_units == N_CH and a.duration_ms == 100.0
    assert not np.array_equal(a0.units, a1.units)
    m2 = model(p)
    b0 = m2.training_data(p, 0)
    assert np.array_equal(a0.times, b0.times) and np.array_equal(a0.units, b0.units)
    val, test = m.on_device["validation"], m.on_device["test"]
    res = m.train(p)
    assert len(res["history"]) == 2
    assert m.on_device["train"] is m.training_data(p, 1)    # re-uploaded
    assert m.on_device["validation"] is val and m.on_device["test"] is test
    # blend fills the training set up to N_TRAIN
    q = params(data, tmp_path, AUGMENTATION={"blend": [0.5, 0.5]}, N_TRAIN=100,
               N_VALIDATE=16)
    mq = model(q)
    b = mq.training_data(q, 0)
    assert len(mq.train_raw) == 80 and len(b) == 100
    assert np.array_equal(b.labels[:80], mq.train_raw.labels)


def test_data_live_once_in_the_engine(data, tmp_path, monkeypatch):
    """Uploaded splits hand their events to the engine's sample store; an
    augmented epoch re-uploads only the training split, after the fixed ones;
    training is the same as with every split also held in Python."""
    p = params(data, tmp_path, AUGMENTATION={"random_shift": 3}, N_EPOCHS=2)
    m = model(p)
    assert all(not d.held for d in m.on_device.values())
    assert list(m.on_device) == ["validation", "test", "train"]
    test = m.on_device["test"]
    assert test.n_events and len(test.times) == test.n_events   # read back
    calls = []
    set_events = m.net.set_events
    monkeypatch.setattr(m.net, "set_events", lambda parts, **kw: (
        calls.append((len(parts), kw.get("keep", 0))), set_events(parts, **kw)))
    res = m.train(p)
    n_fixed = len(m.on_device["validation"]) + len(test)
    assert calls == [(1, n_fixed)]           # epoch 1's split alone
    assert not test.held and m.on_device["test"] is test
    monkeypatch.undo()
    monkeypatch.setattr(SpikeDataset, "release_events", lambda self, rb: None)
    q = params(data, tmp_path / "held", AUGMENTATION={"random_shift": 3},
               N_EPOCHS=2)
    m2 = model(q)
    assert all(d.held for d in m2.on_device.values())
    res2 = m2.train(q)
    for r, r2 in zip(res["history"], res2["history"]):
        for k in ("train_loss", "val_loss", "val_acc", "train_acc"):
            assert r[k] == r2[k], k
    for k, v in m.net.state_dict().items():
        np.testing.assert_array_equal(v, m2.net.state_dict()[k], err_msg=k)


# -- network variants ------------------------------------------------------------

LOSSES = ["first_spike", "first_spike_exp", "max", "sum", "sum_weigh_linear",
          "sum_weigh_exp", "sum_weigh_sigmoid", "sum_weigh_input", "avg_xentropy"]


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_an_epoch(data, tmp_path, loss):
    p = params(data, tmp_path, LOSS_TYPE=loss, WRITE_TO_DISK=False, N_TRAIN=48)
    row = model(p).train(p)["final"]
    assert row["train_n"] == 48 and row["val_n"] == 16
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])


@pytest.mark.parametrize("extra", [
    {"HIDDEN_NEURON_TYPE": "hetLIF", "OUTPUT_NEURON_TYPE": "hetLI"},
    {"HIDDEN_NEURON_TYPE": "ALIF", "B_INCR": 0.05, "TAU_B": 50.0},
    {"TRAIN_TAU": True, "TRAIN_TAU_OUTPUT": True, "RECURRENT": True,
     "HIDDEN_HIDDEN_MEAN": 0.0, "HIDDEN_HIDDEN_STD": 0.02},
    {"N_HID_LAYER": 2, "REG_TYPE": "simple", "PDROP_HIDDEN": 0.1,
     "HIDDEN_HIDDENFWD_MEAN": 0.1, "HIDDEN_HIDDENFWD_STD": 0.05},
    {"REG_TYPE": "Thomas1", "TRAIN_W_OUTPUT": False},
])
def test_neuron_types_and_structures_train(data, tmp_path, extra):
    p = params(data, tmp_path, WRITE_TO_DISK=False, N_TRAIN=48, **extra)
    m = model(p)
    w_out = m.net.get("w_out")
    row = m.train(p)["final"]
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    assert len(m.net.hidden) == p["N_HID_LAYER"]
    if extra.get("HIDDEN_NEURON_TYPE") == "hetLIF":
        tau = m.net.get("tau_m0")
        assert tau.std() > 1.0 and tau.min() >= p["MIN_TAU_M"]
    if "TRAIN_W_OUTPUT" in extra:
        assert np.array_equal(w_out, m.net.get("w_out"))


def test_learns_the_synthetic_task(data, tmp_path):
    p = params(data, tmp_path, N_EPOCHS=4, N_VALIDATE=24, NUM_HIDDEN=32)
    m = model(p)
    hist = m.train(p)["history"]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert max(r["val_acc"] for r in hist[-2:]) > 0.7          # chance is 0.25
    test = m.test(p)
    assert test["n"] == 48 and test["acc"] > 0.6
    saved = json.loads((tmp_path / "test_test.json").read_text())
    assert saved["acc"] == test["acc"]


# -- learning-rate schedule, rewiring ------------------------------------------------

def test_ema_schedule_follows_genn_eventprop(data, tmp_path):
    p = params(data, tmp_path, EMA_ALPHA1=0.5, EMA_ALPHA2=0.9, ETA_FAC=0.5,
               MIN_EPOCH_ETA_FIXED=2, ETA=1.0)
    m = model(p)
    accs = [0.3, 0.5, 0.6, 0.62, 0.4, 0.3, 0.3, 0.7, 0.8, 0.2, 0.2, 0.2]
    # the original's loop
    ema, slow, last, lr, want = 0.0, 0.0, 0, 1.0, []
    for epoch, a in enumerate(accs):
        ema = 0.5 * ema + 0.5 * a
        slow = 0.9 * slow + 0.1 * a
        if epoch - last > 2 and ema <= slow:
            lr *= 0.5
            last = epoch
        want.append(lr)
    got = []
    for epoch, a in enumerate(accs):
        m._schedule(p, {"epoch": epoch, "train_acc": 0.0, "val_acc": a})
        got.append(m.eta)
    assert got == want and want[-1] < 1.0


def test_rewire_silent_and_lift(data, tmp_path):
    p = params(data, tmp_path, REWIRE_SILENT=True, ETA=0.0, PDROP_INPUT=0.0)
    m = model(p)
    w = m.net.get("w_in0").reshape(N_CH, -1)
    w[:, :5] = -1.0                    # neurons 0-4 can never fire
    m.net.set("w_in0", w)
    row = m.train(p)["final"]
    assert row["hid0_rewired"] == 5 and row["train_hid0_silent"] == 5 / 24
    w2 = m.net.get("w_in0").reshape(N_CH, -1)
    assert np.array_equal(w2[:, 5:], w[:, 5:])
    new = w2[:, :5]
    assert abs(new.mean() - 0.3) < 0.05 and abs(new.std() - 0.15) < 0.05
    q = params(data, tmp_path / "lift", REWIRE_SILENT=True, REWIRE_LIFT=0.25,
               ETA=0.0, PDROP_INPUT=0.0)
    m2 = model(q)
    m2.net.set("w_in0", w)
    m2.train(q)
    w3 = m2.net.get("w_in0").reshape(N_CH, -1)
    np.testing.assert_allclose(w3[:, :5], -0.75)
    assert np.array_equal(w3[:, 5:], w[:, 5:])


# -- checkpoints ---------------------------------------------------------------------

def test_resume_with_augmentation_and_rewiring_is_exact(data, tmp_path):
    kw = dict(AUGMENTATION={"random_shift": 2, "ID_jitter": 1.0},
              REWIRE_SILENT=True, NORMALISE_SPIKE_NUMBER=True)
    a = params(data, tmp_path / "a", N_EPOCHS=3, **kw)
    ma = model(a)
    ma.train(a)
    full = ma.net.state_dict()
    b = params(data, tmp_path / "b", N_EPOCHS=2, **kw)
    model(b).train(b)
    b["N_EPOCHS"] = 3
    b["LOAD_LAST"] = True
    mb = model(b)
    res = mb.train(b)
    assert [r["epoch"] for r in res["history"]] == [2]
    resumed = mb.net.state_dict()
    for k in full:
        np.testing.assert_array_equal(full[k], resumed[k], err_msg=k)


def test_load_best_restores_the_best_epoch(data, tmp_path):
    p = params(data, tmp_path, N_EPOCHS=3, ETA=0.05)
    m = model(p)
    hist = m.train(p)["history"]
    best = int(np.argmax([r["val_acc"] for r in hist]))
    q = params(data, tmp_path, LOAD_BEST=True)
    m2 = model(q)
    out = m2.test(q)
    assert m2.epoch == best + 1 and out["n"] == 48


# -- recordings and outputs --------------------------------------------------------------

def test_rec_neurons_matches_default_path(data, tmp_path):
    kw = dict(N_EPOCHS=1, N_TRAIN=40, LOSS_TYPE="sum")
    p = params(data, tmp_path / "rec", REC_NEURONS=[["output", "V"], ["hidden", "V"]],
               REC_NEURONS_EPOCH_TRIAL=[[0, 1], [0, 3]], **kw)
    q = params(data, tmp_path / "plain", **kw)
    mp, mq = model(p), model(q)
    rp, rq = mp.train(p), mq.train(q)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert rp["final"][key] == rq["final"][key]
    sp, sq = mp.net.state_dict(), mq.net.state_dict()
    for k in sp:
        np.testing.assert_array_equal(sp[k], sq[k], err_msg=k)
    recs = rp["recordings"]["neurons"]
    assert [(r["epoch"], r["trial"]) for r in recs["output.V"]] == [(0, 1), (0, 3)]
    v = recs["output.V"][0]["values"]
    assert v.shape == (100, 8, N_CLASSES) and np.all(np.isfinite(v))
    assert np.abs(v).max() > 1e-3 and not np.allclose(v[10], v[60])
    h = recs["hidden.V"][0]["values"]
    assert h.shape == (100, 8, 24) and h.max() < p["V_THRESH"]
    samples = recs["output.V"][0]["samples"]
    assert len(samples) == 8 and np.all((samples >= 0) & (samples < 40))
    z = np.load(tmp_path / "rec" / "test_neurons_output_V.npz")
    np.testing.assert_array_equal(z["e0_t1"], v)
    bad = params(data, tmp_path, REC_NEURONS=[["output", "Vm"]],
                 REC_NEURONS_EPOCH_TRIAL=[[0, 1]], **kw)
    with pytest.raises(ValueError, match="no variable 'Vm'"):
        mp.train(bad)


def test_stepwise_trial_gives_the_readout_of_the_recorded_v(data, tmp_path):
    p = params(data, tmp_path, LOSS_TYPE="sum_weigh_exp", PDROP_INPUT=0.0)
    m = model(p)
    net, B = m.net, p["N_BATCH"]
    order = np.full(2 * B, -1)
    order[:B] = np.arange(B) + m.base["train"]
    net.set_order(order)
    state = net.state_dict()
    _, rec = run_trial_stepwise(net, 0, [("output", "V"), ("output", "I")])
    res = net.end_trial()
    v, i = rec[("output", "V")], rec[("output", "I")]
    # z = (1/T) sum_n g(t_n + dt/2) int_{step n} V: V integrated exactly over
    # each 1 ms step from its start values (I decays by alpha_s in a step)
    tm, ts = p["TAU_MEM"], p["TAU_SYN"]
    am, as_ = np.exp(-1.0 / tm), np.exp(-1.0 / ts)
    i0 = i / as_
    v0 = np.concatenate([np.zeros_like(v[:1]), v[:-1]])
    iv = v0 * tm * (1 - am) + i0 * ts / (tm - ts) * (tm * (1 - am) - ts * (1 - as_))
    t = np.arange(100) + 0.5
    z = np.einsum("n,nbk->bk", np.exp(-t / 100.0), iv) / 100.0
    np.testing.assert_allclose(res["z"], z, rtol=1e-4, atol=1e-6)
    # the same trial through the default path
    net.load_state_dict(state)
    net.run_trial(0)
    res2 = net.end_trial()
    np.testing.assert_array_equal(res["z"], res2["z"])
    assert res["label"].tolist() == m.datasets["train"].labels[:B].tolist()


def test_confusion_predictions_and_hidden_debug(data, tmp_path):
    p = params(data, tmp_path, N_EPOCHS=2, COLLECT_CONFUSION=True,
               REC_PREDICTIONS=True, DEBUG_HIDDEN_N=True, TRAIN_TAU=True,
               TAU_OUTPUT_EPOCH_TRIAL=[[1, 2]], W_OUTPUT_EPOCH_TRIAL=[[0, 1]])
    m = model(p)
    res = m.train(p)
    row = res["final"]
    conf = row["train_confusion"]
    assert conf.shape == (4, 4) and conf.sum() <= 80
    assert row["val_confusion"].sum() <= 16
    saved = np.load(tmp_path / "test_confusion_train_epochs.npy")
    assert saved.shape == (2, 4, 4) and np.array_equal(saved[1], conf)
    assert (tmp_path / "test_confusion_train_epochs.png").exists()
    assert (tmp_path / "test_confusion_validation_epochs.png").exists()
    preds = row["train_predictions"]
    assert preds.shape == (80, 3) and sorted(preds[:, 0]) == list(range(80))
    assert np.array_equal(preds[:, 1], m.datasets["train"].labels[preds[:, 0]])
    df = pd.read_csv(tmp_path / "test_predictions_train_epochs.csv")
    assert len(df) == 160 and list(df.columns) == ["epoch", "id", "label", "prediction"]
    assert set(df["epoch"]) == {0, 1}
    for k in ("neuron_rate_mean", "neuron_rate_max", "silent_frac",
              "sample_spikes_mean", "sample_spikes_max"):
        assert f"train_hid0_{k}" in row and f"val_hid0_{k}" in row
    assert row["train_hid0_neuron_rate_max"] >= row["train_hid0_neuron_rate_mean"]
    csv = pd.read_csv(tmp_path / "test_results.csv")
    assert "train_hid0_sample_spikes_std" in csv.columns
    taus = np.load(tmp_path / "test_tau_e1_t2.npz")
    assert taus["tau_m0"].shape == (24,)
    assert (tmp_path / "test_w_e0_t1.npz").exists()
    test = m.test(p)
    assert test["confusion"].sum() <= 48
    assert np.array_equal(np.load(tmp_path / "test_confusion_test.npy"), test["confusion"])
    assert (tmp_path / "test_confusion_test.png").exists()
    df = pd.read_csv(tmp_path / "test_predictions_test.csv")
    assert len(df) == 48 and df["epoch"].isna().all()
    assert test["predictions"].shape == (48, 3)


# -- cross-validation -------------------------------------------------------------

def test_cross_validation_leaves_one_speaker_out(data, tmp_path):
    p = params(data, tmp_path, N_EPOCHS=2, NAME="cv")
    m = model(p)
    initial = m.net.state_dict()
    seen, starts = [], []
    upload, train = m._upload, m._train

    def spy_upload(datasets):
        seen.append({k: None if v is None else set(v.speakers.tolist())
                     for k, v in datasets.items()})
        return upload(datasets)

    def spy_train(q, eval_split):
        starts.append(m.net.get("w_in0").copy())
        return train(q, eval_split)

    m._upload, m._train = spy_upload, spy_train
    res = m.cross_validate(p)
    folds = seen[:4]
    assert [f["validation"] for f in folds] == [{s} for s in SPEAKERS]
    for f in folds:
        assert not f["train"] & f["validation"] and len(f["train"]) == 3
    for w in starts:
        np.testing.assert_array_equal(w, initial["w_in0"])
    rows = res["rows"]
    assert len(rows) == 8 and [r["fold"] for r in rows] == [0, 0, 1, 1, 2, 2, 3, 3]
    df = pd.read_csv(tmp_path / "cv_crossval.csv")
    assert len(df) == 8 and {"fold", "speaker", "epoch", "val_acc"} <= set(df.columns)
    summary = json.loads((tmp_path / "cv_crossval_summary.json").read_text())
    finals = df[df["epoch"] == 1]["val_acc"].to_numpy()
    assert summary["n_folds"] == 4
    assert np.isclose(summary["mean_val_acc"], finals.mean())
    assert np.isclose(summary["std_val_acc"], finals.std())
    # afterwards: initial weights and the original splits again
    for k, v in m.net.state_dict().items():
        np.testing.assert_array_equal(v, initial[k], err_msg=k)
    assert m.on_device["train"] is m.datasets["train"]


def test_train_script(data, tmp_path, capsys):
    from train_scripts.train_shd import main
    rc = main([f"DATA_DIR=\"{data}\"", f"OUT_DIR=\"{tmp_path}\"", "TRIAL_MS=100",
               "NUM_HIDDEN=16", "N_EPOCHS=1", "N_VALIDATE=16", "N_MAX_SPIKE=60",
               f"DATA_CACHE_DIR=\"{data / 'cache'}\"", "--mode", "train"])
    assert rc == 0
    assert "final accuracy" in capsys.readouterr().out
