"""The event-driven input (the engine's event source) against input_neuron:
the same forward spikes and gradients, dropout with the same statistics, and
the compact data layout it reads."""
import dataclasses

import numpy as np
import pytest

from genn_models.input_data import (event_steps, events_from_neuron_major,
                                    neuron_major, raw_steps)
from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from simulators.datasets import SpikeDataset
from tests.eventprop_harness import to_neuron_major

N_IN, N_H, N_OUT, T, DT, B = 12, 8, 3, 30.0, 0.5, 3
_rng = np.random.default_rng(5)


def _sample(rng):
    chans = []
    for c in range(N_IN):
        t = list(rng.uniform(0, T, rng.integers(0, 6)))
        if c % 3 == 0:                       # on grid points
            t += list(rng.integers(0, int(T / DT), 2) * DT)
        if c % 4 == 1 and t:                 # two spikes due in one step
            t.append(t[0] + 0.1 * DT)
        chans.append(sorted(t))
    return chans


SAMPLES = [_sample(_rng) for _ in range(5)]
LABELS = [0, 1, 2, 1, 0]
W_IN = _rng.normal(0.6, 0.4, N_IN * N_H)
W_OUT = _rng.normal(0.3, 1.0, N_H * N_OUT)


def _cfg(**kw):
    base = dict(n_in=N_IN, hidden=[HiddenLayer(N_H, n_max_spike=200)],
                n_out=N_OUT, loss="sum_weigh_exp", trial_ms=T, dt=DT,
                batch_size=B, precision="double", model_name="evp_evin",
                record_spikes=("input", "hidden0"), n_max_spike_in=60,
                overflow="error", seed=3)
    base.update(kw)
    return NetworkConfig(**base)


def _run(cfg, order, n_trials, data="neuron_major"):
    net = EventPropNetwork(cfg).build()
    if data == "neuron_major":
        net.set_data(*to_neuron_major(SAMPLES, N_IN), LABELS)
    else:
        t, u, off = events_from_neuron_major(*to_neuron_major(SAMPLES, N_IN))
        net.set_events(SpikeDataset(t.astype(np.float32), u, off, LABELS,
                                    N_IN, duration_ms=T))
    net.load()
    net.set("w_in0", W_IN)
    net.set("w_out", W_OUT)
    net.set_order(order)
    out = []
    for k in range(n_trials):
        res = net.run_trial(k)
        spikes = {p: [(np.round(t / DT).astype(int), i.copy())
                      for t, i in net.spikes(p)] for p in ("input", "hidden0")}
        out.append((res, spikes, net.reduce_gradients()))
    return net, out


@pytest.mark.parametrize("precision", ["double", "float"])
def test_event_input_equals_input_neuron(precision):
    # an empty slot (-1) and repeated samples; gradients after each trial are
    # the previous trial's
    order = [0, 1, 2, 3, -1, 4, 2, 0, 1, 4, 3, 2]
    _, old = _run(_cfg(precision=precision, event_input=False), order, 4)
    net, new = _run(_cfg(precision=precision, event_input=True), order, 4)
    assert net.event_input
    n_in_spikes = 0
    for (r0, s0, g0), (r1, s1, g1) in zip(old, new):
        for pop in ("input", "hidden0"):
            for (st0, i0), (st1, i1) in zip(s0[pop], s1[pop]):
                np.testing.assert_array_equal(st1, st0)
                np.testing.assert_array_equal(i1, i0)
                n_in_spikes += len(i0) if pop == "input" else 0
        if r0 is not None:
            np.testing.assert_array_equal(r1["z"], r0["z"])
        for k in g0:
            np.testing.assert_array_equal(g1[k], g0[k], err_msg=k)
    assert n_in_spikes > 100
    assert np.abs(new[-1][2]["w_in0"]).max() > 0


def test_event_input_takes_spike_datasets():
    order = [0, 1, 2, 3, 4, -1]
    cfg = _cfg(event_input=True, precision="float")
    _, a = _run(cfg, order, 3)
    _, b = _run(cfg, order, 3, data="events")
    for (_, s0, g0), (_, s1, g1) in zip(a, b):
        for (st0, i0), (st1, i1) in zip(s0["input"], s1["input"]):
            np.testing.assert_array_equal(st1, st0)
            np.testing.assert_array_equal(i1, i0)
        for k in g0:
            np.testing.assert_array_equal(g1[k], g0[k])


