"""MNIST from the standard IDX files, and its latency (time-to-first-spike) code.

The four files are read from one directory, each plain or gzipped:
train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte.  Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Optional, Tuple

import numpy as np

from .spikes import SpikeDataset, lexsort, offsets_from_counts

__all__ = ["MNIST_FILES", "read_idx", "find_mnist_file", "load_mnist", "latency_encode"]

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_SOURCE = ("http://yann.lecun.com/exdb/mnist/ (mirrored e.g. at "
                "https://ossci-datasets.s3.amazonaws.com/mnist/)")

# IDX type codes -> numpy big-endian dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (plain, or gzip if it starts with the gzip magic).

    Raises ValueError if the magic number is malformed or the data are
    shorter/longer than the header says.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({err}); download "
                             f"it again from {MNIST_SOURCE}") from None
    elif path.endswith(".gz"):
        raise ValueError(f"{path}: named .gz but not a gzip file (it starts with "
                         f"{raw[:4].hex() or 'nothing'})")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES \
            or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != size:
        raise ValueError(f"{path}: IDX header promises {size} data bytes for shape {shape}, "
                         f"file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="))


def find_mnist_file(data_dir: str, name: str) -> Optional[str]:
    """Path of ``name`` or ``name.gz`` in ``data_dir`` (plain preferred), or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.isfile(path):
            return path
    return None


def _missing_error(data_dir: str) -> FileNotFoundError:
    names = [n for pair in MNIST_FILES.values() for n in pair]
    present = {n: find_mnist_file(data_dir, n) is not None for n in names}
    missing = [n for n in names if not present[n]]
    return FileNotFoundError(
        f"MNIST files missing in {os.path.abspath(data_dir)!r}: {missing}. "
        f"Expected all four of {names} (each plain or .gz) in that directory; "
        f"set DATA_DIR to where they are. MNIST is available from {MNIST_SOURCE}.")


def load_mnist(data_dir: str, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) int32 of ``split``
    ("train": 60000, "test": 10000) from the IDX files in ``data_dir``."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {list(MNIST_FILES)}, got {split!r}")
    paths = [find_mnist_file(data_dir, n) for n in MNIST_FILES[split]]
    if any(p is None for p in paths):
        raise _missing_error(data_dir)
    images = read_idx(paths[0])
    labels = read_idx(paths[1])
    if images.ndim != 3:
        raise ValueError(f"{paths[0]}: expected 3-d image data, got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{paths[1]}: expected 1-d label data, got shape {labels.shape}")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{paths[0]}: MNIST images are 28x28 pixels, the file holds "
                         f"{images.shape[1]}x{images.shape[2]}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images in {paths[0]} but {len(labels)} labels "
                         f"in {paths[1]}")
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if len(bad):
        raise ValueError(f"{paths[1]}: sample {int(bad[0])} has label {int(labels[bad[0]])}; "
                         f"MNIST labels are the digits 0-9 ({len(bad)} sample(s) break "
                         "this)")
    return images.astype(np.uint8, copy=False), labels.astype(np.int32)


def latency_encode(images: np.ndarray, trial_ms: float = 20.0, dt_ms: float = 1.0,
                   labels: Optional[np.ndarray] = None, threshold: int = 1) -> SpikeDataset:
    """One spike per bright pixel, brighter pixels earlier.

    A pixel of grey value g (0-255) with ``g > threshold`` spikes once at
    ``t = 2*dt + (255 - g)/255 * (trial_ms - 4*dt)`` (genn_eventprop's
    ``spike_time_from_gray``): g=255 at 2*dt, faint pixels near
    trial_ms - 2*dt, so every spike lies two time steps inside the trial.
    Pixels at or below ``threshold`` are silent.  Units are the row-major
    pixel index (784 for 28x28).
    """
    images = np.asarray(images)
    n = len(images)
    flat = images.reshape(n, -1)
    if labels is None:
        labels = np.full(n, -1, dtype=np.int32)
    sample, unit = np.nonzero(flat > threshold)  # row-major: grouped by sample
    g = flat[sample, unit].astype(np.float64)
    times = 2.0 * dt_ms + (255.0 - g) / 255.0 * (trial_ms - 4.0 * dt_ms)
    # sort by time inside each sample; stable so equal times keep pixel order
    order = lexsort((times, sample))
    counts = np.bincount(sample, minlength=n)
    return SpikeDataset(times[order], unit[order], offsets_from_counts(counts), labels,
                        flat.shape[1], None, trial_ms)
