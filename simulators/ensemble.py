"""Ensembles of trained networks: the class probabilities of several models
(softmax of each model's output scores z) averaged per sample, as in the
loss-shaping EventProp work, which reported SHD figures of ensembles.

In memory, from simulators that are trained (or loaded with LOAD_LAST /
LOAD_BEST)::

    from simulators.ensemble import ensemble_test
    res = ensemble_test([m1, m2, m3])        # res["acc"], res["member_acc"]

From the files that ``test`` writes with ``REC_PREDICTIONS=True``
(NAME_predictions_test.csv, with a z_c column per class)::

    python -m train_scripts.ensemble OUT/a_predictions_test.csv OUT/b_predictions_test.csv
"""
import csv

import numpy as np

__all__ = ["softmax", "combine", "ensemble_test", "read_scores", "ensemble_files"]

SILENT = -1e30      # outputs at or below this never responded (first-spike losses)


def softmax(z):
    """Row-wise softmax of output scores; a row whose outputs are all silent
    gives equal probabilities (the model has no opinion)."""
    z = np.asarray(z, np.float64)
    out = np.full(z.shape, 1.0 / max(z.shape[-1], 1))
    live = z.max(axis=-1) > SILENT
    zl = z[live] - z[live].max(axis=-1, keepdims=True)
    e = np.exp(zl)
    out[live] = e / e.sum(axis=-1, keepdims=True)
    return out


def combine(members):
    """Average class probabilities of the members.

    ``members``: a list of (ids, labels, scores), one per model, each over
    the same samples (in any order). Returns a dict with the sorted sample
    ``ids``, their ``labels``, the mean ``prob`` (n, n_classes), the
    ensemble's ``pred`` and ``acc``, and each member's ``member_acc``."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    ids0, lab0 = None, None
    probs, member_acc = [], []
    for k, (ids, labels, scores) in enumerate(members):
        ids, labels = np.asarray(ids, np.int64), np.asarray(labels, np.int64)
        scores = np.asarray(scores, np.float64)
        if scores.ndim != 2 or len(scores) != len(ids) or len(labels) != len(ids):
            raise ValueError(f"ensemble member {k}: ids, labels and scores "
                             f"differ in length ({len(ids)}, {len(labels)}, "
                             f"{len(scores)})")
        order = np.argsort(ids, kind="stable")
        ids, labels, scores = ids[order], labels[order], scores[order]
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"ensemble member {k}: a sample id appears twice")
        if ids0 is None:
            ids0, lab0 = ids, labels
        elif not np.array_equal(ids, ids0):
            raise ValueError(f"ensemble member {k} was tested on other samples "
                             f"than member 0 ({len(ids)} against {len(ids0)})")
        elif not np.array_equal(labels, lab0):
            bad = int(ids[np.argmax(labels != lab0)])
            raise ValueError(f"ensemble member {k} gives sample {bad} another "
                             "label than member 0: not the same test set")
        elif scores.shape[1] != probs[0].shape[1]:
            raise ValueError(f"ensemble member {k} has {scores.shape[1]} "
                             f"classes, member 0 {probs[0].shape[1]}")
        p = softmax(scores)
        probs.append(p)
        member_acc.append(float(np.mean(np.argmax(p, axis=1) == labels))
                          if len(ids) else 0.0)
    prob = np.mean(probs, axis=0)
    pred = np.argmax(prob, axis=1)
    return {"ids": ids0, "labels": lab0, "prob": prob, "pred": pred,
            "acc": float(np.mean(pred == lab0)) if len(ids0) else 0.0,
            "n": int(len(ids0)), "member_acc": member_acc}


def ensemble_test(models, **overrides):
    """Test every simulator in ``models`` with its own parameters and
    ``overrides`` (e.g. ``LOAD_BEST=True``: each model loads the checkpoint
    of its own NAME) and combine their output scores per test sample."""
    members = []
    for m in models:
        q = dict(m.p)
        q.update(overrides)
        q["REC_PREDICTIONS"] = True
        out = m.test(q)
        pr = out["predictions"]
        members.append((pr[:, 0], pr[:, 1], out["scores"]))
    return combine(members)


def read_scores(path):
    """(ids, labels, scores) from a NAME_predictions_test.csv written with
    REC_PREDICTIONS (a z_c column per class)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: empty file")
    head = rows[0]
    zcols = [i for i, h in enumerate(head) if h.startswith("z_")]
    if "id" not in head or "label" not in head or not zcols:
        raise ValueError(f"{path}: no output scores (columns id, label, z_0 ..); "
                         "write it with REC_PREDICTIONS=True from a test pass")
    i_id, i_lab = head.index("id"), head.index("label")
    try:
        ids = np.array([int(r[i_id]) for r in rows[1:]], np.int64)
        labels = np.array([int(r[i_lab]) for r in rows[1:]], np.int64)
        scores = np.array([[float(r[i]) for i in zcols] for r in rows[1:]])
    except (ValueError, IndexError) as e:
        raise ValueError(f"{path}: malformed row ({e})") from None
    if not np.all(np.isfinite(scores) | (scores < 0)):
        raise ValueError(f"{path}: non-finite output scores")
    return ids, labels, scores.reshape(len(ids), len(zcols))


def ensemble_files(paths):
    """``combine`` of the scores in several NAME_predictions_test.csv files."""
    members = []
    for path in paths:
        members.append(read_scores(path))
    try:
        return combine(members)
    except ValueError as e:
        raise ValueError(f"{e} (files: {', '.join(map(str, paths))})") from None
