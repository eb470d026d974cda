"""Data and parameters that would train nonsense (issue 12): each gives an
error naming the file, the sample and the rule (or the key), or, where
dropping is the documented choice (spikes after TRIAL_MS), a warning that
counts what is dropped.

The files are written (and damaged) by the tests; the simulators stop while
loading the data, before a network is built.
"""
import gzip

import h5py
import numpy as np
import pytest

from params.mnist import defaults as mnist_defaults
from params.shd import defaults as shd_defaults
from params.yinyang import defaults as yinyang_defaults
from simulators.datasets import load_shd
from simulators.datasets.mnist import load_mnist
from simulators.datasets.shd import DataError, LateSpikesWarning
from simulators.mnist import MNISTModel
from simulators.shd import SHDModel
from simulators.yinyang import YinYangModel
from tests.shd_files import write_padded, write_vlen
from tests.test_datasets_mnist import NAMES, write as write_idx

N_CH = 20


def shd_samples(n, seed, trial_s=0.05):
    rng = np.random.default_rng(seed)
    samples = [(np.sort(rng.uniform(0, trial_s * 0.9, 10)), rng.integers(0, N_CH, 10))
               for _ in range(n)]
    return samples, np.arange(n) % 4, np.repeat([1, 2], n // 2)


def shd_dir(path, train=None, test=None):
    path.mkdir(exist_ok=True)
    write_vlen(path / "shd_train.h5", *(train or shd_samples(8, 0)))
    write_vlen(path / "shd_test.h5", *(test or shd_samples(4, 1)))
    return path


def shd_params(d, **kw):
    p = shd_defaults()
    p.update({"DATA_DIR": str(d), "DATA_CACHE_DIR": str(d / "cache"), "OUT_DIR": str(d),
              "TRIAL_MS": 50.0, "NUM_HIDDEN": 8, "N_BATCH": 4, "N_VALIDATE": 0,
              "N_EPOCHS": 1, "MODEL_SEED": 1, "N_THREADS": 1})
    p.update(kw)
    return p


# -- SHD (HDF5) ---------------------------------------------------------------

def test_a_test_label_the_training_file_never_shows_is_an_error(tmp_path):
    samples, labels, speakers = shd_samples(4, 1)
    labels = labels.copy()
    labels[2] = 9                   # training labels are 0..3
    d = shd_dir(tmp_path / "d", test=(samples, labels, speakers))
    with pytest.raises(DataError, match=r"shd_test\.h5: sample 2 has label 9.*0\.\.3"):
        SHDModel(shd_params(d), n_channels=N_CH)


def test_classes_without_a_training_sample_are_reported(tmp_path):
    samples, labels, speakers = shd_samples(8, 0)
    labels = labels.copy()
    labels[3] = 40                  # a typo for 3 (classes 0..3)
    d = shd_dir(tmp_path / "d", train=(samples, labels, speakers))
    with pytest.warns(UserWarning, match=r"shd_train\.h5: labels run up to 40 \(sample 3\)"
                                         r", but 36 of the classes 0\.\.40 have no"):
        m = SHDModel(shd_params(d), n_channels=N_CH)
    assert m.n_classes == 41


def test_data_a_subclass_supplies_are_checked_without_files(tmp_path):
    """Data from an overridden _load (benchmarks, synthetic sets) have no
    file: the label check names the split instead of failing to find one."""
    from simulators.datasets import load_shd as _load_shd
    d = shd_dir(tmp_path / "d")
    p = shd_params(d)
    train = _load_shd(str(d), "SHD", "train", dt_ms=1.0, trial_ms=50.0)
    train.labels[:] = np.where(train.labels == 1, 3, train.labels)   # class 1 empty

    class FromMemory(SHDModel):
        def _load(self, q, split):
            return train if split == "train" else train.subset(np.arange(4))
    p["DATA_DIR"] = str(tmp_path / "nowhere")
    with pytest.warns(UserWarning, match=r"the train data: labels run up to 3"):
        FromMemory(p, n_channels=N_CH)


@pytest.mark.parametrize("fault,rule", [
    ("negative", "negative spike time"),
    ("nan", "spike time that is not a finite number"),
    ("unit", "unit id beyond the 700 input channels"),
])
def test_broken_spikes_name_the_file_the_sample_and_the_rule(tmp_path, fault, rule):
    samples, labels, speakers = shd_samples(8, 0)
    t, u = samples[5]
    t, u = t.copy(), u.copy()
    if fault == "negative":
        t[3] = -0.001
    elif fault == "nan":
        t[3] = np.nan
    else:
        u[3] = 700
    samples[5] = (t, u)
    d = shd_dir(tmp_path / "d", train=(samples, labels, speakers))
    with pytest.raises(DataError, match=rf"shd_train\.h5: sample 5 has (a )?{rule}"):
        load_shd(str(d), use_cache=False, trial_ms=50.0)


def test_a_unit_beyond_the_model_inputs_names_file_and_sample(tmp_path):
    samples, labels, speakers = shd_samples(8, 0)
    samples[6] = (samples[6][0], np.where(np.arange(10) == 4, N_CH + 3, samples[6][1]))
    d = shd_dir(tmp_path / "d", train=(samples, labels, speakers))
    with pytest.raises(DataError, match=rf"shd_train\.h5: sample 6 .*unit {N_CH + 3}"
                                        rf".*n_channels={N_CH}"):
        SHDModel(shd_params(d), n_channels=N_CH)


def test_padding_stays_a_documented_choice(tmp_path):
    """In the padded layout NaN times and negative units are padding."""
    write_padded(tmp_path / "shd_train.h5", *shd_samples(4, 0))
    ds = load_shd(str(tmp_path), use_cache=False, trial_ms=50.0)
    assert ds.n_events == 40


def test_n_validate_that_leaves_no_training_sample_is_an_error(tmp_path):
    d = shd_dir(tmp_path / "d")
    with pytest.raises(ValueError, match=r"N_VALIDATE=8 takes all 8 samples.*shd_train\.h5"):
        SHDModel(shd_params(d, N_VALIDATE=8), n_channels=N_CH)


def test_spikes_after_trial_ms_are_counted_in_a_warning(tmp_path):
    samples, labels, speakers = shd_samples(8, 0)
    for k in (1, 4):            # 3 late spikes in two samples
        t = samples[k][0].copy()
        t[-2 if k == 1 else -1:] = 0.06
        samples[k] = (t, samples[k][1])
    d = shd_dir(tmp_path / "d", train=(samples, labels, speakers))
    for _ in range(2):          # the second load comes from the cache
        with pytest.warns(LateSpikesWarning, match=r"shd_train\.h5: 3 of 80 spikes .*in 2 "
                                                   r"sample\(s\) lie at or after TRIAL_MS=50"):
            load_shd(str(d), trial_ms=50.0, cache_dir=str(d / "cache"))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no_labels"])
def test_a_corrupt_hdf5_file_is_named(tmp_path, damage):
    d = shd_dir(tmp_path / "d")
    path = d / "shd_train.h5"
    if damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"this is no HDF5 file" * 100)
    else:
        with h5py.File(path, "a") as f:
            del f["labels"]
    with pytest.raises(DataError, match=r"shd_train\.h5: not a readable SHD/SSC HDF5 file"):
        load_shd(str(d), use_cache=False, trial_ms=50.0)


