"""Spiking sequential MNIST through tonic's ``SMNIST``.

tonic reads the four MNIST IDX files, uncompressed, from ``save_to/smnist``
(``data_dir`` here)::

    data_dir/smnist/train-images-idx3-ubyte   train-labels-idx1-ubyte
    data_dir/smnist/t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte

and encodes each image as a sequence: the 784 pixels are read row by row,
one per ``pixel_ms``; 99 input neurons (``num_neurons``) each fire when the
grey value crosses its threshold between one pixel and the next (49 rising,
49 falling thresholds, one neuron for white pixels).  With ``duplicate``
(tonic's default) every spike is emitted twice, at two successive time
steps, and the sequence takes 2 x 784 steps.

The result is binned to DT_MS, cropped to TRIAL_MS and cached like the
other tonic-read data sets.
"""

from __future__ import annotations

import os
from typing import Optional

from .spikes import SpikeDataset
from .tonic_data import cached, files_signature, missing_data, require_tonic, \
    tonic_to_dataset

__all__ = ["SMNIST_FILES", "N_PIXELS", "find_smnist", "load_smnist", "sequence_ms"]

SMNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
N_PIXELS = 28 * 28
N_CLASSES = 10
_TONIC_CALL = "tonic.datasets.SMNIST(save_to=DATA_DIR, train=True) and (..., train=False)"


def sequence_ms(pixel_ms: float = 1.0, duplicate: bool = True) -> float:
    """Length of one encoded image: 784 pixels (twice that with duplicate)."""
    return N_PIXELS * pixel_ms * (2 if duplicate else 1)


def find_smnist(data_dir: str, split: str = "train") -> str:
    """The ``smnist`` folder under ``data_dir`` (tonic's save_to) holding
    ``split``'s two IDX files; a FileNotFoundError naming them otherwise."""
    if split not in SMNIST_FILES:
        raise ValueError(f"SMNIST has splits {list(SMNIST_FILES)}, not {split!r}")
    folder = os.path.join(data_dir, "smnist")
    names = SMNIST_FILES[split]
    missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
    if not missing:
        return folder
    gz = [n + ".gz" for n in missing if os.path.isfile(os.path.join(folder, n + ".gz"))]
    hint = f"Found {gz}: decompress them next to themselves (gunzip -k)." if gz else ""
    raise missing_data("SMNIST", folder, list(names), _TONIC_CALL, hint)


def load_smnist(data_dir: str, split: str = "train", dt_ms: float = 1.0,
                trial_ms: float = 784.0, duplicate: bool = False, num_neurons: int = 99,
                pixel_ms: float = 1.0, cache_dir: Optional[str] = None,
                use_cache: bool = True, progress: bool = False) -> SpikeDataset:
    """One split of SMNIST as a :class:`SpikeDataset` of ``num_neurons``
    channels (tonic's channel numbering)."""
    if dt_ms <= 0 or trial_ms <= 0 or pixel_ms <= 0:
        raise ValueError("dt_ms, trial_ms and pixel_ms must be positive")
    folder = find_smnist(data_dir, split)
    key = ["smnist", split, files_signature(os.path.join(folder, n)
                                            for n in SMNIST_FILES[split]),
           float(dt_ms), float(trial_ms), bool(duplicate), int(num_neurons), float(pixel_ms)]

    def build():
        tonic = require_tonic()
        reader = tonic.datasets.SMNIST(save_to=data_dir, train=split == "train",
                                       duplicate=duplicate, num_neurons=num_neurons,
                                       dt=pixel_ms * 1000.0)
        return tonic_to_dataset(
            reader, num_neurons, dt_ms, trial_ms, channels=lambda ev: ev["x"],
            progress=f"SMNIST {split} (once; cached)" if progress else None)

    return cached(cache_dir, f"smnist_{split}", key, build, use_cache)
