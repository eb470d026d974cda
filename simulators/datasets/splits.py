"""Train/validation splits, class balancing and class reduction.

Index-returning helpers work on label/speaker arrays; apply the indices with
:meth:`SpikeDataset.subset`.  Returned index arrays are sorted int64.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .spikes import SpikeDataset

__all__ = ["random_split", "speaker_split", "speaker_folds", "balance_classes",
           "reduce_classes"]

Index = np.ndarray


def random_split(n: int, n_validate: int, seed=None,
                 n_train: Optional[int] = None) -> Tuple[Index, Index]:
    """Shuffle ``range(n)`` with ``seed`` and return (train, valid) indices.

    As in genn_eventprop, the first ``n_train`` shuffled indices train
    (default: all that are not validation) and the next ``n_validate``
    validate, so the two never overlap.
    """
    if n_train is None:
        n_train = n - n_validate
    if n_validate < 0 or n_train < 0 or n_train + n_validate > n:
        raise ValueError(f"cannot take {n_train} training and {n_validate} validation "
                         f"samples from {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_validate])


def speaker_split(speakers: np.ndarray,
                  speaker_left: Union[int, Sequence[int]]) -> Tuple[Index, Index]:
    """Leave-speakers-out split.

    ``speaker_left`` are ordinal indices into the sorted list of unique
    speakers (SPEAKER_LEFT; 0-9 for SHD's ten training speakers), not
    speaker ids.  Returns (train, valid) where valid holds every sample of
    the chosen speakers.
    """
    speakers = np.asarray(speakers)
    unique = np.unique(speakers)
    left = np.atleast_1d(np.asarray(speaker_left, dtype=np.int64))
    bad = left[(left < 0) | (left >= len(unique))]
    if bad.size:
        raise ValueError(f"speaker indices {bad.tolist()} out of range: there are "
                         f"{len(unique)} speakers (ids {unique.tolist()}), use 0-{len(unique) - 1}")
    in_valid = np.isin(speakers, unique[left])
    return np.flatnonzero(~in_valid), np.flatnonzero(in_valid)


def speaker_folds(speakers: np.ndarray) -> List[Tuple[Index, Index]]:
    """One (train, valid) fold per speaker (in sorted speaker order), for
    leave-one-speaker-out cross-validation."""
    n_speakers = len(np.unique(np.asarray(speakers)))
    return [speaker_split(speakers, [k]) for k in range(n_speakers)]


def balance_classes(labels: np.ndarray, seed=None) -> Index:
    """Indices of a random subset with every class present equally often
    (as often as the rarest class)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    m = counts.min()
    perm = rng.permutation(len(labels))
    # group the shuffled indices by class, keep the first m of each group
    by_class = perm[np.argsort(labels[perm], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    take = (starts[:, None] + np.arange(m)[None, :]).reshape(-1)
    return np.sort(by_class[take])


def reduce_classes(ds: SpikeDataset, classes: Sequence[int]) -> SpikeDataset:
    """Keep only samples whose label is in ``classes`` and relabel them
    ``classes[k] -> k`` (so the order of ``classes`` sets the new labels)."""
    classes = np.asarray(classes, dtype=np.int64)
    if len(np.unique(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {classes.tolist()}")
    keep = np.isin(ds.labels, classes)
    sub = ds.subset(np.flatnonzero(keep))
    # position of each label in `classes`
    sorter = np.argsort(classes)
    sub.labels = sorter[np.searchsorted(classes, sub.labels, sorter=sorter)].astype(np.int32)
    return sub
