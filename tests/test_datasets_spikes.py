"""SpikeDataset container: construction, subset, neuron-major layout."""

import numpy as np
import pytest

from simulators.datasets import SpikeDataset


def make(seed=0, n=30, n_units=7, duration=50.0):
    rng = np.random.default_rng(seed)
    times, units = [], []
    for s in range(n):
        c = rng.integers(0, 20)
        times.append(rng.uniform(0, duration, c).round(1))
        units.append(rng.integers(0, n_units, c))
    labels = rng.integers(0, 3, n)
    return SpikeDataset.from_lists(times, units, labels, n_units, duration,
                                   speakers=rng.integers(0, 4, n)), times, units


def test_from_lists_sorted_and_sample():
    ds, times, units = make()
    ds.validate()
    assert len(ds) == 30 and ds.times.dtype == np.float32 and ds.units.dtype == np.uint16
    assert ds.offsets.dtype == np.int64 and ds.labels.dtype == np.int32
    for s in range(len(ds)):
        t, u = ds.sample(s)
        assert np.all(np.diff(t) >= 0)
        # same multiset of events as given
        got = sorted(zip(t.tolist(), u.tolist()))
        want = sorted(zip(np.float32(times[s]).tolist(), units[s].tolist()))
        assert got == want
    assert np.array_equal(ds.counts(), [len(t) for t in times])


def test_bad_offsets_rejected():
    with pytest.raises(ValueError):
        SpikeDataset(np.zeros(3), np.zeros(3), np.array([0, 2]), np.array([0]), 2)
    bad = SpikeDataset(np.array([2.0, 1.0]), np.array([0, 1]), np.array([0, 2]),
                       np.array([0]), 2, None, 5.0)
    with pytest.raises(ValueError, match="sorted"):
        bad.validate()
    with pytest.raises(ValueError, match="unit"):
        SpikeDataset(np.array([1.0]), np.array([5]), np.array([0, 1]), np.array([0]), 2,
                     None, 5.0).validate()


def test_subset_matches_per_sample():
    ds, _, _ = make(1)
    idx = np.array([5, 0, 5, 29, 3])
    sub = ds.subset(idx)
    assert len(sub) == 5
    assert np.array_equal(sub.labels, ds.labels[idx])
    assert np.array_equal(sub.speakers, ds.speakers[idx])
    for k, s in enumerate(idx):
        for a, b in zip(sub.sample(k), ds.sample(s)):
            assert np.array_equal(a, b)
    mask = ds.labels == 1
    assert np.array_equal(ds.subset(mask).labels, ds.labels[mask])
    assert len(ds[2:10]) == 8


def test_concatenate():
    a, _, _ = make(2, n=4)
    b, _, _ = make(3, n=6)
    c = SpikeDataset.concatenate([a, b])
    assert len(c) == 10 and c.n_events == a.n_events + b.n_events
    for a_, b_ in zip(c.sample(7), b.sample(3)):
        assert np.array_equal(a_, b_)


def test_to_neuron_major_round_trip():
    ds, _, _ = make(4)
    start, end, ts = ds.to_neuron_major()
    assert start.shape == end.shape == (len(ds), ds.n_units)
    assert ts.dtype == np.float32 and len(ts) == ds.n_events
    assert np.all(end >= start) and end[-1, -1] == ds.n_events
    assert np.array_equal(start.reshape(-1)[1:], end.reshape(-1)[:-1])  # contiguous
    for s in range(len(ds)):
        t, u = ds.sample(s)
        for unit in range(ds.n_units):
            seg = ts[start[s, unit]:end[s, unit]]
            assert np.array_equal(seg, np.sort(t[u == unit]))
    # and back: rebuild events from the layout
    ids = np.repeat(np.arange(len(ds) * ds.n_units), (end - start).reshape(-1))
    back = SpikeDataset.from_events(ts, ids % ds.n_units, ids // ds.n_units, ds.labels,
                                    ds.n_units, ds.duration_ms)
    for s in range(len(ds)):
        t0, u0 = ds.sample(s)
        t1, u1 = back.sample(s)
        assert sorted(zip(t0.tolist(), u0.tolist())) == sorted(zip(t1.tolist(), u1.tolist()))


def test_to_neuron_major_handles_empty_samples():
    ds = SpikeDataset.from_lists([np.array([]), np.array([3.0, 1.0])],
                                 [np.array([], int), np.array([1, 1])], [0, 1], 3, 10.0)
    start, end, ts = ds.to_neuron_major()
    assert np.array_equal(end - start, [[0, 0, 0], [0, 2, 0]])
    assert np.array_equal(ts[start[1, 1]:end[1, 1]], [1.0, 3.0])


def test_lexsort_and_sort_unique_events_match_reference():
    from simulators.datasets.spikes import lexsort, sort_unique_events
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 50, 5000)
    t = (rng.integers(0, 30, 5000) * 0.5).astype(np.float32)
    u = rng.integers(0, 700, 5000)
    assert np.array_equal(lexsort((u, t, ids)), np.lexsort((u, t, ids)))
    want = sorted(set(zip(ids.tolist(), t.tolist(), u.tolist())))
    got = sort_unique_events(ids, t, u, 700)
    assert list(zip(*[a.tolist() for a in got])) == want
    # ids too large to pack: the lexsort fallback gives the same answer
    big = sort_unique_events(ids + 2 ** 40, t, u, 700)
    assert list(zip((big[0] - 2 ** 40).tolist(), big[1].tolist(), big[2].tolist())) == want


def test_released_events_read_back_and_come_home():
    ds = SpikeDataset.from_lists([np.array([1.0, 2.0]), np.array([0.5])],
                                 [np.array([0, 2]), np.array([1])], [0, 1], 3, 10.0)
    t, u = ds.times.copy(), ds.units.copy()
    reads = []
    ds.release_events(lambda: (reads.append(1), (t.copy(), u.copy()))[1])
    assert not ds.held and ds.n_events == 3 and len(ds) == 2 and not reads
    # every access reads back (a transient copy), nothing is kept
    assert np.array_equal(ds.times, t) and np.array_equal(ds.units, u)
    sub = ds.subset([1])
    assert sub.held and np.array_equal(sub.times, [0.5]) and not ds.held
    assert len(reads) == 4
    with pytest.raises(AttributeError, match="released"):
        ds.times = t
    import pickle
    copy = pickle.loads(pickle.dumps(ds))       # carries its events
    assert copy.held and np.array_equal(copy.times, t) and not ds.held
    ds.restore_events()
    assert ds.held and np.array_equal(ds.sample(0)[0], [1.0, 2.0])
    n = len(reads)
    ds.times, ds.units
    assert len(reads) == n
