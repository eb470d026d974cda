"""SHD/SSC HDF5 loading on tiny files written here in both layouts."""

import os

import h5py
import numpy as np
import pytest

import simulators.datasets.shd as shd_mod
from simulators.datasets import load_shd
from simulators.datasets.shd import find_hdf5

# the files written here hold spikes past 1.4 s on purpose (they are dropped)
pytestmark = pytest.mark.filterwarnings("ignore:.*lie at or after TRIAL_MS")

# three samples; times in seconds
SAMPLES = [
    (np.array([0.0005, 0.0012, 0.0019, 0.0030]), np.array([5, 5, 5, 699])),
    (np.array([0.2504, 0.0101, 0.0103, 1.3999, 1.4000, 2.0]), np.array([1, 2, 2, 3, 4, 5])),
    (np.array([], dtype=float), np.array([], dtype=int)),
]
LABELS = np.array([3, 7, 19])
SPEAKERS = np.array([4, 1, 4])


def write_vlen(path, samples=SAMPLES, labels=LABELS, speakers=SPEAKERS):
    with h5py.File(path, "w") as f:
        ft = h5py.vlen_dtype(np.float64)
        fu = h5py.vlen_dtype(np.uint16)
        t = f.create_dataset("spikes/times", (len(samples),), dtype=ft)
        u = f.create_dataset("spikes/units", (len(samples),), dtype=fu)
        for i, (ti, ui) in enumerate(samples):
            t[i] = ti
            u[i] = ui
        f["labels"] = labels.astype(np.uint8)
        if speakers is not None:
            f["extra/speaker"] = speakers.astype(np.uint8)


def write_padded(path, samples=SAMPLES, labels=LABELS, speakers=SPEAKERS):
    m = max(len(t) for t, _ in samples) + 2
    times = np.full((len(samples), m), np.nan)
    units = np.full((len(samples), m), -1, dtype=np.int32)
    for i, (ti, ui) in enumerate(samples):
        times[i, :len(ti)] = ti
        units[i, :len(ui)] = ui
    with h5py.File(path, "w") as f:
        f["spikes/times"] = times
        f["spikes/units"] = units
        f["labels"] = labels
        f["extra/speaker"] = speakers


def events(ds, s):
    t, u = ds.sample(s)
    return list(zip(t.tolist(), u.tolist()))


@pytest.mark.parametrize("writer", [write_vlen, write_padded])
def test_load_binned_cropped(tmp_path, writer):
    writer(tmp_path / "shd_train.h5")
    ds = load_shd(str(tmp_path), "SHD", "train", dt_ms=1.0, trial_ms=1400.0,
                  use_cache=False)
    ds.validate()
    assert len(ds) == 3 and ds.n_units == 700 and ds.duration_ms == 1400.0
    assert np.array_equal(ds.labels, LABELS) and np.array_equal(ds.speakers, SPEAKERS)
    # seconds -> ms, rounded down to 1 ms; unit 5's 0.5/1.2/1.9 ms merge in bin 1
    assert events(ds, 0) == [(0.0, 5), (1.0, 5), (3.0, 699)]
    # sorted by time; 10.1 and 10.3 ms of unit 2 merge; 1400 ms and 2 s cropped
    assert events(ds, 1) == [(10.0, 2), (250.0, 1), (1399.0, 3)]
    assert events(ds, 2) == []


def test_coarser_grid_and_shorter_trial(tmp_path):
    write_vlen(tmp_path / "shd_train.h5")
    ds = load_shd(str(tmp_path), "SHD", "train", dt_ms=2.0, trial_ms=100.0,
                  use_cache=False)
    assert events(ds, 0) == [(0.0, 5), (2.0, 699)]
    assert events(ds, 1) == [(10.0, 2)]


def test_cache_hit_skips_hdf5(tmp_path, monkeypatch):
    write_vlen(tmp_path / "shd_test.h5")
    cache = tmp_path / "cache"
    first = load_shd(str(tmp_path), "SHD", "test", cache_dir=str(cache))
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].startswith("shd_test_") and files[0].endswith(".npz")

    def no_hdf5(*args, **kwargs):
        raise AssertionError("HDF5 file opened despite a valid cache")

    monkeypatch.setattr(shd_mod.h5py, "File", no_hdf5)
    second = load_shd(str(tmp_path), "SHD", "test", cache_dir=str(cache))
    for a in ("times", "units", "offsets", "labels", "speakers"):
        assert np.array_equal(getattr(first, a), getattr(second, a)), a
    # other preprocessing parameters are a different cache entry -> must read HDF5
    with pytest.raises(AssertionError, match="HDF5"):
        load_shd(str(tmp_path), "SHD", "test", dt_ms=2.0, cache_dir=str(cache))


def test_stale_and_corrupt_cache_rebuilt(tmp_path):
    path = tmp_path / "shd_train.h5"
    write_vlen(path)
    cache = tmp_path / "cache"
    load_shd(str(tmp_path), cache_dir=str(cache))
    (name,) = os.listdir(cache)
    (cache / name).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="cache"):
        ds = load_shd(str(tmp_path), cache_dir=str(cache))
    assert len(ds) == 3
    # a changed data file (new size/mtime) gives a new cache key
    write_vlen(path, samples=SAMPLES[:2], labels=LABELS[:2], speakers=SPEAKERS[:2])
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    ds = load_shd(str(tmp_path), cache_dir=str(cache))
    assert len(ds) == 2


def test_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_shd(str(tmp_path), "SHD", "train", use_cache=False)
    msg = str(err.value)
    assert "shd_train.h5" in msg and str(tmp_path) in msg and "zenkelab.org" in msg
    (tmp_path / "ssc_valid.h5.gz").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="decompress"):
        find_hdf5(str(tmp_path), "SSC", "valid")
    with pytest.raises(ValueError, match="splits"):
        find_hdf5(str(tmp_path), "SHD", "valid")


def test_ssc_valid_split_in_tonic_subfolder(tmp_path):
    sub = tmp_path / "SSC"
    sub.mkdir()
    write_padded(sub / "ssc_valid.h5", speakers=np.array([0, 0, 0]))
    ds = load_shd(str(tmp_path), "SSC", "valid", use_cache=False)
    assert len(ds) == 3 and np.array_equal(ds.labels, LABELS)
    assert events(ds, 0) == [(0.0, 5), (1.0, 5), (3.0, 699)]


def test_no_speaker_info(tmp_path):
    write_vlen(tmp_path / "shd_train.h5", speakers=None)
    ds = load_shd(str(tmp_path), use_cache=False)
    assert ds.speakers is None


def test_many_samples_chunked(tmp_path, monkeypatch):
    # chunk boundaries must not disturb sample order
    monkeypatch.setattr(shd_mod, "_CHUNK", 7)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(30):
        c = rng.integers(0, 50)
        samples.append((rng.uniform(0, 1.5, c), rng.integers(0, 700, c)))
    labels = np.arange(30) % 20
    write_vlen(tmp_path / "shd_train.h5", samples, labels, np.arange(30) % 10)
    ds = load_shd(str(tmp_path), use_cache=False)
    ds.validate()
    for s, (t, u) in enumerate(samples):
        bins = np.floor(t * 1000.0 + 1e-7)
        keep = bins < 1400
        want = sorted(set(zip(bins[keep].tolist(), u[keep].tolist())))
        assert events(ds, s) == want
