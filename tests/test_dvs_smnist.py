"""DVSGestureModel and SMNISTModel end to end on small learnable tasks
written in tonic's on-disk layouts (tests/tonic_files.py).

DVS: 3 classes of bars sweeping right, down or left over the sensor, 8
training users (2 lightings each) and 3 test users; 70 ms trials.
SMNIST: white blocks (even classes) or grey ones (odd) at 0.25 ms per pixel
(196 ms sequences).
"""
import json

import numpy as np
import pandas as pd
import pytest

from params.dvs_gesture import defaults as dvs_defaults
from params.smnist import defaults as smnist_defaults
from simulators.dvs_gesture import DVSGestureModel
from simulators.smnist import SMNISTModel
from tests.tonic_files import dvs_gesture_task, smnist_task

pytestmark = pytest.mark.filterwarnings("ignore:N_TRAIN=")

TRAIN_USERS = tuple(range(1, 9))


@pytest.fixture(scope="module")
def dvs_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("dvs")
    dvs_gesture_task(d, "train", TRAIN_USERS, 2, seed=0)
    dvs_gesture_task(d, "test", (24, 25, 26), 2, seed=1)
    return d


@pytest.fixture(scope="module")
def smnist_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("smnist")
    smnist_task(d, 64, 32, seed=0)
    return d


def dvs_params(data, out, **kw):
    p = dvs_defaults()
    p.update({"DATA_DIR": str(data), "DATA_CACHE_DIR": str(data / "cache"),
              "OUT_DIR": str(out), "TRIAL_MS": 70.0, "NUM_HIDDEN": 32, "N_BATCH": 8,
              "N_VALIDATE": 0, "N_EPOCHS": 1, "MODEL_SEED": 3, "N_MAX_SPIKE": 80,
              "N_THREADS": 1, "INPUT_HIDDEN_MEAN": 0.1, "INPUT_HIDDEN_STD": 0.05,
              "ETA": 5e-3, "W_REPORT_INTERVAL": 10000})
    p.update(kw)
    return p


def smnist_params(data, out, **kw):
    p = smnist_defaults()
    p.update({"DATA_DIR": str(data), "DATA_CACHE_DIR": str(data / "cache"),
              "OUT_DIR": str(out), "PIXEL_MS": 0.25, "TRIAL_MS": 196.0, "NUM_HIDDEN": 32,
              "N_BATCH": 8, "N_VALIDATE": 0, "N_EPOCHS": 1, "MODEL_SEED": 3,
              "N_MAX_SPIKE": 200, "N_THREADS": 1, "INPUT_HIDDEN_MEAN": 0.1,
              "INPUT_HIDDEN_STD": 0.05, "ETA": 1e-2, "W_REPORT_INTERVAL": 10000})
    p.update(kw)
    return p


# -- learning ---------------------------------------------------------------------

def test_dvs_gesture_learns_above_chance_with_confusion(dvs_data, tmp_path):
    p = dvs_params(dvs_data, tmp_path, N_EPOCHS=4, COLLECT_CONFUSION=True)
    m = DVSGestureModel(p)
    assert m.cfg.n_in == 2048 and m.cfg.n_out == 11 and m.n_classes == 11
    assert len(m.datasets["train"]) == 8 * 2 * 3 and len(m.datasets["test"]) == 18
    assert m.cfg.out_tau_m == p["TAU_MEM_OUTPUT"]
    res = m.train_test(p)
    final = res["final"]
    # chance is 1/3 (three classes); the first epoch is near it
    assert res["history"][0]["train_acc"] < 0.6
    assert final["train_acc"] > 0.8 and final["test_acc"] > 0.7, final
    conf = m.test(p)["confusion"]
    assert conf.shape == (11, 11) and conf.sum() == 18
    assert np.trace(conf) > 0.7 * 18 and conf[3:].sum() == 0


def test_smnist_learns_above_chance_and_records(smnist_data, tmp_path):
    p = smnist_params(smnist_data, tmp_path, N_EPOCHS=5,
                      REC_NEURONS=[["output", "V"]], REC_NEURONS_EPOCH_TRIAL=[[0, 1]],
                      REC_SPIKES=["hidden"], REC_SPIKES_EPOCH_TRIAL=[[4, 0]])
    m = SMNISTModel(p)
    assert m.cfg.n_in == 99 and m.cfg.n_out == 10
    assert m.datasets["train"].duration_ms == 196.0
    res = m.train_test(p)
    final = res["final"]
    # two classes in the data (white or grey blocks): chance is 1/2
    assert res["history"][0]["train_acc"] < 0.6
    assert final["train_acc"] > 0.8 and final["test_acc"] > 0.75, final
    v = res["recordings"]["neurons"]["output.V"][0]["values"]
    assert v.shape == (196, 8, 10) and np.all(np.isfinite(v)) and np.abs(v).max() > 1e-3
    spikes = res["recordings"]["spikes"]["hidden"]
    assert [(r["epoch"], r["trial"]) for r in spikes] == [(4, 0)]
    for t, i in spikes[0]["spikes"]:
        assert np.all(i < 32) and np.all((t >= 0) & (t < 196.0))
    assert (tmp_path / "test_neurons_output_V.npz").exists()
    assert (tmp_path / "test_spikes_hidden.npz").exists()


