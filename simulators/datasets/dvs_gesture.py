"""IBM DVS128 Gesture through tonic, at 32 x 32 x 2 input channels.

Read with ``tonic.datasets.DVSGesture`` from the folder tonic downloads
to (``save_to``, passed here as ``data_dir``)::

    data_dir/DVSGesture/ibmGestureTrain/user01_fluorescent/0.npy ... 10.npy
    data_dir/DVSGesture/ibmGestureTest/user24_led/...

Each ``.npy`` is one sample, an (events, 4) array of x, y, polarity and
time in ms (tonic's preprocessed release: the recordings cut at the label
boundaries); the file name is the class (0-10) and the folder the user and
lighting.  ``data_dir`` may also be the ``DVSGesture`` folder itself.

Preprocessing (genn_eventprop's choice): tonic's
``Downsample(spatial_factor=0.25)`` (128 x 128 -> 32 x 32 pixels), channel
``(y * 32 + x) * 2 + p``; each sample starts at its first event; times are
rounded down to DT_MS and cropped to TRIAL_MS, same-bin duplicates of a
channel merged (16 pixels share a channel).  The result (with the user of
each sample as its ``speakers`` entry, for user splits and
cross-validation) is cached.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from .augment import _filtered, _rng
from .spikes import SpikeDataset
from .tonic_data import cached, files_signature, missing_data, require_tonic, \
    tonic_to_dataset

__all__ = ["SIZE", "N_UNITS", "N_CLASSES", "FOLDERS", "find_dvs_gesture",
           "load_dvs_gesture", "spatial_shift", "time_shift"]

SIZE = 32                       # pixels per side after Downsample(0.25)
N_UNITS = SIZE * SIZE * 2       # 2048 channels
N_CLASSES = 11
FOLDERS = {"train": "ibmGestureTrain", "test": "ibmGestureTest"}
_TONIC_CALL = ("tonic.datasets.DVSGesture(save_to=DATA_DIR, train=True) and "
               "(..., train=False)")


def find_dvs_gesture(data_dir: str, split: str = "train") -> str:
    """The folder of ``split``'s per-user sample folders under ``data_dir``
    (tonic's save_to, or its DVSGesture folder); a FileNotFoundError that
    names what was expected otherwise."""
    if split not in FOLDERS:
        raise ValueError(f"DVS gesture has splits {list(FOLDERS)}, not {split!r}")
    folder = FOLDERS[split]
    for base in (os.path.join(data_dir, "DVSGesture"), data_dir):
        path = os.path.join(base, folder)
        if os.path.isdir(path) and _sample_files(path):
            return path
    archive = [os.path.join(b, folder + ".tar.gz")
               for b in (os.path.join(data_dir, "DVSGesture"), data_dir)]
    hint = ""
    for a in archive:
        if os.path.isfile(a):
            hint = f"Found the archive {a!r}: extract it next to itself first."
    raise missing_data(
        "DVS gesture", os.path.join(data_dir, "DVSGesture"),
        [f"{folder}/userNN_<lighting>/<class>.npy (one file per sample)"],
        _TONIC_CALL, hint)


def _sample_files(path: str):
    return [os.path.join(d, f) for d, _, files in os.walk(path)
            for f in files if f.endswith(".npy")]


def _reader(data_dir: str, split: str):
    """tonic's DVSGesture over the folder found by :func:`find_dvs_gesture`,
    with Downsample(spatial_factor=0.25).  Its download check is replaced by
    ours (the folder holds samples): tonic would otherwise want the .tar.gz
    next to the folder and at least 100 samples, and download when either is
    missing."""
    tonic = require_tonic()
    from tonic.transforms import Downsample

    class DVSGesture(tonic.datasets.DVSGesture):   # tonic's folder name: the class name
        def _check_exists(self):
            return True

    folder = find_dvs_gesture(data_dir, split)
    save_to = os.path.dirname(os.path.dirname(folder))
    return DVSGesture(save_to=save_to, train=split == "train",
                      transform=Downsample(spatial_factor=0.25)), folder


def _users(paths):
    """The user of each sample from its folder name (``user07_led`` -> 7)."""
    out = []
    for p in paths:
        name = os.path.basename(os.path.dirname(p))
        try:
            out.append(int(name.split("_", 1)[0][4:]))
        except ValueError:
            raise ValueError(f"{p}: sample folders must be named userNN_<lighting>, "
                             f"got {name!r}") from None
    return out


def _sort_samples(reader):
    """Put tonic's samples (os.walk order, which the file system decides) in
    (user folder, class) order, so splits drawn by seed are the same on
    every machine."""
    def key(i):
        path = reader.data[i]
        return os.path.dirname(path), int(os.path.basename(path)[:-4])
    order = sorted(range(len(reader.data)), key=key)
    for name in ("data", "targets", "users", "lighting"):
        seq = getattr(reader, name, None)
        if seq is not None and len(seq) == len(order):
            setattr(reader, name, [seq[i] for i in order])


def load_dvs_gesture(data_dir: str, split: str = "train", dt_ms: float = 1.0,
                     trial_ms: float = 1000.0, cache_dir: Optional[str] = None,
                     use_cache: bool = True, progress: bool = False) -> SpikeDataset:
    """One split of DVS gesture as a :class:`SpikeDataset` of 2048 channels;
    ``speakers`` holds each sample's user (1-29)."""
    if dt_ms <= 0 or trial_ms <= 0:
        raise ValueError("dt_ms and trial_ms must be positive")
    folder = find_dvs_gesture(data_dir, split)
    key = ["dvs_gesture", split, files_signature(_sample_files(folder)), float(dt_ms),
           float(trial_ms), SIZE]

    def build():
        reader, _ = _reader(data_dir, split)
        if not len(reader):
            raise missing_data("DVS gesture", folder, ["userNN_<lighting>/<class>.npy"],
                               _TONIC_CALL)
        _sort_samples(reader)
        users = _users(reader.data)
        if getattr(reader, "users", None) and list(reader.users) != users:
            raise ValueError("tonic's users differ from the sample folders' names")
        return tonic_to_dataset(
            reader, N_UNITS, dt_ms, trial_ms,
            channels=lambda ev: (ev["y"].astype(np.int64) * SIZE + ev["x"]) * 2 + ev["p"],
            speakers=users, align=True, chunk=64,
            progress=f"DVS gesture {split} (once; cached)" if progress else None)

    return cached(cache_dir, f"dvs_gesture_{split}", key, build, use_cache)


# ---------------------------------------------------------------------------
# augmentations on the compact layout
# ---------------------------------------------------------------------------

def spatial_shift(ds: SpikeDataset, max_shift: int, rng=None, size: int = SIZE,
                  n_pol: int = 2) -> SpikeDataset:
    """Translate each sample's image by (dx, dy), each drawn uniformly from
    [-max_shift, max_shift] pixels; polarity kept, events leaving the
    ``size`` x ``size`` sensor dropped.  (tonic has no translation; its
    RandomCrop/SpatialJitter move events individually.)"""
    rng = _rng(rng)
    m = int(max_shift)
    d = rng.integers(-m, m + 1, size=(2, len(ds)))
    counts = ds.counts()
    u = ds.units.astype(np.int64)
    pol = u % n_pol
    pix = u // n_pol
    x = pix % size + np.repeat(d[0], counts)
    y = pix // size + np.repeat(d[1], counts)
    keep = (x >= 0) & (x < size) & (y >= 0) & (y < size)
    return _filtered(ds, ds.times, (y * size + x) * n_pol + pol, keep)


def time_shift(ds: SpikeDataset, max_shift_ms: float, rng=None,
               dt_ms: float = 1.0) -> SpikeDataset:
    """Shift all events of each sample by one offset drawn uniformly from
    the multiples of ``dt_ms`` in [-max_shift_ms, max_shift_ms]; events
    leaving [0, duration_ms) are dropped (tonic's TimeSkew(1, offset) with a
    per-sample offset on the time grid)."""
    rng = _rng(rng)
    k = int(np.floor(max_shift_ms / dt_ms + 1e-9))
    off = rng.integers(-k, k + 1, size=len(ds)) * dt_ms
    t = ds.times.astype(np.float64) + np.repeat(off, ds.counts())
    keep = (t >= 0) & (t < ds.duration_ms)
    return _filtered(ds, t.astype(np.float32), ds.units, keep)
