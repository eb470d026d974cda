"""Data sets in the on-disk layouts tonic downloads, written by the tests.

- DVS gesture: ``root/DVSGesture/ibmGestureTrain/userNN_<light>/<class>.npy``,
  each an (events, 4) array of x, y, p, t in ms (tonic's preprocessed
  release), plus the .tar.gz tonic leaves next to the folder;
- SMNIST: the four MNIST IDX files, uncompressed, in ``root/smnist``;
- SHD: ``root/SHD/shd_{train,test}.h5`` (+ the .zip), with extra/keys and
  extra/speaker as tonic's SHD reader expects.
"""
import struct

import numpy as np

from tests.shd_files import write_vlen


def write_dvs_sample(path, x, y, p, t_ms):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.stack([x, y, p, t_ms], axis=1).astype(np.int64)
    np.save(path, arr)


def dvs_gesture_task(root, split, users, n_per, classes=(0, 1, 2), seed=0, t0_ms=500,
                     trial_ms=60, lighting=("fluorescent", "led")):
    """A learnable DVS-gesture-like task: class c is a bar sweeping across the
    128 x 128 sensor (right, down or left), ON events at the bar's leading
    edge, OFF at its trailing edge; plus uniform noise; the recording starts
    at ``t0_ms`` (tonic's samples need not start at 0).  Returns the labels
    written, in file order (user, lighting, class)."""
    rng = np.random.default_rng(seed)
    folder = root / "DVSGesture" / ("ibmGestureTrain" if split == "train" else "ibmGestureTest")
    written = []
    for u in users:
        for light in lighting[:n_per]:
            for c in classes:
                xs, ys, ps, ts = [], [], [], []
                for step in range(trial_ms // 2):
                    pos = int(8 + step * 112 / (trial_ms // 2))
                    for k in range(12):
                        a = rng.integers(20, 108)
                        if c == 0:     # vertical bar moving right
                            x, y = pos, a
                        elif c == 1:   # horizontal bar moving down
                            x, y = a, pos
                        else:          # vertical bar moving left
                            x, y = 127 - pos, a
                        xs.append(x)
                        ys.append(y)
                        ps.append(k % 2)
                        ts.append(t0_ms + 2 * step + rng.integers(0, 2))
                n_noise = 40
                xs += list(rng.integers(0, 128, n_noise))
                ys += list(rng.integers(0, 128, n_noise))
                ps += list(rng.integers(0, 2, n_noise))
                ts += list(t0_ms + rng.integers(0, trial_ms, n_noise))
                order = np.argsort(ts, kind="stable")
                write_dvs_sample(folder / f"user{u:02d}_{light}" / f"{c}.npy",
                                 *(np.asarray(v)[order] for v in (xs, ys, ps, ts)))
                written.append((u, c))
    (folder.parent / (folder.name + ".tar.gz")).write_bytes(b"")
    return written


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    code = 0x08
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + \
        struct.pack(">" + "I" * arr.ndim, *arr.shape)
    path.write_bytes(header + arr.tobytes())


def smnist_task(root, n_train, n_test, classes=(0, 1), seed=0):
    """MNIST IDX files of a learnable two-kind task: an even class is a white
    block (grey 255: the threshold neurons up to the top and the "white"
    neuron fire) in the upper half, an odd class a grey one (100: only the
    lower thresholds) in the lower half, at a random column; plus sparse
    noise.  Written uncompressed to root/smnist, where tonic reads them."""
    rng = np.random.default_rng(seed)
    d = root / "smnist"
    d.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.asarray(classes)[rng.integers(0, len(classes), n)].astype(np.uint8)
        img = ((rng.random((n, 28, 28)) < 0.01) * 180).astype(np.uint8)
        for k, c in enumerate(labels):
            r = 4 + 10 * (int(c) % 2)
            col = rng.integers(4, 16)
            img[k, r:r + 5, col:col + 8] = 100 if int(c) % 2 else 255
        write_idx(d / f"{prefix}-images-idx3-ubyte", img)
        write_idx(d / f"{prefix}-labels-idx1-ubyte", labels)
    return d


def write_tonic_shd(root, split, samples, labels, speakers, n_classes=20):
    """An SHD file where tonic puts it (save_to/SHD), with the keys tonic reads."""
    import h5py
    d = root / "SHD"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"shd_{split}.h5"
    write_vlen(path, samples, labels, speakers)
    with h5py.File(path, "a") as f:
        f["extra/keys"] = np.array([f"word{i}".encode() for i in range(n_classes)])
    (d / f"shd_{split}.h5.zip").write_bytes(b"")
    return path
