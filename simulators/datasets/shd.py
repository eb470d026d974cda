"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC).

Reads the official HDF5 files (Cramer et al. 2020; https://zenkelab.org/datasets/):

    spikes/times    spike times in seconds
    spikes/units    input channel (0-699)
    labels          class per sample
    extra/speaker   speaker id per sample (optional here)

Two layouts of spikes/times and spikes/units are accepted:

(a) the official one: variable-length (h5py vlen) datasets, one array per
    sample;
(b) padded 2-D arrays of shape (n_samples, max_len); entries with a
    non-finite (NaN/inf) or negative time, or a negative unit, are padding.

Files are looked for in ``data_dir`` itself, then in ``data_dir/SHD`` or
``data_dir/SSC`` (tonic's ``save_to/<DatasetName>`` layout), then in
``data_dir/SSC/SSC``.

Preprocessing (vectorised, per chunk of samples): seconds -> ms; times
rounded *down* to the ``dt_ms`` grid; events at or after ``trial_ms`` are
dropped; several events of one unit in the same time bin are *merged* into
one (a spike source array can emit only one spike per neuron per step,
and genn_eventprop's EventsToGrid did the same).  The result is cached as
an .npz keyed by (file path, size, mtime, dt_ms, trial_ms, dataset, split),
so later loads skip the HDF5 file entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np

from .spikes import SpikeDataset, offsets_from_counts

__all__ = ["SHD_FILES", "N_UNITS", "find_hdf5", "read_hdf5_events", "bin_events",
           "load_shd", "default_cache_dir", "DataError", "LateSpikesWarning"]

N_UNITS = 700
SHD_FILES: Dict[str, Dict[str, str]] = {
    "SHD": {"train": "shd_train.h5", "test": "shd_test.h5"},
    "SSC": {"train": "ssc_train.h5", "valid": "ssc_valid.h5", "test": "ssc_test.h5"},
}
SOURCE = ("https://zenkelab.org/datasets/ (download the .h5.gz / .h5.zip files and "
          "decompress them; tonic.datasets.SHD/SSC also fetches them)")
_CACHE_VERSION = 2     # 2: also the count of events at or after trial_ms
# samples per chunk when reading/binning: bounds temporary memory for SSC
_CHUNK = 4096


def _candidate_dirs(data_dir: str, dataset: str) -> List[str]:
    return [data_dir, os.path.join(data_dir, dataset), os.path.join(data_dir, dataset.lower()),
            os.path.join(data_dir, dataset, dataset)]


def find_hdf5(data_dir: str, dataset: str = "SHD", split: str = "train") -> str:
    """Path of the HDF5 file of ``dataset``/``split`` under ``data_dir``.

    Raises FileNotFoundError saying which file was expected, where it was
    looked for and where it comes from.
    """
    dataset = dataset.upper()
    if dataset not in SHD_FILES:
        raise ValueError(f"dataset must be one of {list(SHD_FILES)}, got {dataset!r}")
    if split not in SHD_FILES[dataset]:
        raise ValueError(f"{dataset} has splits {list(SHD_FILES[dataset])}, not {split!r}")
    name = SHD_FILES[dataset][split]
    dirs = _candidate_dirs(data_dir, dataset)
    for d in dirs:
        path = os.path.join(d, name)
        if os.path.isfile(path):
            return path
    hint = ""
    for d in dirs:
        for ext in (".gz", ".zip"):
            if os.path.isfile(os.path.join(d, name + ext)):
                hint = (f" Found the compressed {os.path.join(d, name + ext)!r}: "
                        "decompress it next to itself first.")
                break
        if hint:
            break
    raise FileNotFoundError(
        f"{dataset} {split} file {name!r} not found; looked in "
        f"{[os.path.abspath(d) for d in dirs]}.{hint} "
        f"The {dataset} files ({', '.join(SHD_FILES[dataset].values())}) come from {SOURCE}; "
        "set DATA_DIR to the directory holding them.")


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------

class DataError(ValueError):
    """A data file breaks a rule of its format; the message names the file,
    the sample and the rule."""


def _check_events(path: str, lo: int, t: np.ndarray, u: np.ndarray, ids: np.ndarray,
                  n_units: int) -> None:
    """Every event has a finite time >= 0 and a unit in [0, n_units)."""
    with np.errstate(invalid="ignore"):
        rules = ((~np.isfinite(t), "a spike time that is not a finite number", t),
                 (t < 0, "a negative spike time", t),
                 (u < 0, "a negative unit id", u),
                 (u >= n_units, f"a unit id beyond the {n_units} input channels "
                  f"(ids must lie in 0..{n_units - 1})", u))
    for bad, rule, values in rules:
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            samples = np.unique(ids[bad])
            raise DataError(
                f"{path}: sample {lo + int(ids[first])} has {rule} ({values[first]!r}); "
                f"{int(bad.sum())} such events in {len(samples)} sample(s) of samples "
                f"{lo}..{lo + int(ids.max(initial=0))}. Fix or drop them in the file")


def _read_chunk(times_ds, units_ds, lo: int, hi: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of samples lo..hi-1 as flat (times_s, units, local sample ids)."""
    if h5py.check_vlen_dtype(times_ds.dtype) is not None:
        t_rows = times_ds[lo:hi]
        u_rows = units_ds[lo:hi]
        counts = np.fromiter((len(r) for r in t_rows), dtype=np.int64, count=len(t_rows))
        ucounts = np.fromiter((len(r) for r in u_rows), dtype=np.int64, count=len(u_rows))
        if not np.array_equal(counts, ucounts):
            raise ValueError("spikes/times and spikes/units differ in per-sample length")
        t = np.concatenate(t_rows).astype(np.float64) if len(t_rows) else np.zeros(0)
        u = np.concatenate(u_rows).astype(np.int64) if len(u_rows) else np.zeros(0, np.int64)
        ids = np.repeat(np.arange(hi - lo, dtype=np.int64), counts)
        return t, u, ids
    t2 = np.asarray(times_ds[lo:hi], dtype=np.float64)
    u2 = np.asarray(units_ds[lo:hi])
    if t2.ndim != 2 or t2.shape != u2.shape:
        raise ValueError("padded spikes/times and spikes/units must be 2-D arrays of one shape")
    with np.errstate(invalid="ignore"):
        # padding (documented): a non-finite or negative time, or a negative unit
        valid = np.isfinite(t2) & (t2 >= 0) & (u2 >= 0)
    ids, col = np.nonzero(valid)
    return t2[ids, col], u2[ids, col].astype(np.int64), ids.astype(np.int64)


def _unreadable(path: str, err: Exception) -> DataError:
    return DataError(f"{path}: not a readable SHD/SSC HDF5 file ({type(err).__name__}: "
                     f"{err}); it may be truncated or corrupt: download it again from "
                     f"{SOURCE}")


def _open(path: str):
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise _unreadable(path, err) from None


def read_hdf5_events(path: str, chunk: int = _CHUNK, n_units: int = N_UNITS):
    """Yield ``(lo, hi, times_s, units, ids)`` for consecutive chunks of
    samples lo..hi-1 of ``path``: flat float64 times in seconds, int64 units
    and chunk-local sample ids (0..hi-lo-1), padding removed.

    DataError (naming the file and the sample) for a spike with a NaN,
    infinite or negative time or a unit outside [0, n_units) (in the padded
    layout such entries are padding, except a unit >= n_units), and for a
    file h5py cannot read."""
    with _open(path) as f:
        try:
            times_ds, units_ds = f["spikes/times"], f["spikes/units"]
            n = len(f["labels"])
            if len(times_ds) != n or len(units_ds) != n:
                raise DataError(f"{path}: {n} labels but {len(times_ds)} spike trains")
            for lo in range(0, n, chunk):
                hi = min(n, lo + chunk)
                t, u, ids = _read_chunk(times_ds, units_ds, lo, hi)
                _check_events(path, lo, t, u, ids, n_units)
                yield lo, hi, t, u, ids
        except (OSError, KeyError, TypeError) as err:
            raise _unreadable(path, err) from None
        except ValueError as err:
            if isinstance(err, DataError):
                raise
            raise DataError(f"{path}: {err}") from None


def _read_meta(path: str) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    with _open(path) as f:
        try:
            raw = np.asarray(f["labels"][()])
            speakers = None
            if "extra" in f and "speaker" in f["extra"]:
                speakers = np.asarray(f["extra/speaker"][()], dtype=np.int32)
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise _unreadable(path, err) from None
    if raw.ndim != 1 or raw.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be a 1-d array of integers, got "
                        f"{raw.dtype} of shape {raw.shape}")
    if raw.size and raw.min() < 0:
        first = int(np.flatnonzero(raw < 0)[0])
        raise DataError(f"{path}: sample {first} has the negative label {int(raw[first])}; "
                        "labels are class numbers 0, 1, ...")
    labels = raw.astype(np.int32)
    if speakers is not None and len(speakers) != len(labels):
        warnings.warn(f"{path}: extra/speaker has {len(speakers)} entries for "
                      f"{len(labels)} samples; ignoring speakers")
        speakers = None
    return labels, speakers


def bin_events(times_ms: np.ndarray, units: np.ndarray, ids: np.ndarray, n_samples: int,
               dt_ms: float, trial_ms: float, n_units: int = N_UNITS):
    """Round times down to the dt grid, drop events outside [0, trial_ms) or
    with units outside [0, n_units), merge duplicates (same sample, unit and
    bin); return (times_ms float32, units int32, counts per sample), sorted
    by (sample, time, unit)."""
    n_bins = int(np.ceil(trial_ms / dt_ms - 1e-9))
    # tiny tolerance: 0.003 s * 1000 may come out as 2.9999999 ms
    bins = np.floor(times_ms / dt_ms + 1e-7).astype(np.int64)
    keep = (bins >= 0) & (bins < n_bins) & (bins * dt_ms < trial_ms) \
        & (units >= 0) & (units < n_units)
    bins, units, ids = bins[keep], units[keep].astype(np.int64), ids[keep]
    key = np.sort((ids * n_bins + bins) * n_units + units)
    # merge duplicates (np.unique would do, but is ~50x slower than sort here)
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    units_out = (key % n_units).astype(np.int32)
    rest = key // n_units
    times_out = ((rest % n_bins) * dt_ms).astype(np.float32)
    counts = np.bincount(rest // n_bins, minlength=n_samples)
    return times_out, units_out, counts


def _load_raw(path: str, dt_ms: float, trial_ms: float):
    """(data set, [events at or after trial_ms, samples with such events,
    all events])."""
    labels, speakers = _read_meta(path)
    times, units, counts = [], [], []
    late = np.zeros(3, np.int64)
    for lo, hi, t_s, u, ids in read_hdf5_events(path):
        t_ms = t_s * 1000.0
        out = t_ms >= trial_ms
        late += (int(out.sum()), len(np.unique(ids[out])), len(t_ms))
        t, uu, c = bin_events(t_ms, u, ids, hi - lo, dt_ms, trial_ms)
        times.append(t)
        units.append(uu)
        counts.append(c)
    counts_all = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    return SpikeDataset(
        np.concatenate(times) if times else np.zeros(0, np.float32),
        np.concatenate(units) if units else np.zeros(0, np.int32),
        offsets_from_counts(counts_all), labels, N_UNITS, speakers, trial_ms), late


# ---------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------

def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/eventprop`` (``~/.cache/eventprop`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "eventprop")


def _cache_path(cache_dir: str, path: str, dataset: str, split: str, dt_ms: float,
                trial_ms: float) -> str:
    st = os.stat(path)
    key = json.dumps([os.path.abspath(path), st.st_size, st.st_mtime_ns, float(dt_ms),
                      float(trial_ms), dataset, split, _CACHE_VERSION])
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return os.path.join(cache_dir, f"{dataset.lower()}_{split}_{digest}.npz")


def _save_cache(cache_file: str, ds: SpikeDataset, late=(0, 0, 0)) -> None:
    os.makedirs(os.path.dirname(cache_file), exist_ok=True)
    # write to a temporary file and rename, so a crash never leaves a
    # half-written cache under the real name
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cache_file), suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, times=ds.times, units=ds.units, offsets=ds.offsets, labels=ds.labels,
                     speakers=ds.speakers if ds.speakers is not None else np.zeros(0, np.int32),
                     has_speakers=np.array(ds.speakers is not None),
                     meta=np.array([ds.n_units, ds.duration_ms, _CACHE_VERSION], np.float64),
                     late=np.asarray(late, np.int64))
        os.replace(tmp, cache_file)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _load_cache(cache_file: str):
    """(The cached data set, its late-event counts), or None if absent,
    corrupt or of another version."""
    if not os.path.isfile(cache_file):
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as z:
            n_units, duration, version = z["meta"]
            if int(version) != _CACHE_VERSION:
                return None
            speakers = z["speakers"] if bool(z["has_speakers"]) else None
            return SpikeDataset(z["times"], z["units"], z["offsets"], z["labels"],
                                int(n_units), speakers, float(duration)), z["late"]
    except Exception as err:  # any unreadable cache is simply rebuilt
        warnings.warn(f"ignoring unreadable cache {cache_file}: {err}")
        return None


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------

def load_shd(data_dir: str, dataset: str = "SHD", split: str = "train", dt_ms: float = 1.0,
             trial_ms: float = 1400.0, cache_dir: Optional[str] = None,
             use_cache: bool = True) -> SpikeDataset:
    """Load one split of SHD or SSC as a :class:`SpikeDataset` in ms.

    dataset:   "SHD" (splits "train", "test") or "SSC" ("train", "valid", "test").
    dt_ms:     time grid; times are rounded down to it and same-bin duplicates
               of a unit merged.
    trial_ms:  events at or after this time are dropped (duration_ms of the result),
               with a warning that counts them.
    cache_dir: where the preprocessed .npz goes (None: :func:`default_cache_dir`);
    use_cache: False skips reading and writing the cache.

    Raises DataError naming the file and the sample for an unreadable file,
    a negative label, or a spike with a NaN/negative time or a unit beyond
    the 700 channels.
    """
    dataset = dataset.upper()
    path = find_hdf5(data_dir, dataset, split)
    if dt_ms <= 0 or trial_ms <= 0:
        raise ValueError("dt_ms and trial_ms must be positive")
    cache_file = None
    if use_cache:
        cache_file = _cache_path(cache_dir or default_cache_dir(), path, dataset, split,
                                 dt_ms, trial_ms)
        cached = _load_cache(cache_file)
        if cached is not None:
            _warn_late(path, trial_ms, cached[1])
            return cached[0]
    ds, late = _load_raw(path, dt_ms, trial_ms)
    if cache_file is not None:
        try:
            _save_cache(cache_file, ds, late)
        except OSError as err:  # read-only cache location: still return the data
            warnings.warn(f"could not write cache {cache_file}: {err}")
    _warn_late(path, trial_ms, late)
    return ds


class LateSpikesWarning(UserWarning):
    """Spikes of a data file lie at or after TRIAL_MS and are dropped."""


def _warn_late(path: str, trial_ms: float, late) -> None:
    n_late, n_samples, n_all = (int(x) for x in late)
    if n_late:
        warnings.warn(f"{path}: {n_late} of {n_all} spikes ({n_late / max(n_all, 1):.1%}) "
                      f"in {n_samples} sample(s) lie at or after TRIAL_MS={trial_ms:g} ms "
                      "and are dropped; raise TRIAL_MS to keep them", LateSpikesWarning,
                      stacklevel=3)
