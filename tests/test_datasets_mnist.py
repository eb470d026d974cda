"""MNIST IDX reading and latency coding, on tiny files written here."""

import gzip
import struct

import numpy as np
import pytest

from simulators.datasets import latency_encode, load_mnist, read_idx

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def idx_bytes(arr, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(">u1").tobytes()


def write(path, arr, gz=False, code=0x08):
    data = idx_bytes(arr, code)
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    tr_img = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    tr_lab = np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8)
    te_img = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    te_lab = np.array([7, 2, 1], dtype=np.uint8)
    write(tmp_path / NAMES[0], tr_img, gz=True)    # mix of gz and plain files
    write(tmp_path / NAMES[1], tr_lab, gz=False)
    write(tmp_path / NAMES[2], te_img, gz=False)
    write(tmp_path / NAMES[3], te_lab, gz=True)
    return tmp_path, tr_img, tr_lab, te_img, te_lab


def test_load_both_splits(mnist_dir):
    d, tr_img, tr_lab, te_img, te_lab = mnist_dir
    x, y = load_mnist(str(d), "train")
    assert x.shape == (6, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(x, tr_img) and np.array_equal(y, tr_lab)
    x, y = load_mnist(str(d), "test")
    assert np.array_equal(x, te_img) and np.array_equal(y, te_lab)
    with pytest.raises(ValueError):
        load_mnist(str(d), "valid")


def test_missing_files_message(tmp_path):
    write(tmp_path / NAMES[0], np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(str(tmp_path), "train")
    msg = str(err.value)
    for name in NAMES:
        assert name in msg
    assert str(tmp_path) in msg and "lecun" in msg


def test_bad_magic_and_truncation(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(str(p))
    q = tmp_path / "short"
    q.write_bytes(idx_bytes(np.zeros((4, 2, 2), np.uint8))[:-3])
    with pytest.raises(ValueError, match="bytes"):
        read_idx(str(q))
    # a labels file in the images slot has the wrong dimensionality
    write(tmp_path / NAMES[0], np.zeros(3, np.uint8))
    write(tmp_path / NAMES[1], np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="3-d"):
        load_mnist(str(tmp_path), "train")


def test_latency_encode():
    img = np.zeros((2, 28, 28), dtype=np.uint8)
    img[0, 0, 0] = 255
    img[0, 0, 1] = 128
    img[0, 5, 5] = 1          # at threshold: silent
    img[1, 27, 27] = 64
    ds = latency_encode(img, trial_ms=20.0, dt_ms=1.0, labels=np.array([3, 4]))
    ds.validate()
    assert ds.n_units == 784 and np.array_equal(ds.counts(), [2, 1])
    assert np.array_equal(ds.labels, [3, 4])
    t, u = ds.sample(0)
    assert u.tolist() == [0, 1]                     # brighter first
    assert t[0] == pytest.approx(2.0)
    assert t[1] == pytest.approx(2.0 + 127 / 255 * 16.0, abs=1e-5)
    t, u = ds.sample(1)
    assert u.tolist() == [27 * 28 + 27]
    assert t[0] == pytest.approx(2.0 + 191 / 255 * 16.0, abs=1e-5)
    assert ds.times.max() < 20.0 - 2.0 + 1e-5