def _store(net):
    egps = net.inp.extra_global_params
    n = net.n_samples
    starts = egps["sampleStart"].view[:n + 1].copy()
    return (starts, egps["eventStep"].view[:starts[-1]].copy(),
            egps["eventUnit"].view[:starts[-1]].copy(),
            egps["labels"].view[:n].copy())


@pytest.mark.parametrize("precision", ["double", "float"])
def test_events_read_back_and_partial_re_upload(precision):
    """The sample store's events read back on the time grid upload to the
    same store; ``keep`` replaces only the samples after the kept ones."""
    t, u, off = events_from_neuron_major(*to_neuron_major(SAMPLES, N_IN))
    ds = SpikeDataset(t.astype(np.float32), u, off, LABELS, N_IN, duration_ms=T)
    head, tail = ds.subset([0, 1]), ds.subset([2, 3, 4])
    net = EventPropNetwork(_cfg(event_input=True, precision=precision)).build()
    net.set_events([head, tail], reserve=2.0)
    net.load()
    full = _store(net)
    # read back: step * dt maps to the same steps again
    rt, ru, roff = net.events_on_device(0, 5)
    again = SpikeDataset(rt, ru, roff, LABELS, N_IN, duration_ms=T)
    net.set_events([again])
    for x, y in zip(full, _store(net)):
        np.testing.assert_array_equal(x, y)
    # the tail replaced by other samples: the head stays, the rest is as a
    # full upload of both would be
    other = ds.subset([4, 4, 3, 0])
    net.set_events([other], keep=2)
    mixed = _store(net)
    ref = EventPropNetwork(_cfg(event_input=True, precision=precision)).build()
    ref.set_events([head, other])
    ref.load()
    for x, y in zip(_store(ref), mixed):
        np.testing.assert_array_equal(x, y)
    assert net.n_samples == 6
    with pytest.raises(ValueError, match="keep"):
        net.set_events([other], keep=7)


def test_event_input_dropout_statistics():
    """Dropout per spike: the kept fraction (overall and per unit) matches
    input_neuron's, reproducible from the seed, fresh in every trial."""
    p, n_trials = 0.3, 12
    order = np.tile([0, 1, 2], n_trials + 1)
    nominal = sum(len(c) for s in (0, 1, 2) for c in SAMPLES[s])
    kept, per_unit = {}, {}
    for ev in (False, True):
        cfg = _cfg(event_input=ev, pdrop_in=p, seed=9)
        _, runs = _run(cfg, order, n_trials)
        counts = np.zeros(N_IN)
        for _, s, g in runs:
            for _, i in s["input"]:
                counts += np.bincount(i, minlength=N_IN)
            assert all(np.all(np.isfinite(v)) for v in g.values())
        kept[ev] = counts.sum() / (n_trials * nominal)
        per_unit[ev] = counts
        if ev:
            _, again = _run(cfg, order, 2)
            for (_, s0, _), (_, s1, _) in zip(runs[:2], again):
                for (st0, i0), (st1, i1) in zip(s0["input"], s1["input"]):
                    np.testing.assert_array_equal(st1, st0)
                    np.testing.assert_array_equal(i1, i0)
            # each trial drops afresh
            assert any(not np.array_equal(a[1], b[1]) for a, b in
                       zip(runs[0][1]["input"], runs[1][1]["input"]))
    n = n_trials * nominal
    sd = np.sqrt(p * (1 - p) / n)
    for ev in (False, True):
        assert abs(kept[ev] - (1 - p)) < 4 * sd, kept
    assert abs(kept[True] - kept[False]) < 5.7 * sd
    # per unit, kept counts agree within binomial noise
    tot = np.array([sum(len(SAMPLES[s][c]) for s in (0, 1, 2))
                    for c in range(N_IN)]) * n_trials
    z = (per_unit[True] - per_unit[False]) / np.sqrt(2 * tot * p * (1 - p) + 1e-9)
    assert np.all(np.abs(z) < 4.5), z