# -- users, augmentation, checkpoints ---------------------------------------------

def test_dvs_user_split_and_leave_one_user_out(dvs_data, tmp_path):
    p = dvs_params(dvs_data, tmp_path, EVALUATION="speaker", SPEAKER_LEFT=[2, 5],
                   N_VALIDATE=1, NAME="cv")     # N_VALIDATE=0 would mean no validation
    m = DVSGestureModel(p)
    tr, va = m.datasets["train"], m.datasets["validation"]
    assert set(va.speakers) == {3, 6} and not set(tr.speakers) & {3, 6}
    assert len(va) == 12 and len(tr) == 36
    res = m.cross_validate(p)
    summary = res["summary"]
    assert summary["n_folds"] == 8 and summary["speakers"] == list(TRAIN_USERS)
    df = pd.read_csv(tmp_path / "cv_crossval.csv")
    assert df["speaker"].tolist() == list(TRAIN_USERS)
    assert (df["n_val"] == 6).all() and (df["n_train"] == 42).all()
    saved = json.loads((tmp_path / "cv_crossval_summary.json").read_text())
    assert np.isclose(saved["mean_val_acc"], df["val_acc"].mean())


def test_dvs_augmentation_fresh_each_epoch_and_resume_is_exact(dvs_data, tmp_path):
    aug = {"random_shift": 2, "time_shift": 3.0, "random_dilate": [0.9, 1.1]}
    p = dvs_params(dvs_data, tmp_path / "a", N_EPOCHS=3, AUGMENTATION=aug)
    m = DVSGestureModel(p)
    raw = m.train_raw
    e0, e1 = m.training_data(p, 0), m.training_data(p, 1)
    assert not np.array_equal(e0.units, e1.units)
    again = DVSGestureModel(dvs_params(dvs_data, tmp_path / "x", AUGMENTATION=aug))
    np.testing.assert_array_equal(again.training_data(p, 1).units, e1.units)
    for ds in (e0, e1):
        ds.validate()
        assert np.array_equal(ds.labels, raw.labels) and ds.n_events <= raw.n_events
        assert np.all(ds.units % 2 == 0) == np.all(raw.units % 2 == 0)
    m.train(p)
    full = m.net.state_dict()
    b = dvs_params(dvs_data, tmp_path / "b", N_EPOCHS=2, AUGMENTATION=aug)
    DVSGestureModel(b).train(b)
    b["N_EPOCHS"] = 3
    b["LOAD_LAST"] = True
    mb = DVSGestureModel(b)
    res = mb.train(b)
    assert [r["epoch"] for r in res["history"]] == [2]
    for k, v in mb.net.state_dict().items():
        np.testing.assert_array_equal(full[k], v, err_msg=k)
    # another seed's augmentation gives other weights: the comparison can fail
    c = dvs_params(dvs_data, tmp_path / "c", N_EPOCHS=3, AUGMENTATION=aug,
                   TRAIN_DATA_SEED=7)
    mc = DVSGestureModel(c)
    mc.train(c)
    assert not np.array_equal(mc.net.state_dict()["w_in0"], full["w_in0"])


# -- errors and command lines ----------------------------------------------------

def test_errors_name_the_problem(dvs_data, smnist_data, tmp_path):
    with pytest.raises(FileNotFoundError, match="ibmGestureTrain"):
        DVSGestureModel(dvs_params(tmp_path / "nowhere", tmp_path))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        SMNISTModel(smnist_params(tmp_path / "nowhere", tmp_path))
    p = dvs_defaults()
    with pytest.raises(KeyError, match="TRIAL_MS"):
        p["TRAIL_MS"] = 100.0
    with pytest.raises(KeyError, match="N_EPOCHS"):
        p["N_EPOCH"] = 3
    with pytest.raises(ValueError, match="ID_jitter"):
        p["AUGMENTATION"] = {"ID_jitter": 2}
    with pytest.raises(ValueError, match="pixels"):
        p["AUGMENTATION"] = {"random_shift": 1.5}
    with pytest.raises(ValueError, match="ordinal user"):
        p["SPEAKER_LEFT"] = [29]
    with pytest.raises(ValueError, match="not implemented"):
        p["HIDDEN_NOISE"] = 0.1
    with pytest.raises(ValueError, match="download=True"):
        p["DOWNLOAD_SHD"] = True
    with pytest.raises(ValueError, match="EVALUATION"):
        smnist_defaults()["EVALUATION"] = "speaker"
    # a speaker split on users that are not there
    with pytest.raises(ValueError, match="out of range"):
        DVSGestureModel(dvs_params(dvs_data, tmp_path, EVALUATION="speaker",
                                   SPEAKER_LEFT=[12], N_VALIDATE=1))
    # data fixed at build; no writers to cross-validate over
    m = SMNISTModel(smnist_params(smnist_data, tmp_path))
    with pytest.raises(ValueError, match="writer"):
        m.cross_validate(smnist_params(smnist_data, tmp_path))
    with pytest.raises(ValueError, match="PIXEL_MS"):
        m.train(smnist_params(smnist_data, tmp_path, PIXEL_MS=0.5))


