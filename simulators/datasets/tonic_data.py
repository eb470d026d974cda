"""tonic (https://tonic.readthedocs.io) as the reader of event data sets.

A user downloads a data set once with tonic on a machine with internet,
e.g. ``tonic.datasets.DVSGesture(save_to="data", train=True)`` (tonic's
``download=True`` behaviour), and points DATA_DIR at that ``save_to``
folder.  This module reads such a folder through tonic and brings the data
into the package's compact layout (:class:`SpikeDataset`: flat times in ms
on the DT_MS grid, one channel index per event), caching the result as an
.npz so tonic's per-sample reading happens once per (files, DT_MS,
TRIAL_MS, options).

- :func:`tonic_to_dataset` turns any tonic data set (structured event
  arrays with ``t`` in microseconds plus ``x`` [, ``y``, ``p``]) into a
  SpikeDataset; :func:`channel_index` is the channel rule
  (``(y * W + x) * P + p``; polarity only where the sensor has two).
- :func:`cached` is the cache shared by the tonic-read data sets.
- :func:`missing_data` is the error for a folder without the files.

SHD and SSC keep their direct HDF5 reader (simulators.datasets.shd): it
reads the padded layout and SSC's validation file too, and for SHD-size
files it takes about as long as tonic's reader through
:func:`tonic_to_dataset` (a one-off either way, then cached; see
bench/dvs_smnist.py --which shd_reader).  A folder tonic made
(``save_to/SHD/shd_train.h5`` ...) works as their DATA_DIR as is, and both
readers give the same data (tested; tonic truncates times to whole
microseconds first, which moves about one event in a million to the bin
below).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .shd import bin_events, default_cache_dir
from .spikes import SpikeDataset, offsets_from_counts

__all__ = ["require_tonic", "missing_data", "channel_index", "tonic_to_dataset",
           "files_signature", "cached"]

_CACHE_VERSION = 1


def require_tonic():
    """The imported ``tonic`` module, or an ImportError that says how to get it."""
    try:
        import tonic  # noqa: F401
        import tonic.datasets  # noqa: F401
    except ImportError as err:  # pragma: no cover - tonic is a dependency
        raise ImportError("reading DVS gesture and SMNIST needs tonic: "
                          "pip install tonic (or pip install -e .)") from err
    return tonic


def missing_data(name: str, folder: str, expected: Sequence[str], tonic_call: str,
                 hint: str = "") -> FileNotFoundError:
    """A FileNotFoundError naming the folder, the files expected there and
    how to get them (tonic's download, on a machine with internet)."""
    return FileNotFoundError(
        f"{name} data not found: expected {', '.join(expected)} in "
        f"{os.path.abspath(folder)!r}.{(' ' + hint) if hint else ''} These files come from "
        f"tonic's download (download=True): on a machine with internet run `{tonic_call}`, "
        "which downloads and extracts them under save_to, copy that save_to folder here "
        "and set DATA_DIR to it. Nothing is downloaded by this package.")


def channel_index(events: np.ndarray, sensor_size: Sequence[int]) -> np.ndarray:
    """Input channel of each event: ``(y * W + x) * P + p`` for a (W, H, P)
    sensor; ``y`` and ``p`` count only where present and where H > 1 /
    P > 1 (tonic gives 1-D data sets an artificial polarity of 1 on a
    sensor with P = 1)."""
    W, H, P = (int(s) for s in sensor_size)
    names = events.dtype.names
    ch = events["x"].astype(np.int64)
    if "y" in names and H > 1:
        ch = events["y"].astype(np.int64) * W + ch
    if P > 1:
        p = events["p"].astype(np.int64) if "p" in names else np.zeros(len(events), np.int64)
        ch = ch * P + p
    return ch


def tonic_to_dataset(dataset, n_units: int, dt_ms: float, trial_ms: float,
                     channels: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                     speakers: Optional[Iterable[int]] = None, align: bool = False,
                     chunk: int = 256, progress: Optional[str] = None) -> SpikeDataset:
    """Read every sample of a tonic data set into a :class:`SpikeDataset`.

    ``dataset[i]`` gives (structured events, label); ``t`` is in
    microseconds (tonic's convention).  ``channels(events)`` maps events to
    channel indices (default: :func:`channel_index` with the data set's
    ``sensor_size``).  ``align`` starts each sample at its first event
    (tonic's TimeAlignment).  Times are rounded down to ``dt_ms``, events at
    or after ``trial_ms`` or outside [0, n_units) are dropped and same-bin
    duplicates of a channel merged (simulators.datasets.shd.bin_events).
    ``chunk`` samples are binned at a time (bounds the temporary memory).
    ``progress``: a tqdm description, or None for no bar.
    """
    if channels is None:
        sensor = dataset.sensor_size
        channels = lambda ev: channel_index(ev, sensor)  # noqa: E731
    n = len(dataset)
    labels = np.zeros(n, np.int32)
    t_out, u_out, c_out = [], [], []
    it = range(0, n, chunk)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc=progress, unit_scale=chunk, leave=False)
    for lo in it:
        hi = min(n, lo + chunk)
        ts, us, ids = [], [], []
        for i in range(lo, hi):
            events, label = dataset[i]
            labels[i] = int(label)
            t = events["t"].astype(np.float64) * 1e-3
            if align and len(t):
                t = t - t.min()
            # drop what lies past the trial now (a superset of what binning
            # keeps): DVS recordings last ~6 s, the trial a fraction of that
            keep = t < trial_ms + dt_ms
            ts.append(t[keep])
            us.append(np.asarray(channels(events))[keep])
            ids.append(np.full(int(keep.sum()), i - lo, np.int64))
        # one binning rule for every data set (the SHD reader's)
        t, u, c = bin_events(np.concatenate(ts), np.concatenate(us), np.concatenate(ids),
                             hi - lo, dt_ms, trial_ms, n_units)
        t_out.append(t)
        u_out.append(u)
        c_out.append(c)
    counts = np.concatenate(c_out) if c_out else np.zeros(0, np.int64)
    return SpikeDataset(
        np.concatenate(t_out) if t_out else np.zeros(0, np.float32),
        np.concatenate(u_out) if u_out else np.zeros(0, np.int32),
        offsets_from_counts(counts), labels, n_units,
        None if speakers is None else np.asarray(list(speakers)), trial_ms)


