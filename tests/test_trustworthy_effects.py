"""Every accepted parameter does what its description says, or is refused
(issue 12), and a checkpoint holds every per-neuron value drawn at random,
so that a resumed run and a test of a checkpoint see the run's own network.

Yin-Yang runs reuse the network shape of tests/test_trustworthy_runs.py
(built once per session); the SHD runs use tiny HDF5 files written here.
"""
import json

import numpy as np
import pandas as pd
import pytest

from genn_engine import CompilerError
from params.shd import defaults as shd_defaults
from params.yinyang import defaults as yinyang_defaults
from simulators.shd import SHDModel
from simulators.yinyang import YinYangModel
from tests.test_trustworthy_data import N_CH, shd_dir, shd_params
from tests.test_trustworthy_runs import small

pytestmark = pytest.mark.filterwarnings("ignore:hidden layer")

# -- BUILD, TIMING ------------------------------------------------------------------


def test_build_false_uses_the_built_model_and_refuses_without_one(tmp_path, monkeypatch):
    p = small(tmp_path, BUILD=False)
    with monkeypatch.context() as m:
        m.setenv("GENN_ENGINE_CACHE", str(tmp_path / "empty_cache"))
        with pytest.raises(CompilerError, match="BUILD=False: no compiled .* run once "
                                                "with BUILD=True"):
            YinYangModel(p)
    YinYangModel(small(tmp_path))             # built (or found) in the session cache
    sim = YinYangModel(p)
    assert sim.net.model.build_cache_hit is True
    assert sim.train(p)["final"]["train_n"] == 64
    with pytest.raises(ValueError, match="BUILD=False needs the built-in engine"):
        YinYangModel(small(tmp_path, BUILD=False, BACKEND="genn"))


def test_timing_false_records_no_times(tmp_path):
    p = small(tmp_path, TIMING=False)
    sim = YinYangModel(p)
    res = sim.train(p)
    assert "time_s" not in res["final"]
    assert "time_s" not in pd.read_csv(tmp_path / "test_results.csv").columns
    assert "time_s" not in sim.test(p)
    q = small(tmp_path, NAME="timed")
    assert "time_s" in YinYangModel(q).train(q)["final"]


# -- keys without effect are refused ------------------------------------------------

def test_nu_lower_is_refused_unless_at_its_default():
    p = shd_defaults()
    p["NU_LOWER"] = 0.1
    with pytest.raises(ValueError, match="'NU_LOWER' has no effect"):
        p["NU_LOWER"] = 0.5
    with pytest.raises(ValueError, match="NU_LOWER"):
        type(p)("shd", {"NU_LOWER": 0.3})


@pytest.mark.parametrize("what,value", [
    ("REC_SPIKES", ["hidden"]), ("REC_NEURONS", [["hidden", "V"]]),
    ("REC_SYNAPSES", [["hid_to_out", "w"]])])
def test_recording_keys_without_their_trials_are_refused(tmp_path, what, value):
    with pytest.raises(ValueError, match=f"{what}=.* records nothing without "
                                         f"{what}_EPOCH_TRIAL"):
        YinYangModel(small(tmp_path, **{what: value}))
    with pytest.raises(ValueError, match=f"{what}_EPOCH_TRIAL=.* records nothing "
                                         f"without {what}"):
        YinYangModel(small(tmp_path, **{f"{what}_EPOCH_TRIAL": [[0, 1]]}))


def test_spk_rec_steps_other_than_one_trial_is_refused(tmp_path):
    # Yin-Yang: 30 ms trials at 0.1 ms = 300 steps
    with pytest.raises(ValueError, match=r"SPK_REC_STEPS=900 has no use.*300 steps"):
        YinYangModel(small(tmp_path, SPK_REC_STEPS=900))
    sim = YinYangModel(small(tmp_path))
    with pytest.raises(ValueError, match="SPK_REC_STEPS=100"):   # also per call
        sim.train(small(tmp_path, SPK_REC_STEPS=100))
    sim.train(small(tmp_path, SPK_REC_STEPS=300, WRITE_TO_DISK=False, CHECKPOINT=False))


def test_verbose_false_on_the_command_line_is_kept():
    from train_scripts.cli import run
    seen = {}

    class Stub:
        def __init__(self, p):
            seen["VERBOSE"] = p["VERBOSE"]

        def test(self, p):
            return {"acc": 0.0, "loss": 0.0}

    assert run(yinyang_defaults, Stub, ["VERBOSE=false", "--mode", "test"]) == 0
    assert seen["VERBOSE"] is False
    assert run(yinyang_defaults, Stub, ["--mode", "test"]) == 0
    assert seen["VERBOSE"] is True              # the command line's default


