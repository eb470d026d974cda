"""Augmentations: effects on constructed samples, bounds, labels."""

import numpy as np
import pytest

from simulators.datasets import (SpikeDataset, apply_augmentation, blend, blend_dataset,
                                 id_jitter, normalise_spike_number, random_dilate,
                                 random_shift)
from simulators.datasets.augment import image_shift
from simulators.datasets.mnist import latency_encode


def grid_sample(n_units=20, duration=100.0):
    """One sample: unit u spikes at 10*u ms for units 0..9."""
    t = np.arange(10) * 10.0
    u = np.arange(10)
    return t, u


def dataset(n=40, n_units=20, duration=100.0, seed=0):
    rng = np.random.default_rng(seed)
    times, units = [], []
    for _ in range(n):
        c = rng.integers(5, 40)
        times.append(rng.integers(0, int(duration), c).astype(float))
        units.append(rng.integers(0, n_units, c))
    return SpikeDataset.from_lists(times, units, rng.integers(0, 4, n), n_units, duration,
                                   speakers=rng.integers(0, 3, n))


def check_valid(out, ds):
    """Bounds and per-sample order hold; samples, labels and shape preserved."""
    out.validate()
    assert len(out) == len(ds) and np.array_equal(out.labels, ds.labels)
    assert out.n_units == ds.n_units and out.duration_ms == ds.duration_ms


def test_random_shift_moves_all_units_of_a_sample_together():
    t, u = grid_sample()
    ds = SpikeDataset.from_lists([t] * 200, [u] * 200, np.arange(200) % 5, 20, 100.0)
    out = random_shift(ds, 15, rng=0)
    check_valid(out, ds)
    assert np.array_equal(out.labels, ds.labels)
    shifts = []
    for s in range(len(out)):
        to, uo = out.sample(s)
        d = np.unique(uo - (to / 10).astype(int))   # unit - original unit
        assert len(d) <= 1
        if len(d):
            shifts.append(d[0])
            # kept exactly the events whose shifted unit is in range
            assert len(uo) == np.sum((u + d[0] >= 0) & (u + d[0] < 20))
    shifts = np.array(shifts)
    assert shifts.min() >= -15 and shifts.max() <= 15 and len(np.unique(shifts)) > 10
    # a large negative shift drops events
    assert out.counts().min() < 10


def test_image_shift_equals_shifting_the_image():
    """Each sample equals the latency code of its image translated by some
    (dx, dy) in [-2, 2]^2, with pixels pushed off the image lost."""
    rng = np.random.default_rng(4)
    images = (rng.random((60, 7, 5)) * 300).clip(0, 255).astype(np.uint8)
    ds = latency_encode(images, labels=np.arange(60) % 3)
    out = image_shift(ds, 2, 5, rng=1)
    check_valid(out, ds)
    seen = set()
    for s in range(len(ds)):
        got = sorted(zip(*[a.tolist() for a in out.sample(s)]))
        match = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                img = np.zeros_like(images[s])
                src = images[s][max(0, -dy):7 - max(0, dy), max(0, -dx):5 - max(0, dx)]
                img[max(0, dy):max(0, dy) + src.shape[0],
                    max(0, dx):max(0, dx) + src.shape[1]] = src
                ref = latency_encode(img[None])
                if sorted(zip(*[a.tolist() for a in ref.sample(0)])) == got:
                    match.append((dx, dy))
        assert match, f"sample {s} is no shifted copy of its image"
        seen.update(match)
    assert len(seen) > 15            # the shifts vary across samples
    with pytest.raises(ValueError, match="width"):
        image_shift(ds, 1, 6)


def test_random_dilate_scales_times():
    t, u = grid_sample()
    ds = SpikeDataset.from_lists([t] * 100, [u] * 100, np.zeros(100, int), 20, 100.0)
    out = random_dilate(ds, 0.5, 2.0, rng=1)
    check_valid(out, ds)
    facs = []
    for s in range(len(out)):
        to, uo = out.sample(s)
        f = to[1:] / t[uo[1:]]       # unit k originally at 10*k ms
        assert np.allclose(f, f[0], rtol=1e-5)
        facs.append(f[0])
        assert np.array_equal(uo, u[:len(uo)])     # late events dropped, early kept
    facs = np.array(facs)
    assert facs.min() >= 0.5 - 1e-6 and facs.max() <= 2.0 + 1e-6
    assert (facs < 1).any() and (facs > 1.2).any()
    out_u = random_dilate(ds, 0.9, 1.1, rng=1, log_uniform=False)
    assert out_u.n_events > 0
    with pytest.raises(ValueError):
        random_dilate(ds, 1.2, 0.8)


