"""tonic as the reader: DVS gesture, SMNIST and tonic-made SHD folders,
written here in the layouts tonic downloads (tests/tonic_files.py), read
through tonic itself and through the package."""
import numpy as np
import pytest
import tonic     # a dependency of the package (setup.cfg)

from simulators.datasets import load_shd
from simulators.datasets import tonic_data
from simulators.datasets.dvs_gesture import (N_UNITS, load_dvs_gesture, spatial_shift,
                                             time_shift)
from simulators.datasets.smnist import load_smnist
from simulators.datasets.spikes import SpikeDataset
from tests.tonic_files import (dvs_gesture_task, smnist_task, write_dvs_sample,
                               write_tonic_shd)


def _expected_dvs(path, dt_ms, trial_ms):
    """One sample binned by hand from its .npy: 128 -> 32 pixels, channel
    (y*32+x)*2+p, times from the first event, floor to dt, crop, merge."""
    a = np.load(path)
    x, y, p, t = a[:, 0] // 4, a[:, 1] // 4, a[:, 2], a[:, 3].astype(float)
    t = np.floor((t - t.min()) / dt_ms) * dt_ms
    ch = (y * 32 + x) * 2 + p
    keep = t < trial_ms
    return sorted(set(zip(t[keep].tolist(), ch[keep].tolist())))


def test_dvs_gesture_loader_matches_the_files(tmp_path):
    written = dvs_gesture_task(tmp_path, "train", users=(3, 1, 12), n_per=2)
    dvs_gesture_task(tmp_path, "test", users=(24,), n_per=1, seed=5)
    cache = tmp_path / "cache"
    ds = load_dvs_gesture(str(tmp_path), "train", dt_ms=2.0, trial_ms=40.0,
                          cache_dir=str(cache))
    ds.validate()
    assert len(ds) == len(written) == 18 and ds.n_units == N_UNITS == 2048
    assert ds.duration_ms == 40.0
    # (user folder, class) order; users from the folder names
    assert ds.speakers.tolist() == [1] * 6 + [3] * 6 + [12] * 6
    assert ds.labels.tolist() == [0, 1, 2] * 6
    folder = tmp_path / "DVSGesture" / "ibmGestureTrain"
    paths = [folder / f"user{u:02d}_{light}" / f"{c}.npy" for u in (1, 3, 12)
             for light in ("fluorescent", "led") for c in (0, 1, 2)]
    for i, path in enumerate(paths):
        t, u = ds.sample(i)
        assert sorted(zip(t.tolist(), u.tolist())) == _expected_dvs(path, 2.0, 40.0)
    # events start at 500 ms in the files: the samples are aligned to 0
    assert ds.times.min() == 0.0
    test = load_dvs_gesture(str(tmp_path), "test", dt_ms=2.0, trial_ms=40.0,
                            cache_dir=str(cache))
    assert len(test) == 3 and set(test.speakers) == {24}
    # DATA_DIR may also be the DVSGesture folder itself
    again = load_dvs_gesture(str(tmp_path / "DVSGesture"), "train", dt_ms=2.0,
                             trial_ms=40.0, use_cache=False)
    np.testing.assert_array_equal(again.units, ds.units)