def test_event_record_is_sized_to_the_data():
    """No per-neuron ring buffer: N_MAX_SPIKE_IN does not limit the input."""
    cfg = _cfg(event_input=True, n_max_spike_in=1)
    net, runs = _run(cfg, [0, 1, 2, 3, 4, -1], 3)
    assert net.overflow_count == 0
    assert "tk" not in net.inp.extra_global_params
    cap = max(sum(len(c) for c in s) for s in SAMPLES)
    assert net.inp.extra_global_params["recordStep"].view.size == 2 * B * cap
    assert net.inp.extra_global_params["eventUnit"].view.dtype == np.uint16
    assert net.inp.extra_global_params["eventStep"].view.dtype == np.uint16
    # 4 bytes per event; steps as int32 only for trials of 2**16 steps or more
    long = EventPropNetwork(_cfg(event_input=True, trial_ms=2 ** 16 * DT))
    assert long.inp.extra_global_params["eventStep"].type == "int*"


def test_event_layout_round_trip():
    rng = np.random.default_rng(1)
    n_units, dt = 50, 1.0
    times, units, counts = [], [], []
    for _ in range(40):
        m = rng.integers(0, 200)
        t = np.sort(rng.uniform(0, 100, m)).astype(np.float32)
        t[: m // 4] = np.round(t[: m // 4])            # some on the grid
        times.append(t)
        units.append(rng.integers(0, n_units, m))
        counts.append(m)
    ds = SpikeDataset.from_lists(times, units, np.zeros(40, int), n_units, 100.0)
    step, unit = event_steps(ds.times, ds.units, ds.offsets, n_units, dt,
                             "float", chunk=7)
    assert step.dtype == np.int32 and unit.dtype == np.uint16
    for s in range(len(ds)):
        sl = slice(ds.offsets[s], ds.offsets[s + 1])
        st, un = step[sl].astype(np.int64), unit[sl].astype(np.int64)
        # sorted by (step, unit), one spike per unit and step
        key = st * n_units + un
        assert np.all(np.diff(key) > 0)
        # per unit: input_neuron's rule, a spike waits for the next free step
        t, u = ds.sample(s)
        r = raw_steps(t, dt, "float")
        for c in np.unique(u):
            want, last = [], -1
            for x in r[u == c]:
                last = max(x, last + 1)
                want.append(last)
            np.testing.assert_array_equal(st[un == c], want)
    # the same steps as uint16 (trials of fewer than 2**16 steps); steps
    # out of range are stored as the type's maximum (after any trial's end)
    s16 = np.empty(len(step), np.uint16)
    event_steps(ds.times, ds.units, ds.offsets, n_units, dt, "float",
                out_step=s16, out_unit=np.empty(len(step), np.uint16))
    np.testing.assert_array_equal(s16, step)
    far, _ = event_steps(np.array([1e6], np.float32), np.array([0]), [0, 1],
                         n_units, 1.0, out_step=np.empty(1, np.uint16))
    assert far[0] == 65535
    # data binned to the grid pass through unchanged
    binned = SpikeDataset.from_lists(
        [np.arange(5, dtype=np.float32) * 2 * dt] * 3,
        [np.array([3, 1, 4, 1, 5])] * 3, [0, 0, 0], n_units, 20.0)
    st, un = event_steps(binned.times, binned.units, binned.offsets, n_units,
                         dt)
    np.testing.assert_array_equal(st, np.tile([0, 2, 4, 6, 8], 3))
    np.testing.assert_array_equal(un, binned.units)
    # the neuron-major layout, chunked, equals the data set's own
    for a, b in zip(neuron_major(ds.times, ds.units, ds.offsets, n_units, 3),
                    ds.to_neuron_major()):
        np.testing.assert_array_equal(a, b)
    # and back again
    t, u, off = events_from_neuron_major(*ds.to_neuron_major())
    np.testing.assert_array_equal(off, ds.offsets)
    for s in range(len(ds)):
        sl = slice(off[s], off[s + 1])
        t0, u0 = ds.sample(s)
        assert sorted(zip(t[sl], u[sl])) == sorted(zip(t0, u0))


def test_real_genn_keeps_the_neuron_major_input():
    pytest.importorskip("pygenn")
    cfg = dataclasses.replace(_cfg(batch_size=1), backend="genn_cpu")
    net = EventPropNetwork(cfg)
    assert not net.event_input
    assert "spikeTimes" in net.inp.extra_global_params
    with pytest.raises(ValueError, match="event"):
        EventPropNetwork(dataclasses.replace(cfg, event_input=True))