def test_id_jitter():
    ds = dataset(60)
    out = id_jitter(ds, 2.0, rng=3)
    check_valid(out, ds)
    assert np.array_equal(out.labels, ds.labels) and np.array_equal(out.speakers, ds.speakers)
    assert out.n_events <= ds.n_events and out.n_events > 0.8 * ds.n_events
    # zero jitter is the identity
    same = id_jitter(ds, 0.0, rng=3)
    assert np.array_equal(same.units, ds.units) and np.array_equal(same.times, ds.times)
    clipped = id_jitter(ds, 50.0, rng=3, mode="clip")
    assert clipped.n_events == ds.n_events
    assert set(np.unique(clipped.units)) <= set(range(ds.n_units))
    # jitter changes units only: times of a sample stay a sub-multiset
    big = id_jitter(ds, 1.0, rng=4)
    for s in range(len(ds)):
        assert set(big.sample(s)[0].tolist()) <= set(ds.sample(s)[0].tolist())


def test_blend_same_class_and_centred():
    # class 0: events around unit 5 / 30 ms, class 1: around unit 15 / 70 ms
    times, units, labels = [], [], []
    for k in range(10):
        c = k % 2
        base_u, base_t = (5, 30.0) if c == 0 else (15, 70.0)
        off = k // 2 - 2          # shift each sample a little
        times.append(base_t + off + np.arange(-3, 4, dtype=float))
        units.append(np.full(7, base_u + off))
        labels.append(c)
    ds = SpikeDataset.from_lists(times, units, labels, 20, 100.0, speakers=np.arange(10))
    new = blend(ds, [0.5, 0.5], 200, rng=5)
    new.validate()
    assert len(new) == 200 and new.n_units == 20 and new.duration_ms == 100.0
    assert set(np.unique(new.labels)) == {0, 1}
    for s in range(len(new)):
        t, u = new.sample(s)
        u = u.astype(int)       # uint16 ids would wrap around below zero
        if len(t) == 0:
            continue
        if new.labels[s] == 0:
            assert np.all(np.abs(u - 5) <= 2) and np.all(np.abs(t - 30) <= 6)
        else:
            assert np.all(np.abs(u - 15) <= 2) and np.all(np.abs(t - 70) <= 6)
    # roughly half of each of two 7-event samples survive (duplicates merged)
    assert 2 < new.counts().mean() < 9
    grown = blend_dataset(ds, [0.5, 0.5], 25, rng=6)
    assert len(grown) == 25 and np.array_equal(grown.labels[:10], ds.labels)
    assert blend_dataset(ds, [0.5], 5, rng=6) is ds


def test_normalise_spike_number_exact():
    ds = dataset(30)
    target = int(ds.counts().min())
    out = normalise_spike_number(ds, rng=0)
    check_valid(out, ds)
    assert np.all(out.counts() == target)
    out = normalise_spike_number(ds, rng=0, target=12)
    assert np.array_equal(out.counts(), np.minimum(ds.counts(), 12))
    for s in range(len(ds)):    # subset of the original events
        orig = set(zip(*[a.tolist() for a in ds.sample(s)]))
        assert set(zip(*[a.tolist() for a in out.sample(s)])) <= orig


def test_apply_augmentation_keeps_everything_valid():
    ds = dataset(50)
    aug = {"blend": [0.5, 0.5], "random_shift": 3, "random_dilate": [0.8, 1.2],
           "ID_jitter": 1.0}
    out = apply_augmentation(ds, aug, rng=7, n_target=80)
    out.validate()
    assert len(out) == 80 and np.array_equal(out.labels[:50], ds.labels)
    assert out.times.min() >= 0 and out.times.max() < ds.duration_ms
    with pytest.raises(ValueError, match="n_target"):
        apply_augmentation(ds, {"blend": [0.5, 0.5]}, rng=1)
    with pytest.raises(ValueError, match="unknown"):
        apply_augmentation(ds, {"flip": 1}, rng=1)
