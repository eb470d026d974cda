"""Ensembles: class probabilities of several trained networks averaged per
test sample, in memory and from the prediction files of their test passes."""
import json

import numpy as np
import pandas as pd
import pytest

from simulators.ensemble import (combine, ensemble_files, ensemble_test,
                                 read_scores, softmax)
from tests.test_shd import data, model, params     # noqa: F401 (data: the fixture)
from train_scripts import ensemble as ensemble_cli

pytestmark = [pytest.mark.filterwarnings("ignore:N_TRAIN="),
              pytest.mark.filterwarnings("ignore:.*lie at or after TRIAL_MS")]


def test_softmax_of_silent_outputs_is_uniform():
    z = np.array([[1.0, 2.0, 3.0], [-np.inf, -2e30, -1e31], [0.0, -1e31, -1e31]])
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    np.testing.assert_allclose(p[2], [1.0, 0.0, 0.0])
    assert np.argmax(p[0]) == 2


def test_probabilities_are_averaged_not_votes():
    # two members lean weakly to the wrong class, one is sure of the right
    # one: a vote is wrong, the mean probability right
    lab = np.array([0, 1])
    sure = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))
    weak = np.log(np.array([[0.45, 0.55], [0.55, 0.45]]))
    res = combine([(np.arange(2), lab, sure), (np.arange(2), lab, weak),
                   (np.arange(2), lab, weak)])
    assert res["member_acc"] == [1.0, 0.0, 0.0]
    assert res["acc"] == 1.0
    np.testing.assert_allclose(res["prob"][0], [0.6, 0.4])
    # members may list the samples in any order
    perm = np.array([1, 0])
    res2 = combine([(np.arange(2), lab, sure),
                    (perm, lab[perm], weak[perm]), (np.arange(2), lab, weak)])
    np.testing.assert_array_equal(res2["prob"], res["prob"])


def test_members_on_other_samples_are_refused():
    lab = np.array([0, 1, 1])
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="member 1 was tested on other samples"):
        combine([(np.arange(3), lab, z), (np.arange(2), lab[:2], z[:2])])
    with pytest.raises(ValueError, match="gives sample 2 another label"):
        combine([(np.arange(3), lab, z), (np.arange(3), np.array([0, 1, 0]), z)])
    with pytest.raises(ValueError, match="a sample id appears twice"):
        combine([(np.array([0, 0, 1]), lab, z)])
    with pytest.raises(ValueError, match="at least one member"):
        combine([])


def test_ensemble_of_trained_networks_in_memory_and_from_files(data, tmp_path):
    models = []
    for seed in (1, 2, 3):
        p = params(data, tmp_path, NAME=f"seed{seed}", MODEL_SEED=seed,
                   N_EPOCHS=2, N_VALIDATE=0)
        m = model(p)
        m.train(p)
        models.append(m)
    res = ensemble_test(models, LOAD_LAST=True)
    assert res["n"] == 48 and len(res["member_acc"]) == 3
    scores = []
    for k, m in enumerate(models):
        q = dict(m.p)
        q.update(REC_PREDICTIONS=True, WRITE_TO_DISK=False)
        out = m.test(q)
        scores.append(out["scores"])
        # every row's scores belong to its sample: their argmax is the
        # recorded prediction
        pr = out["predictions"]
        assert np.array_equal(np.argmax(out["scores"], axis=1), pr[:, 2])
        assert res["member_acc"][k] == pytest.approx(out["acc"])
        np.testing.assert_array_equal(res["labels"],
                                      m.datasets["test"].labels)
    assert not np.array_equal(scores[0], scores[1])     # distinct models
    # the same ensemble from the files the test passes wrote
    files = [tmp_path / f"seed{s}_predictions_test.csv" for s in (1, 2, 3)]
    df = pd.read_csv(files[0])
    assert list(df.columns[:4]) == ["epoch", "id", "label", "prediction"]
    assert [c for c in df.columns[4:]] == [f"z_{c}" for c in range(4)]
    from_files = ensemble_files(files)
    np.testing.assert_array_equal(from_files["prob"], res["prob"])
    assert from_files["acc"] == res["acc"]
    assert ensemble_cli.main([str(f) for f in files]) == 0


def test_ensemble_command_line_names_a_bad_file(tmp_path, capsys):
    good = tmp_path / "a_predictions_test.csv"
    good.write_text("epoch,id,label,prediction,z_0,z_1\n,0,1,1,0.5,2.0\n,1,0,0,3.0,-1.0\n")
    assert ensemble_cli.main([str(good), str(good)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["acc"] == 1.0 and out["member_acc"] == [1.0, 1.0] and out["n"] == 2
    old = tmp_path / "b_predictions_test.csv"
    old.write_text("epoch,id,label,prediction\n,0,1,1\n")
    assert ensemble_cli.main([str(good), str(old)]) == 2
    assert "b_predictions_test.csv: no output scores" in capsys.readouterr().err
    bad = tmp_path / "c_predictions_test.csv"
    bad.write_text("epoch,id,label,prediction,z_0,z_1\n,0,1,1,nan,2.0\n")
    with pytest.raises(ValueError, match="c_predictions_test.csv: non-finite"):
        read_scores(bad)
    short = tmp_path / "d_predictions_test.csv"
    short.write_text("epoch,id,label,prediction,z_0,z_1\n,0,1,1,0.5,2.0\n")
    assert ensemble_cli.main([str(good), str(short)]) == 2
    err = capsys.readouterr().err
    assert "member 1 was tested on other samples" in err and "d_predictions_test.csv" in err
