"""Training-data augmentations for spike data sets (SHD/SSC).

Each function takes a :class:`SpikeDataset` and a numpy random Generator
(or a seed) and returns a new data set; the input is never modified.  All
work on the flat event arrays (no Python loop over events or samples).
Labels (and speakers) are preserved; events pushed outside
[0, duration_ms) or [0, n_units) are dropped, so every result stays valid.

These follow genn_eventprop's utils.py, with differences noted per function.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from .spikes import SpikeDataset, lexsort, offsets_from_counts, sort_unique_events

__all__ = ["random_shift", "image_shift", "random_dilate", "id_jitter", "ID_jitter", "blend",
           "blend_dataset", "normalise_spike_number", "apply_augmentation"]


def _rng(rng) -> np.random.Generator:
    return np.random.default_rng(rng)


def _filtered(ds: SpikeDataset, times: np.ndarray, units: np.ndarray,
              keep: np.ndarray) -> SpikeDataset:
    """``ds`` with new per-event times/units, keeping events where ``keep``.
    The per-sample time order must already hold."""
    ids = ds.sample_ids()[keep]
    counts = np.bincount(ids, minlength=len(ds))
    offsets = np.zeros(len(ds) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return SpikeDataset(times[keep], units[keep], offsets, ds.labels.copy(), ds.n_units,
                        None if ds.speakers is None else ds.speakers.copy(), ds.duration_ms)


def random_shift(ds: SpikeDataset, max_shift: int, rng=None) -> SpikeDataset:
    """Shift all units of each sample by one integer drawn uniformly from
    [-max_shift, max_shift]; events leaving [0, n_units) are dropped.

    (genn_eventprop drew ``int(uniform(-x, x))``, which makes 0 twice as
    likely as other shifts; here every shift is equally likely.)
    """
    rng = _rng(rng)
    m = int(max_shift)
    shift = rng.integers(-m, m + 1, size=len(ds))
    units = ds.units.astype(np.int64) + np.repeat(shift, ds.counts())
    keep = (units >= 0) & (units < ds.n_units)
    return _filtered(ds, ds.times, units, keep)


def image_shift(ds: SpikeDataset, max_shift: int, width: int, rng=None) -> SpikeDataset:
    """Translate each sample's image (units = row-major pixel index of rows
    ``width`` wide) by (dx, dy), each drawn uniformly from
    [-max_shift, max_shift]; pixels leaving the image are dropped.

    The 2-D counterpart of :func:`random_shift` for image data (MNIST).
    """
    if ds.n_units % width:
        raise ValueError(f"{ds.n_units} units are not rows of width {width}")
    rng = _rng(rng)
    m = int(max_shift)
    height = ds.n_units // width
    shifts = rng.integers(-m, m + 1, size=(2, len(ds)))
    counts = ds.counts()
    units = ds.units.astype(np.int64)
    col = units % width + np.repeat(shifts[0], counts)
    row = units // width + np.repeat(shifts[1], counts)
    keep = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return _filtered(ds, ds.times, row * width + col, keep)


def random_dilate(ds: SpikeDataset, min_factor: float, max_factor: float, rng=None,
                  log_uniform: bool = True) -> SpikeDataset:
    """Scale each sample's times by one factor in [min_factor, max_factor];
    events at or after duration_ms are dropped.

    The factor is log-uniform by default, as in genn_eventprop (so
    stretching by f and compressing by 1/f are equally likely);
    ``log_uniform=False`` draws it uniformly.
    """
    if not 0 < min_factor <= max_factor:
        raise ValueError(f"need 0 < min_factor <= max_factor, got {min_factor}, {max_factor}")
    rng = _rng(rng)
    if log_uniform:
        fac = np.exp(rng.uniform(np.log(min_factor), np.log(max_factor), size=len(ds)))
    else:
        fac = rng.uniform(min_factor, max_factor, size=len(ds))
    times = (ds.times.astype(np.float64) * np.repeat(fac, ds.counts())).astype(np.float32)
    keep = times < ds.duration_ms
    return _filtered(ds, times, ds.units, keep)


def id_jitter(ds: SpikeDataset, sigma: float, rng=None, mode: str = "drop") -> SpikeDataset:
    """Move every event to unit ``u + round(normal(0, sigma))``.

    mode "drop" (genn_eventprop's behaviour) removes events that leave
    [0, n_units); "clip" moves them to the nearest edge unit instead.
    """
    if mode not in ("drop", "clip"):
        raise ValueError(f"mode must be 'drop' or 'clip', got {mode!r}")
    rng = _rng(rng)
    units = ds.units.astype(np.int64) + np.rint(
        rng.standard_normal(ds.n_events) * sigma).astype(np.int64)
    if mode == "clip":
        units = np.clip(units, 0, ds.n_units - 1)
    keep = (units >= 0) & (units < ds.n_units)
    return _filtered(ds, ds.times, units, keep)


ID_jitter = id_jitter  # the name used in AUGMENTATION


def _per_sample_mean(values: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    sums = np.bincount(ids, weights=values, minlength=len(counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts  # NaN for empty samples


def blend(ds: SpikeDataset, probs: Sequence[float], n_new: int, rng=None,
          merge_duplicates: bool = True) -> SpikeDataset:
    """``n_new`` new samples, each blended from ``len(probs)`` samples of one class
    (Nowotny et al. 2022).

    For each new sample a random sample fixes the class (and speaker);
    ``len(probs)`` samples of that class are drawn with replacement.  Each is
    moved so its centre of mass (mean unit, mean time) sits on the mean of
    the group's centres (shifts truncated to integers of units and ms, as in
    genn_eventprop), then each of its events is kept with probability
    ``probs[i]``.  Events that end up outside the bounds are dropped; with
    ``merge_duplicates`` identical (unit, time) events of one new sample are
    kept once.
    """
    rng = _rng(rng)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(probs)
    if n_new <= 0 or len(ds) == 0:
        return ds.subset(np.zeros(0, dtype=np.int64))
    base = rng.integers(0, len(ds), size=n_new)
    labels = ds.labels[base]
    # members of the same class: pick uniformly among that class's samples
    by_class = np.argsort(ds.labels, kind="stable")
    classes, start, count = np.unique(ds.labels[by_class], return_index=True,
                                      return_counts=True)
    ci = np.searchsorted(classes, labels)
    picks = start[ci][:, None] + (rng.random((n_new, k)) * count[ci][:, None]).astype(np.int64)
    parts = ds.subset(by_class[picks].reshape(-1))  # part j belongs to new sample j // k

    ids = parts.sample_ids()
    counts = parts.counts()
    mean_u = _per_sample_mean(parts.units.astype(np.float64), ids, counts).reshape(n_new, k)
    mean_t = _per_sample_mean(parts.times.astype(np.float64), ids, counts).reshape(n_new, k)
    with np.errstate(invalid="ignore"):
        # empty parts (NaN means) neither move nor pull the group centre
        n_ok = np.maximum((counts.reshape(n_new, k) > 0).sum(1, keepdims=True), 1)
        centre_u = np.nansum(mean_u, axis=1, keepdims=True) / n_ok
        centre_t = np.nansum(mean_t, axis=1, keepdims=True) / n_ok
        shift_u = np.nan_to_num(np.trunc(centre_u - mean_u)).reshape(-1).astype(np.int64)
        shift_t = np.nan_to_num(np.trunc(centre_t - mean_t)).reshape(-1)

    keep = rng.random(parts.n_events) < probs[ids % k]
    units = parts.units.astype(np.int64) + shift_u[ids]
    # bounds are checked on the float32 values that will be stored
    times = (parts.times.astype(np.float64) + shift_t[ids]).astype(np.float32)
    keep &= (units >= 0) & (units < ds.n_units) & (times >= 0) & (times < ds.duration_ms)
    new_ids = ids[keep] // k
    times, units = times[keep], units[keep]
    if merge_duplicates:
        new_ids, times, units = sort_unique_events(new_ids, times, units, ds.n_units)
    else:
        order = lexsort((times, new_ids))
        new_ids, times, units = new_ids[order], times[order], units[order]
    speakers = None if ds.speakers is None else ds.speakers[base]
    return SpikeDataset(times, units, offsets_from_counts(np.bincount(new_ids, minlength=n_new)),
                        labels, ds.n_units, speakers, ds.duration_ms)


def blend_dataset(ds: SpikeDataset, probs: Sequence[float], n_target: int,
                  rng=None) -> SpikeDataset:
    """``ds`` followed by ``n_target - len(ds)`` blended samples (none if
    ``ds`` already has ``n_target``), as genn_eventprop filled N_TRAIN."""
    n_new = n_target - len(ds)
    if n_new <= 0:
        return ds
    return SpikeDataset.concatenate([ds, blend(ds, probs, n_new, rng)])


def normalise_spike_number(ds: SpikeDataset, rng=None,
                           target: Optional[int] = None) -> SpikeDataset:
    """Keep exactly ``min(target, count)`` randomly chosen events of each
    sample (default target: the smallest count in ``ds``).

    genn_eventprop thinned each event with probability target/count, which
    only matches the target on average; this draws the exact number.
    Pass the training set's target when normalising a validation set.
    """
    rng = _rng(rng)
    counts = ds.counts()
    if target is None:
        target = int(counts.min()) if len(ds) else 0
    ids = ds.sample_ids()
    # random rank of each event within its sample (sort by sample id plus a
    # random fraction); keep the lowest `target`
    order = np.argsort(ids + rng.random(ds.n_events))
    rank = np.arange(ds.n_events) - ds.offsets[ids[order]]
    keep = np.zeros(ds.n_events, dtype=bool)
    keep[order[rank < target]] = True
    return _filtered(ds, ds.times, ds.units, keep)


def apply_augmentation(ds: SpikeDataset, augmentation: Mapping[str, object], rng=None,
                       n_target: Optional[int] = None) -> SpikeDataset:
    """Apply an AUGMENTATION dict in its order, e.g.
    ``{"blend": [0.5, 0.5], "random_shift": 40, "random_dilate": [0.9, 1.1],
    "ID_jitter": 5}``.  ``n_target`` (N_TRAIN) is the size "blend" fills up to.
    """
    rng = _rng(rng)
    for name, arg in augmentation.items():
        if name == "random_shift":
            ds = random_shift(ds, arg, rng)
        elif name == "random_dilate":
            ds = random_dilate(ds, arg[0], arg[1], rng)
        elif name == "ID_jitter":
            ds = id_jitter(ds, arg, rng)
        elif name == "blend":
            if n_target is None:
                raise ValueError("the 'blend' augmentation needs n_target (N_TRAIN)")
            ds = blend_dataset(ds, arg, n_target, rng)
        else:
            raise ValueError(f"unknown augmentation {name!r}; choose from "
                             "['random_shift', 'random_dilate', 'ID_jitter', 'blend']")
    return ds
