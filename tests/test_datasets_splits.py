"""Validation splits, speaker folds, class balancing and reduction."""

import numpy as np
import pytest

from simulators.datasets import (SpikeDataset, balance_classes, random_split,
                                 reduce_classes, speaker_folds, speaker_split)


def test_random_split_disjoint_and_seeded():
    tr, va = random_split(100, 20, seed=1)
    assert len(tr) == 80 and len(va) == 20
    assert not set(tr) & set(va) and set(tr) | set(va) == set(range(100))
    tr2, va2 = random_split(100, 20, seed=1)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    assert not np.array_equal(va, random_split(100, 20, seed=2)[1])
    tr, va = random_split(100, 10, seed=0, n_train=50)
    assert len(tr) == 50 and len(va) == 10 and not set(tr) & set(va)
    with pytest.raises(ValueError):
        random_split(10, 8, seed=0, n_train=5)


def test_speaker_split_uses_ordinal_indices():
    speakers = np.array([12, 3, 3, 7, 12, 5, 7, 3])  # sorted unique: 3, 5, 7, 12
    tr, va = speaker_split(speakers, [0])
    assert set(speakers[va]) == {3} and 3 not in set(speakers[tr])
    tr, va = speaker_split(speakers, [1, 3])
    assert set(speakers[va]) == {5, 12}
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(len(speakers)))
    tr, va = speaker_split(speakers, 2)
    assert set(speakers[va]) == {7}
    with pytest.raises(ValueError, match="0-3"):
        speaker_split(speakers, [4])


def test_speaker_folds_disjoint_and_covering():
    rng = np.random.default_rng(0)
    speakers = rng.integers(0, 10, 500)
    folds = speaker_folds(speakers)
    assert len(folds) == len(np.unique(speakers))
    seen_valid = []
    for tr, va in folds:
        assert not set(speakers[tr]) & set(speakers[va])      # no speaker in both
        assert len(set(speakers[va])) == 1
        assert len(tr) + len(va) == len(speakers)
        assert not set(tr) & set(va)
        seen_valid.append(va)
    all_valid = np.concatenate(seen_valid)
    assert sorted(all_valid.tolist()) == list(range(len(speakers)))  # each sample validated once


def test_balance_classes():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 7)
    idx = balance_classes(labels, seed=0)
    assert np.array_equal(np.bincount(labels[idx]), [3, 3, 3])
    assert len(set(idx)) == len(idx)
    assert np.array_equal(idx, balance_classes(labels, seed=0))


def test_reduce_classes_relabels_in_given_order():
    times = [np.array([float(i)]) for i in range(6)]
    units = [np.array([i]) for i in range(6)]
    ds = SpikeDataset.from_lists(times, units, [0, 5, 2, 5, 9, 2], 10, 10.0)
    red = reduce_classes(ds, [5, 2])
    assert len(red) == 4
    assert red.labels.tolist() == [0, 1, 0, 1]     # 5 -> 0, 2 -> 1
    assert red.units.tolist() == [1, 2, 3, 5]      # the kept samples, in order