# -- MNIST (IDX, gz) ------------------------------------------------------------

def mnist_dir(path, test_labels=(7, 2, 1)):
    rng = np.random.default_rng(0)
    write_idx(path / NAMES[0], rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), gz=True)
    write_idx(path / NAMES[1], np.array([0, 1, 2, 3, 4, 9], np.uint8))
    write_idx(path / NAMES[2], rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    write_idx(path / NAMES[3], np.array(test_labels, np.uint8), gz=True)
    return path


def test_an_mnist_label_out_of_range_names_file_and_sample(tmp_path):
    d = mnist_dir(tmp_path, test_labels=(7, 12, 1))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: sample 1 has label 12"):
        load_mnist(str(d), "test")


def test_a_corrupt_gz_file_is_named(tmp_path):
    d = mnist_dir(tmp_path)
    path = d / (NAMES[0] + ".gz")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])          # truncated download
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated"):
        load_mnist(str(d), "train")
    path.write_bytes(data[:10] + b"\x00" * (len(data) - 10))   # garbled
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: corrupt"):
        load_mnist(str(d), "train")


def test_a_truncated_idx_file_is_named(tmp_path):
    d = mnist_dir(tmp_path)
    path = d / NAMES[2]
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: IDX header promises"):
        load_mnist(str(d), "test")


def test_mnist_n_validate_that_leaves_no_training_sample_is_an_error(tmp_path):
    p = mnist_defaults()
    p.update({"DATA_DIR": str(mnist_dir(tmp_path)), "N_VALIDATE": 6, "OUT_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="N_VALIDATE=6 takes all 6 training samples"):
        MNISTModel(p)


# -- parameters -------------------------------------------------------------------

@pytest.mark.parametrize("key", ["N_TRAIN", "N_TEST"])
def test_zero_training_or_test_samples_are_refused(key):
    for p in (yinyang_defaults(), mnist_defaults(), shd_defaults()):
        with pytest.raises(ValueError, match=f"'{key}' must be > 0, got 0"):
            p[key] = 0


def test_a_negative_model_seed_is_refused():
    with pytest.raises(ValueError, match="'MODEL_SEED' must be an int in"):
        yinyang_defaults()["MODEL_SEED"] = -5


def test_a_trial_shorter_than_a_time_step_is_refused(tmp_path):
    p = yinyang_defaults()
    p.update({"DT_MS": 0.1, "TRIAL_MS": 0.05, "OUT_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match=r"TRIAL_MS=0\.05 is shorter than one time step "
                                         r"DT_MS=0\.1"):
        YinYangModel(p)


def test_the_command_line_says_it_in_one_line(tmp_path, capsys):
    from train_scripts.train_shd import main
    samples, labels, speakers = shd_samples(4, 1)
    labels = labels.copy()
    labels[0] = 7
    d = shd_dir(tmp_path / "d", test=(samples, labels, speakers))
    p = shd_params(d)
    argv = [f'{k}={v}' if not isinstance(v, str) else f'{k}="{v}"'
            for k, v in p.changed().items()]
    # n_channels is the real 700 on the command line: the file's 20 fit
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "shd_test.h5: sample 0 has label 7" in err
    assert "Traceback" not in err
