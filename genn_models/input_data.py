"""Input spike data in the layouts the input populations read (pure numpy).

Event layout (the engine's event-driven input, genn_engine/event_source.py):
per sample, its events sorted by (step, unit), as emission step (uint16 for
trials of fewer than 65536 steps, else int32) and uint16 unit (4 or 6 bytes
per event), with per-sample offsets. The emission step
of a spike at t_s is GeNN's SpikeSourceArray rule as ``input_neuron`` applies
it: the first step n of the trial with n dt >= t_s, i.e.
n = ceil(t_s/dt - 1e-6 max(t_s/dt, 1)), computed in the network's precision;
and a neuron emits at most one spike per step, so a second spike of a unit
due in the same step is emitted one step later (as input_neuron does).

Neuron-major layout (``input_neuron``, real GeNN): start/end (n_samples,
n_units) index a flat array of times, ascending per (sample, unit).

Conversions work ``chunk`` samples at a time, so temporaries stay small next
to the data (SHD: ~80M events).
"""
import numpy as np

INT32_MAX = np.iinfo(np.int32).max


def raw_steps(times, dt, precision="float"):
    """Emission step of each spike time (input_neuron's ``due`` rule), int64."""
    ft = np.float32 if precision == "float" else np.float64
    x = np.asarray(times, ft) / ft(dt)
    return np.ceil(x - ft(1e-6) * np.maximum(x, ft(1.0))).astype(np.int64)


def _chunks(offsets, chunk):
    n = len(offsets) - 1
    for lo in range(0, n, chunk):
        yield lo, min(n, lo + chunk)


def event_steps(times, units, offsets, n_units, dt, precision="float",
                out_step=None, out_unit=None, chunk=512):
    """Event layout of samples given as time-sorted events per sample
    (SpikeDataset's times/units/offsets): (steps int32, units uint16).

    Writes into ``out_step``/``out_unit`` when given (e.g. the engine's
    buffers), else into new arrays (int32 steps). Steps beyond the range of
    the step type are stored as its maximum (after any trial's end). Events
    stay within their sample's ``offsets`` range, so offsets carry over
    unchanged.
    """
    offsets = np.asarray(offsets, np.int64)
    n_ev = int(offsets[-1]) if len(offsets) else 0
    if n_units > 65536:
        raise ValueError(f"{n_units} input units do not fit uint16 unit ids")
    if out_step is None:
        out_step = np.empty(n_ev, np.int32)
    if out_unit is None:
        out_unit = np.empty(n_ev, np.uint16)
    step_max = min(INT32_MAX, np.iinfo(out_step.dtype).max)
    for lo, hi in _chunks(offsets, chunk):
        a, b = int(offsets[lo]), int(offsets[hi])
        if a == b:
            continue
        r = raw_steps(times[a:b], dt, precision)
        u = np.asarray(units[a:b])
        counts = np.diff(offsets[lo:hi + 1])
        first = np.zeros(b - a, bool)
        first[(offsets[lo:hi] - a)[counts > 0]] = True
        # data binned to the grid (SHD) are sorted by (step, unit) with one
        # spike per unit and step already: nothing to do
        ok = (r[1:] > r[:-1]) | ((r[1:] == r[:-1]) & (u[1:] > u[:-1]))
        if not np.all(ok | first[1:]):
            r, u = _defer_and_sort(r, u, counts, n_units)
        np.minimum(r, step_max, out=r)
        out_step[a:b] = r
        out_unit[a:b] = u
    return out_step, out_unit


def _defer_and_sort(r, u, counts, n_units):
    """One spike per unit and step (a later one waits for the next free
    step, in time order per unit), then order by (step, unit) per sample."""
    n = len(r)
    sid = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    key = sid * n_units + np.asarray(u, np.int64)
    order = np.argsort(key, kind="stable")      # time order within a unit
    ks, rs = key[order], r[order]
    new = np.ones(n, bool)
    new[1:] = ks[1:] != ks[:-1]
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    pos = np.arange(n, dtype=np.int64) - starts[gid]
    # e_k = max(r_k, e_{k-1} + 1) = pos_k + max_{j <= k} (r_j - pos_j),
    # a running max that restarts per group (groups offset by `big`)
    v = rs - pos + n
    big = int(v.max()) + 1
    e_sorted = np.maximum.accumulate(v + gid * big) - gid * big - n + pos
    e = np.empty(n, np.int64)
    e[order] = e_sorted
    key2 = (sid * (int(e.max()) + 1) + e) * n_units + np.asarray(u, np.int64)
    order2 = np.argsort(key2, kind="stable")
    return e[order2], np.asarray(u)[order2]


def events_from_neuron_major(start, end, times):
    """Neuron-major (start, end, times) -> (times, units, offsets): per
    sample, events sorted by time (ties by unit)."""
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    times = np.asarray(times)
    if start.ndim != 2 or start.shape != end.shape:
        raise ValueError("start and end must have the same shape "
                         "(n_samples, n_in)")
    n, nu = start.shape
    lengths = (end - start).ravel()
    if np.any(lengths < 0):
        raise ValueError("end must not be smaller than start")
    first = np.repeat(start.ravel(), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths,
                                                  lengths)
    t = times[first + within]
    unit = np.repeat(np.tile(np.arange(nu), n), lengths)
    sample = np.repeat(np.repeat(np.arange(n), nu), lengths)
    order = np.lexsort((unit, t, sample))
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(sample, minlength=n), out=offsets[1:])
    return t[order], unit[order], offsets


def neuron_major(times, units, offsets, n_units, chunk=512):
    """(start, end, times) for a spike-source array from time-sorted events
    per sample, ``chunk`` samples at a time (int64 sort keys for one chunk
    only). start/end are int32 below 2**31 events, else int64."""
    offsets = np.asarray(offsets, np.int64)
    n, nu = len(offsets) - 1, n_units
    n_ev = int(offsets[-1]) if len(offsets) else 0
    dtype = np.int32 if n_ev < 2 ** 31 else np.int64
    start = np.empty((n, nu), dtype)
    end = np.empty((n, nu), dtype)
    out = np.empty(n_ev, np.float32)
    for lo, hi in _chunks(offsets, chunk):
        a, b = int(offsets[lo]), int(offsets[hi])
        counts = np.diff(offsets[lo:hi + 1])
        key = np.repeat(np.arange(hi - lo, dtype=np.int64) * nu, counts) \
            + units[a:b]
        # events are time-sorted within a sample: a stable sort keeps each
        # unit's times ascending
        out[a:b] = times[a:b][np.argsort(key, kind="stable")]
        c = np.bincount(key, minlength=(hi - lo) * nu)
        e = np.cumsum(c, dtype=np.int64) + a
        end[lo:hi] = e.reshape(hi - lo, nu)
        start[lo:hi] = (e - c).reshape(hi - lo, nu)
    return start, end, out