def test_tonic_itself_reads_the_dvs_layout_written_here(tmp_path):
    """The layout is tonic's: its own DVSGesture (no download; it wants the
    archive and 100 samples) lists the samples with their classes and users."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "DVSGesture" / "ibmGestureTrain"
    for k in range(110):
        n = 5
        write_dvs_sample(folder / f"user{k // 11 + 1:02d}_led" / f"{k % 11}.npy",
                         rng.integers(0, 128, n), rng.integers(0, 128, n),
                         rng.integers(0, 2, n), np.sort(rng.integers(0, 50, n)))
    (folder.parent / "ibmGestureTrain.tar.gz").write_bytes(b"")
    reader = tonic.datasets.DVSGesture(save_to=str(tmp_path), train=True)
    assert len(reader) == 110
    events, label = reader[0]
    assert set(events.dtype.names) == {"x", "y", "p", "t"}
    ds = load_dvs_gesture(str(tmp_path), "train", trial_ms=60.0, use_cache=False)
    assert sorted(ds.labels.tolist()) == sorted(reader.targets)
    assert np.bincount(ds.labels).tolist() == [10] * 11
    assert sorted(set(ds.speakers.tolist())) == list(range(1, 11))


def test_dvs_gesture_cache_and_missing_data(tmp_path, monkeypatch):
    dvs_gesture_task(tmp_path, "train", users=(1,), n_per=1)
    cache = tmp_path / "cache"
    first = load_dvs_gesture(str(tmp_path), "train", trial_ms=50.0, cache_dir=str(cache))
    assert len(list(cache.glob("dvs_gesture_train_*.npz"))) == 1

    def no_tonic(*a, **k):
        raise AssertionError("read through tonic again instead of the cache")
    monkeypatch.setattr("simulators.datasets.dvs_gesture.tonic_to_dataset", no_tonic)
    cached = load_dvs_gesture(str(tmp_path), "train", trial_ms=50.0, cache_dir=str(cache))
    np.testing.assert_array_equal(cached.times, first.times)
    np.testing.assert_array_equal(cached.speakers, first.speakers)
    with pytest.raises(AssertionError, match="tonic again"):    # another trial length
        load_dvs_gesture(str(tmp_path), "train", trial_ms=30.0, cache_dir=str(cache))
    # missing: the folder, the files and where they come from
    with pytest.raises(FileNotFoundError) as err:
        load_dvs_gesture(str(tmp_path / "nowhere"), "train")
    msg = str(err.value)
    assert "nowhere" in msg and "ibmGestureTrain" in msg and ".npy" in msg
    assert "tonic.datasets.DVSGesture" in msg and "download=True" in msg
    with pytest.raises(FileNotFoundError, match="ibmGestureTest"):
        load_dvs_gesture(str(tmp_path), "test")
    d = tmp_path / "archive_only" / "DVSGesture"
    d.mkdir(parents=True)
    (d / "ibmGestureTest.tar.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="extract it"):
        load_dvs_gesture(str(tmp_path / "archive_only"), "test")


def test_smnist_loader_matches_tonic(tmp_path):
    smnist_task(tmp_path, n_train=30, n_test=12, classes=(0, 1, 2, 3))
    ds = load_smnist(str(tmp_path), "train", dt_ms=1.0, trial_ms=784.0,
                     cache_dir=str(tmp_path / "c"))
    ds.validate()
    reader = tonic.datasets.SMNIST(save_to=str(tmp_path), train=True, duplicate=False)
    assert len(ds) == len(reader) == 30 and ds.n_units == 99
    for i in (0, 7, 29):
        events, label = reader[i]
        assert ds.labels[i] == label
        want = sorted(set(zip((events["t"] // 1000).astype(float).tolist(),
                              events["x"].tolist())))
        t, u = ds.sample(i)
        assert sorted(zip(t.tolist(), u.tolist())) == want and len(want) > 50
    # duplicate: every spike twice, the sequence twice as long; pixel_ms scales it
    dup = load_smnist(str(tmp_path), "train", trial_ms=2 * 784.0, duplicate=True,
                      use_cache=False)
    assert np.array_equal(dup.counts(), 2 * ds.counts())
    fast = load_smnist(str(tmp_path), "test", pixel_ms=0.25, trial_ms=196.0,
                       use_cache=False)
    assert len(fast) == 12 and fast.times.max() < 196.0
    full = load_smnist(str(tmp_path), "test", trial_ms=784.0, use_cache=False)
    assert np.array_equal(np.bincount(fast.labels), np.bincount(full.labels))
    # missing files: named, with the folder and where they come from
    with pytest.raises(FileNotFoundError) as err:
        load_smnist(str(tmp_path / "none"), "train")
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert "smnist" in msg and "tonic.datasets.SMNIST" in msg and "download=True" in msg
    (tmp_path / "smnist" / "t10k-labels-idx1-ubyte").rename(
        tmp_path / "smnist" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="decompress"):
        load_smnist(str(tmp_path), "test", use_cache=False)


def test_a_folder_tonic_made_works_as_shd_data_dir(tmp_path):
    """save_to/SHD/shd_*.h5 (tonic's layout): the package's HDF5 reader and
    tonic's SHD reader through tonic_to_dataset give the same data."""
    rng = np.random.default_rng(0)
    samples = [(np.sort(rng.uniform(0, 0.2, 60)), rng.integers(0, 700, 60))
               for _ in range(12)]
    labels = rng.integers(0, 20, 12)
    speakers = rng.integers(0, 4, 12)
    write_tonic_shd(tmp_path, "train", samples, labels, speakers)
    write_tonic_shd(tmp_path, "test", samples[:4], labels[:4], speakers[:4])
    ours = load_shd(str(tmp_path), "SHD", "train", dt_ms=1.0, trial_ms=250.0,
                    use_cache=False)
    reader = tonic.datasets.SHD(save_to=str(tmp_path), train=True)
    theirs = tonic_data.tonic_to_dataset(reader, 700, 1.0, 250.0, speakers=reader.speaker)
    for a, b in ((ours.times, theirs.times), (ours.units, theirs.units),
                 (ours.offsets, theirs.offsets), (ours.labels, theirs.labels),
                 (ours.speakers, theirs.speakers)):
        np.testing.assert_array_equal(a, b)
    assert ours.n_events > 500


def test_channel_index_and_image_augmentations():
    ev = np.zeros(3, dtype=[("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
    ev["x"], ev["y"], ev["p"] = [0, 31, 5], [0, 31, 2], [1, 0, 1]
    assert tonic_data.channel_index(ev, (32, 32, 2)).tolist() == [1, 2046, 139]
    one_d = np.zeros(2, dtype=[("t", int), ("x", int), ("p", int)])
    one_d["x"], one_d["p"] = [4, 698], 1
    assert tonic_data.channel_index(one_d, (700, 1, 1)).tolist() == [4, 698]
    # a sample with one event per pixel row of polarity 1 at x = 10
    units = (np.arange(32) * 32 + 10) * 2 + 1
    ds = SpikeDataset.from_lists([np.arange(32, dtype=float)] * 50, [units] * 50,
                                 [0] * 50, N_UNITS, 40.0)
    sh = spatial_shift(ds, 3, np.random.default_rng(1))
    dxs, dys = set(), set()
    for i in range(len(sh)):
        t, u = sh.sample(i)
        assert np.all(u % 2 == 1)                        # polarity kept
        x, y = (u // 2) % 32, (u // 2) // 32
        assert len(set(x.tolist())) == 1                 # one translation per sample
        dx = int(x[0]) - 10
        dy = int(y[0]) - int(np.round(t[0]))             # row = time in this sample
        assert abs(dx) <= 3 and abs(dy) <= 3 and len(u) == 32 - abs(dy)
        dxs.add(dx)
        dys.add(dy)
    assert dxs == dys == set(range(-3, 4))
    ts = time_shift(ds, 5.0, np.random.default_rng(2), dt_ms=1.0)
    ts.validate()
    offs = set()
    for i in range(len(ts)):
        t, u = ts.sample(i)
        # times 0..31 shifted by k: k >= 0 keeps all 32 (31 + 5 < 40), k < 0 drops -k
        k = int(t.min()) if len(t) == 32 else len(t) - 32
        np.testing.assert_array_equal(t, np.arange(max(k, 0), 32 + k))
        np.testing.assert_array_equal(u, units[max(-k, 0):])
        offs.add(k)
    assert offs == set(range(-5, 6))