def files_signature(paths: Iterable[str]) -> list:
    """(path, size, mtime) of each file: a cache key that changes with the files."""
    out = []
    for p in sorted(paths):
        st = os.stat(p)
        out.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    return out


def _save(path: str, ds: SpikeDataset) -> None:
    """``ds`` as an .npz, written to a temporary file and renamed (a crash
    never leaves a half-written cache under the real name)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, times=ds.times, units=ds.units, offsets=ds.offsets,
                     labels=ds.labels,
                     speakers=ds.speakers if ds.speakers is not None
                     else np.zeros(0, np.int32),
                     has_speakers=np.array(ds.speakers is not None),
                     meta=np.array([ds.n_units, ds.duration_ms, _CACHE_VERSION], np.float64))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _load(path: str) -> Optional[SpikeDataset]:
    """The cached data set, or None if absent, unreadable or of another version."""
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            n_units, duration, version = z["meta"]
            if int(version) != _CACHE_VERSION:
                return None
            speakers = z["speakers"] if bool(z["has_speakers"]) else None
            return SpikeDataset(z["times"], z["units"], z["offsets"], z["labels"],
                                int(n_units), speakers, float(duration))
    except Exception as err:  # any unreadable cache is simply rebuilt
        warnings.warn(f"ignoring unreadable cache {path}: {err}")
        return None


def cached(cache_dir: Optional[str], name: str, key, build: Callable[[], SpikeDataset],
           use_cache: bool = True) -> SpikeDataset:
    """``build()``, or its result cached under ``cache_dir`` by ``key``
    (anything JSON-serialisable: file signatures, dt, trial length,
    options).  A cache that cannot be written only warns."""
    if not use_cache:
        return build()
    digest = hashlib.sha256(json.dumps([key, _CACHE_VERSION]).encode()).hexdigest()[:20]
    path = os.path.join(cache_dir or default_cache_dir(), f"{name}_{digest}.npz")
    ds = _load(path)
    if ds is not None:
        return ds
    ds = build()
    try:
        _save(path, ds)
    except OSError as err:  # read-only cache location: still return the data
        warnings.warn(f"could not write cache {path}: {err}")
    return ds
