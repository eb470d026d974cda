"""Backend selection, and the step-by-step path that real pygenn (which has
no run_steps) takes through a trial."""
import types

import numpy as np
import pytest

import genn_engine as ge
from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from params import Params
from tests.eventprop_harness import to_neuron_major

N_IN, N_H, N_OUT, B = 6, 5, 3, 2
_rng = np.random.default_rng(3)
SAMPLES = [[sorted(_rng.uniform(0, 15, _rng.integers(1, 4))) for _ in range(N_IN)]
           for _ in range(B)]
LOSS = "avg_xentropy"   # the loss with per-step custom updates
W_IN = _rng.normal(1.2, 0.4, N_IN * N_H)


class _NoRunSteps(ge.GeNNModel):
    """The engine seen through pygenn 5's API only: no run_steps."""

    @property
    def run_steps(self):
        raise AttributeError("run_steps")

    def step_time(self):
        ge.GeNNModel.run_steps(self, 1)


def _gradients(api=None):
    cfg = NetworkConfig(n_in=N_IN, hidden=[HiddenLayer(N_H, n_max_spike=100)],
                        n_out=N_OUT, loss=LOSS, trial_ms=20.0, dt=0.5,
                        batch_size=B, precision="double", model_name="evp_backend",
                        n_max_spike_in=50, w_out_mean=0.5, w_out_std=0.5, seed=11)
    net = EventPropNetwork(cfg, api=api).build()
    net.set_data(*to_neuron_major(SAMPLES, N_IN), [0, 2])
    net.load()
    net.set("w_in0", W_IN)
    net.set_order([0, 1, -1, -1])
    net.run_trial(0)
    net.run_trial(1)
    return net.reduce_gradients()


def test_step_by_step_trial_matches_run_steps():
    shim = types.ModuleType("pygenn_like")
    shim.__dict__.update({k: v for k, v in vars(ge).items() if not k.startswith("__")})
    shim.GeNNModel = _NoRunSteps
    fast = _gradients()
    slow = _gradients(api=shim)
    assert set(fast) == set(slow)
    assert any(np.abs(g).max() > 0 for g in fast.values())
    for k in fast:
        np.testing.assert_allclose(slow[k], fast[k], rtol=1e-10, atol=1e-12)


def test_genn_backend_without_pygenn_names_it():
    try:
        import pygenn  # noqa: F401
        pytest.skip("pygenn is installed")
    except ImportError:
        pass
    cfg = NetworkConfig(n_in=2, hidden=[HiddenLayer(2)], n_out=2, backend="genn")
    with pytest.raises(ImportError, match="pygenn"):
        EventPropNetwork(cfg)


def test_backend_parameter_is_checked():
    p = Params("yinyang")
    p["BACKEND"] = "single_threaded_cpu"
    with pytest.raises(ValueError, match="BACKEND"):
        p["BACKEND"] = "cuda"