def test_train_scripts(dvs_data, smnist_data, tmp_path, capsys):
    from train_scripts.train_dvs_gesture import main as dvs_main
    from train_scripts.train_smnist import main as smnist_main
    common = ["NUM_HIDDEN=16", "N_EPOCHS=1", "N_VALIDATE=0", "N_BATCH=8", "N_THREADS=1",
              "INPUT_HIDDEN_MEAN=0.1",
              "--mode", "train"]
    rc = dvs_main([f"DATA_DIR=\"{dvs_data}\"", f"OUT_DIR=\"{tmp_path / 'd'}\"",
                   "TRIAL_MS=70", "N_MAX_SPIKE=80",
                   f"DATA_CACHE_DIR=\"{dvs_data / 'cache'}\""] + common)
    assert rc == 0
    rc = smnist_main([f"DATA_DIR=\"{smnist_data}\"", f"OUT_DIR=\"{tmp_path / 's'}\"",
                      "TRIAL_MS=196", "PIXEL_MS=0.25", "N_MAX_SPIKE=200",
                      f"DATA_CACHE_DIR=\"{smnist_data / 'cache'}\""] + common)
    assert rc == 0
    assert capsys.readouterr().out.count("final accuracy") == 2
    rc = smnist_main([f"DATA_DIR=\"{tmp_path / 'none'}\""])
    assert rc == 2 and "train-images-idx3-ubyte" in capsys.readouterr().err
    rc = dvs_main([f"DATA_DIR=\"{tmp_path / 'none'}\""])
    assert rc == 2 and "ibmGestureTrain" in capsys.readouterr().err
    # the same for SHD: missing data are read when the model is built
    from train_scripts.train_shd import main as shd_main
    rc = shd_main([f"DATA_DIR=\"{tmp_path / 'none'}\""])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "shd_train.h5" in err


ORIGINAL_KEYS = """NAME DEBUG_HIDDEN_N OUT_DIR DT_MS BUILD TIMING TRAIN_DATA_SEED TEST_DATA_SEED
MODEL_SEED TRIAL_MS N_MAX_SPIKE N_BATCH N_TRAIN N_VALIDATE SHUFFLE NUM_HIDDEN RECURRENT
TAU_SYN TAU_MEM TAU_MEM_OUTPUT V_THRESH V_RESET INPUT_HIDDEN_MEAN INPUT_HIDDEN_STD
HIDDEN_OUTPUT_MEAN HIDDEN_OUTPUT_STD HIDDEN_HIDDEN_MEAN HIDDEN_HIDDEN_STD PDROP_INPUT
PDROP_HIDDEN REG_TYPE LBD_UPPER LBD_LOWER NU_UPPER RHO_UPPER GLB_UPPER ETA ADAM_BETA1
ADAM_BETA2 ADAM_EPS W_OUTPUT_EPOCH_TRIAL SPK_REC_STEPS REC_SPIKES_EPOCH_TRIAL REC_SPIKES
REC_NEURONS_EPOCH_TRIAL REC_NEURONS REC_SYNAPSES_EPOCH_TRIAL REC_SYNAPSES WRITE_TO_DISK
LOAD_LAST LOSS_TYPE EVALUATION CUDA_VISIBLE_DEVICES AVG_SNSUM REDUCED_CLASSES AUGMENTATION
DOWNLOAD_SHD COLLECT_CONFUSION REC_PREDICTIONS TAU_0 TAU_1 ALPHA TAU_ACCUMULATOR
HIDDEN_NOISE SPEAKER_LEFT""".split()


@pytest.mark.parametrize("defaults, extra", [(dvs_defaults, []),
                                             (smnist_defaults, ["NU_LOWER", "REWIRE_SILENT"])])
def test_the_originals_keys_are_kept(defaults, extra):
    """Every key of genn_eventprop's simulator_DVS_gesture.py / simulator_SMNIST.py
    dicts (N_EPOCH is N_EPOCHS here, as for the other benchmarks)."""
    p = defaults()
    assert [k for k in ORIGINAL_KEYS + extra if k not in p] == []
    assert p["LOSS_TYPE"] == "sum_weigh_exp" and p["SPEAKER_LEFT"] == [0]
    p["SPEAKER_LEFT"] = 3           # the original's bare int
    assert p["SPEAKER_LEFT"] == [3]