def test_min_taus_reach_the_output_neurons():
    p = shd_defaults()
    p.update({"TRAIN_TAU_OUTPUT": True, "MIN_TAU_M": 7.0, "MIN_TAU_SYN": 2.5,
              "MODEL_SEED": 1})
    sim = object.__new__(SHDModel)         # the configuration only, no data
    sim.n_channels, sim.n_classes, sim.p = 20, 4, p
    cfg = sim.network_config(p)
    assert (cfg.out_min_tau_m, cfg.out_min_tau_syn) == (7.0, 2.5)
    assert {(L.min_tau_m, L.min_tau_syn) for L in cfg.hidden} == {(7.0, 2.5)}


# -- drawn per-neuron taus: hetLIF / hetLI, untrained -------------------------------

def het(d, out, **kw):
    return shd_params(d, **{
        "OUT_DIR": str(out), "HIDDEN_NEURON_TYPE": "hetLIF", "OUTPUT_NEURON_TYPE": "hetLI",
        "TAU_MEM": 20.0, "MIN_TAU_M": 15.0, "INPUT_HIDDEN_MEAN": 0.3,
        "INPUT_HIDDEN_STD": 0.1, "NUM_HIDDEN": 12, "N_MAX_SPIKE": 80, "MODEL_SEED": 11,
        **kw})


def state(sim):
    return {k: np.array(v) for k, v in sim.net.state_dict().items()}


def test_untrained_het_taus_are_drawn_checkpointed_and_restored(tmp_path):
    d = shd_dir(tmp_path / "data")
    # straight: two epochs
    p = het(d, tmp_path / "a", N_EPOCHS=2)
    a = SHDModel(p, n_channels=N_CH)
    taus = {k: a.net.get(k) for k in ("tau_m0", "tau_syn0", "tau_m_out", "tau_syn_out")}
    for k, v in taus.items():
        assert len(np.unique(v)) == len(v), k          # heterogeneous, also hetLI
    assert taus["tau_m_out"].min() >= 15.0 and taus["tau_m0"].min() >= 15.0  # MIN_TAU_M
    a.train(p)
    with np.load(tmp_path / "a" / "test_checkpoint_last.npz") as z:
        for k, v in taus.items():
            assert np.array_equal(z[k], v), k             # untrained: saved as drawn
    # one epoch, then a resume in a fresh simulator: bit-identical
    q = het(d, tmp_path / "b", N_EPOCHS=1)
    SHDModel(q, n_channels=N_CH).train(q)
    q.update(N_EPOCHS=2, LOAD_LAST=True)
    b = SHDModel(q, n_channels=N_CH)
    with pytest.warns(UserWarning, match="N_EPOCHS"):
        b.train(q)
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert np.array_equal(sa[k], sb[k]), k
    # a test of the checkpoint by a simulator of another MODEL_SEED (allowed:
    # the seed only draws initial values) sees the run's taus, not its own
    t = het(d, tmp_path / "a", MODEL_SEED=99, LOAD_LAST=True)
    c = SHDModel(t, n_channels=N_CH)
    assert not np.array_equal(c.net.get("tau_m0"), taus["tau_m0"])
    got = c.test(t)
    assert np.array_equal(c.net.get("tau_m0"), taus["tau_m0"])
    assert np.array_equal(c.net.get("tau_syn_out"), taus["tau_syn_out"])
    ref = a.test(het(d, tmp_path / "a", WRITE_TO_DISK=False))
    assert (got["acc"], got["loss"]) == (ref["acc"], ref["loss"])


def test_a_checkpoint_without_the_untrained_taus_still_loads_with_a_warning(tmp_path):
    """Checkpoints of earlier versions lack them: redrawn from MODEL_SEED."""
    d = shd_dir(tmp_path / "data")
    p = het(d, tmp_path, N_EPOCHS=1)
    SHDModel(p, n_channels=N_CH).train(p)
    path = tmp_path / "test_checkpoint_last.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k not in ("tau_m0", "tau_syn0",
                                                        "tau_m_out", "tau_syn_out")}
    np.savez(path, **arrays)
    t = het(d, tmp_path, LOAD_LAST=True, WRITE_TO_DISK=False)
    with pytest.warns(UserWarning, match="lacks the untrained per-neuron taus"):
        out = SHDModel(t, n_channels=N_CH).test(t)
    assert json.loads(str(arrays["__meta__"]))["epoch"] == 1 and out["n"] > 0
