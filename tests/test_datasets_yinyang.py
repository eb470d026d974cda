"""Yin-Yang generation and spike encoding."""

import numpy as np
import pytest

from simulators.datasets import encode_yinyang, which_class, yinyang_data, yinyang_dataset


def test_shapes_ranges_and_balance():
    coords, labels = yinyang_data(6000, seed=1)
    assert coords.shape == (6000, 4) and labels.shape == (6000,)
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {0, 1, 2}
    assert coords.min() >= 0 and coords.max() <= 1
    assert np.allclose(coords[:, 2], 1 - coords[:, 0])
    assert np.allclose(coords[:, 3], 1 - coords[:, 1])
    # inside the big circle
    assert np.all(np.hypot(coords[:, 0] - 0.5, coords[:, 1] - 0.5) <= 0.5)
    # labels agree with the geometry; classes balanced in expectation
    assert np.array_equal(which_class(coords[:, 0], coords[:, 1]), labels)
    frac = np.bincount(labels) / len(labels)
    assert np.all(np.abs(frac - 1 / 3) < 0.03)


def test_seeded():
    a = yinyang_data(100, seed=5)
    b = yinyang_data(100, seed=5)
    c = yinyang_data(100, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_which_class_geometry():
    # centres of the two dots, a point in the upper-left yin-criterion area, bottom right
    x = np.array([0.75, 0.25, 0.25, 0.5, 0.5])
    y = np.array([0.5, 0.5, 0.9, 0.9, 0.1])
    c = which_class(x, y)
    assert c[0] == 2 and c[1] == 2
    assert c[3] == 1          # y > r_big, far from right dot
    assert c[4] == 0          # lower half away from dots
    assert c[2] == 1


def test_encode_times():
    coords = np.array([[0.0, 1.0, 1.0, 0.0], [0.25, 0.5, 0.75, 0.5]])
    ds = encode_yinyang(coords, 0.2, 29.8, labels=np.array([1, 2]), duration_ms=30.0)
    ds.validate()
    assert ds.n_units == 5 and len(ds) == 2 and np.array_equal(ds.counts(), [5, 5])
    assert np.array_equal(ds.labels, [1, 2])
    t, u = ds.sample(1)
    per_unit = dict(zip(u.tolist(), t.tolist()))
    assert per_unit[0] == pytest.approx(0.2)                 # bias
    assert per_unit[1] == pytest.approx(0.2 + 0.25 * 29.6, abs=1e-5)
    assert per_unit[3] == pytest.approx(0.2 + 0.75 * 29.6, abs=1e-5)
    assert np.all(np.diff(t) >= 0)
    t0, u0 = ds.sample(0)
    assert dict(zip(u0.tolist(), t0.tolist()))[2] == pytest.approx(29.8, abs=1e-5)
    late_bias = encode_yinyang(coords, bias_time=5.0)
    t, u = late_bias.sample(0)
    assert t[u == 0][0] == pytest.approx(5.0)
    with pytest.raises(ValueError):
        encode_yinyang(coords, t_late=40.0, duration_ms=30.0)


def test_dataset_defaults_match_genn_eventprop_timing():
    ds = yinyang_dataset(50, seed=3, trial_ms=30.0, dt_ms=0.1)
    assert ds.times.min() >= 0.2 - 1e-6 and ds.times.max() <= 29.8 + 1e-5
    assert ds.duration_ms == 30.0
    start, end, ts = ds.to_neuron_major()
    assert np.all(end - start == 1)
