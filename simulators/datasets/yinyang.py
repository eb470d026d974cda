"""The Yin-Yang data set (Kriener et al. 2022) and its spike-time encoding.

Geometry as in the authors' public generator (github.com/lkriener/
yin_yang_data_set): radii r_small=0.1, r_big=0.5; points uniform in the
square [0, 2*r_big]^2, rejected outside the big circle; each sample first
draws its class uniformly and then rejection-samples a point of that class,
so the classes are balanced in expectation.  Inputs are (x, y, 1-x, 1-y).

Drawn with a numpy Generator, vectorised, so the numbers differ from the
reference generator (which uses the legacy global RNG) for the same seed;
the distribution is the same.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .spikes import SpikeDataset

__all__ = ["which_class", "yinyang_data", "encode_yinyang", "yinyang_dataset",
           "N_CLASSES", "N_INPUTS"]

N_CLASSES = 3
N_INPUTS = 5  # bias + x, y, 1-x, 1-y


def which_class(x: np.ndarray, y: np.ndarray, r_small: float = 0.1,
                r_big: float = 0.5) -> np.ndarray:
    """Class of points (x, y) inside the big circle: 2 for the two dots,
    1 where the reference generator's ``is_yin`` holds, else 0."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    is_yin = ((d_right <= r_small)
              | ((d_left > r_small) & (d_left <= 0.5 * r_big))
              | ((y > r_big) & (d_right > 0.5 * r_big)))
    is_dot = (d_right < r_small) | (d_left < r_small)
    return np.where(is_dot, 2, is_yin.astype(np.int32)).astype(np.int32)


def yinyang_data(n: int, seed=None, r_small: float = 0.1,
                 r_big: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """``n`` Yin-Yang samples: coords (n, 4) float64 = (x, y, 1-x, 1-y) in
    [0, 1] and labels (n,) int32, from ``seed`` (int, None or Generator)."""
    rng = np.random.default_rng(seed)
    goal = rng.integers(0, N_CLASSES, size=n)
    xy = np.empty((n, 2))
    for c in range(N_CLASSES):
        need = np.flatnonzero(goal == c)
        got = []
        n_got = 0
        while n_got < len(need):
            # oversample: the dot class covers only ~8% of the circle
            m = max(64, 16 * (len(need) - n_got))
            p = rng.random((m, 2)) * 2.0 * r_big
            inside = np.hypot(p[:, 0] - r_big, p[:, 1] - r_big) <= r_big
            p = p[inside]
            p = p[which_class(p[:, 0], p[:, 1], r_small, r_big) == c]
            got.append(p)
            n_got += len(p)
        xy[need] = np.concatenate(got)[:len(need)]
    coords = np.column_stack([xy[:, 0], xy[:, 1], 1.0 - xy[:, 0], 1.0 - xy[:, 1]])
    return coords, goal.astype(np.int32)


def encode_yinyang(coords: np.ndarray, t_early: float = 0.2, t_late: float = 29.8,
                   bias_time: Optional[float] = None, labels: Optional[np.ndarray] = None,
                   duration_ms: float = 30.0) -> SpikeDataset:
    """Time-to-first-spike code: one spike per input unit.

    Unit 0 is a bias unit spiking at ``bias_time`` (default ``t_early``);
    units 1-4 carry the four coordinates c in [0, 1] at
    ``t = t_early + c * (t_late - t_early)``.  The defaults reproduce
    genn_eventprop's Yin-Yang encoding for TRIAL_MS=30 and DT_MS=0.1:
    ``t = 2*DT + c*(TRIAL_MS - 4*DT)``, keeping every spike two time steps
    inside the trial, with the bias (a zero coordinate) at 2*DT.
    ``labels`` default to -1 (unlabelled).
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 4:
        raise ValueError(f"coords must have shape (n, 4), got {coords.shape}")
    n = len(coords)
    if labels is None:
        labels = np.full(n, -1, dtype=np.int32)
    if bias_time is None:
        bias_time = t_early
    t = np.empty((n, N_INPUTS))
    t[:, 0] = bias_time
    t[:, 1:] = t_early + coords * (t_late - t_early)
    if t.min(initial=0.0) < 0 or (n and t.max() >= duration_ms):
        raise ValueError(f"encoded times must lie in [0, {duration_ms}); "
                         "check t_early, t_late, bias_time and coords")
    order = np.argsort(t, axis=1, kind="stable")  # time order within each sample
    times = np.take_along_axis(t, order, axis=1).reshape(-1)
    units = order.reshape(-1)
    offsets = np.arange(n + 1, dtype=np.int64) * N_INPUTS
    return SpikeDataset(times, units, offsets, labels, N_INPUTS, None, duration_ms)


def yinyang_dataset(n: int, seed=None, trial_ms: float = 30.0,
                    dt_ms: float = 0.1) -> SpikeDataset:
    """``n`` encoded Yin-Yang samples with genn_eventprop's timing
    (spikes in [2*dt, trial_ms - 2*dt])."""
    coords, labels = yinyang_data(n, seed)
    return encode_yinyang(coords, t_early=2 * dt_ms, t_late=trial_ms - 2 * dt_ms,
                          labels=labels, duration_ms=trial_ms)
