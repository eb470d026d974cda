"""Regularisation, dropout and the ExpCurrTauRef postsynaptic model."""
import numpy as np
import pytest

import genn_engine as ge
from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from genn_models.synapses import exp_curr_tau_ref
from tests.eventprop_harness import to_neuron_major

# ---------------------------------------------------------------------------
# Regularisation
# ---------------------------------------------------------------------------
N_IN, N_H, N_OUT, B = 8, 6, 2, 2
T_REG, DT_REG = 40.0, 0.1
_rng = np.random.default_rng(1)
REG_SAMPLES = [[sorted(_rng.uniform(0, 30, _rng.integers(2, 6)))
                for _ in range(N_IN)] for _ in range(B)]
# columns scaled so hidden neurons range from quiet to hyperactive
REG_W_IN = np.abs(_rng.normal(1.0, 0.3, (N_IN, N_H))) * \
    np.array([0.4, 0.5, 0.6, 1.5, 2.0, 2.5])
REG_W_OUT = _rng.normal(0.5, 0.5, (N_H, N_OUT))


def run_reg(reg=None, **layer_kw):
    """Trial 0 forward, its backward during trial 1.

    Returns (net, hidden spike counts of trial 0 per slot, per-slot dw of
    w_in0 before the batch reduction, batch-summed gradients).
    """
    layer = HiddenLayer(N_H, reg=reg, n_max_spike=200, **layer_kw)
    cfg = NetworkConfig(n_in=N_IN, hidden=[layer], n_out=N_OUT, loss="sum",
                        trial_ms=T_REG, dt=DT_REG, batch_size=B,
                        precision="double", model_name="evp_reg",
                        record_spikes=("hidden0",), overflow="error",
                        n_max_spike_in=100)
    net = EventPropNetwork(cfg).build()
    net.set_data(*to_neuron_major(REG_SAMPLES, N_IN), [0, 1])
    net.load()
    net.set("w_in0", REG_W_IN.ravel())
    net.set("w_out", REG_W_OUT.ravel())
    net.set_order([0, 1, -1, -1])
    net.run_trial(0)
    counts = np.array([np.bincount(ids, minlength=N_H)
                       for _, ids in net.spikes("hidden0")])
    net.run_trial(1)
    dw = np.array(net.synapses["w_in0"].vars["dw"].view).reshape(B, N_IN, N_H)
    return net, counts, dw, net.reduce_gradients()


@pytest.fixture(scope="module")
def no_reg():
    return run_reg(None)


def _column_signs(diff):
    """+1/-1 where every entry of a column has that sign (0 mixed/empty)."""
    scale = np.abs(diff).max()
    pos = np.all(diff >= -1e-12 * scale, axis=0) & np.any(diff > 0, axis=0)
    neg = np.all(diff <= 1e-12 * scale, axis=0) & np.any(diff < 0, axis=0)
    return np.where(pos, 1, np.where(neg, -1, 0))


def test_reg_simple_pushes_counts_towards_nu_upper(no_reg):
    _, counts0, dw0, g0 = no_reg
    nu = 5.0
    net, counts, dw, g = run_reg("simple", nu_upper=nu, lbd_upper=1e-3,
                                 lbd_lower=1e-3)
    np.testing.assert_array_equal(counts, counts0)     # same forward pass
    # the backward pass of trial 0 used trial 0's counts
    np.testing.assert_array_equal(net.hidden[0].vars["sNSum"].view, counts)
    hyper = np.all(counts > nu, axis=0)
    quiet = np.all((counts < nu) & (counts > 0), axis=0)
    assert hyper.any() and quiet.any()
    # gradient descent lowers the input weights of hyperactive neurons
    # (positive gradient) and raises those of quiet ones
    diff = (g["w_in0"] - g0["w_in0"]).reshape(N_IN, N_H)
    signs = _column_signs(diff)
    np.testing.assert_array_equal(signs[hyper], 1)
    np.testing.assert_array_equal(signs[quiet], -1)
    # lbd_upper acts on hyperactive neurons only, lbd_lower on quiet ones
    _, _, dw2, _ = run_reg("simple", nu_upper=nu, lbd_upper=2e-3,
                           lbd_lower=1e-3)
    d1, d2 = dw - dw0, dw2 - dw0
    for b in range(B):
        up = counts[b] > nu
        np.testing.assert_allclose(d2[b][:, up], 2 * d1[b][:, up], rtol=1e-6,
                                   atol=1e-14)
        np.testing.assert_allclose(d2[b][:, ~up], d1[b][:, ~up], rtol=1e-6,
                                   atol=1e-14)


def _unit_response(no_reg, nu):
    """Per slot and neuron, dw change per unit of (count - nu) / N_batch, from
    'simple' with equal lbds (the adjoint is linear in the source term)."""
    _, counts, dw0, _ = no_reg
    _, _, dw, _ = run_reg("simple", nu_upper=nu, lbd_upper=1.0, lbd_lower=1.0)
    c = counts[:, None, :] - nu
    assert np.all(c != 0)
    return (dw - dw0) / c


def test_reg_avg_uses_the_batch_mean_count(no_reg):
    _, counts, dw0, g0 = no_reg
    nu = 8.5
    net, _, dw, g = run_reg("avg", nu_upper=nu, lbd_upper=1.0, lbd_lower=1.0)
    avg = net.hidden[0].vars["sNSum_avg"].view
    np.testing.assert_allclose(avg, np.broadcast_to(counts.mean(0), avg.shape))
    np.testing.assert_array_equal(net.hidden[0].vars["sNSum"].view, counts)
    # a neuron above nu in one slot and below in the other is regularised by
    # its mean count in both
    mixed = (counts.max(0) > nu) & (counts.min(0) < nu)
    assert mixed.any()
    unit = _unit_response(no_reg, nu)
    expected = unit * (counts.mean(0) - nu)[None, None, :]
    np.testing.assert_allclose(dw - dw0, expected, rtol=1e-6,
                               atol=1e-12 * np.abs(expected).max())
    signs = _column_signs((g["w_in0"] - g0["w_in0"]).reshape(N_IN, N_H))
    active = counts.min(0) > 0
    np.testing.assert_array_equal(signs[active],
                                  np.sign(counts.mean(0) - nu)[active])


@pytest.mark.parametrize("rho", [10.0, 100.0])
def test_reg_thomas1_uses_the_layer_count(no_reg, rho):
    _, counts, dw0, g0 = no_reg
    glb = 1e-3
    net, _, dw, g = run_reg("Thomas1", rho_upper=rho, glb_upper=glb)
    layer = net.hidden[0].vars["sNSum_layer"].view
    np.testing.assert_array_equal(np.ravel(layer), counts.sum(1))
    total = counts.sum(1)
    assert np.all(total > rho) or np.all(total < rho)
    # every neuron of a too active layer is pushed down, of a quiet one up
    signs = _column_signs((g["w_in0"] - g0["w_in0"]).reshape(N_IN, N_H))
    np.testing.assert_array_equal(signs, np.sign(total[0] - rho))
    unit = _unit_response(no_reg, 5.5)
    expected = unit * glb * (total - rho)[:, None, None]
    np.testing.assert_allclose(dw - dw0, expected, rtol=1e-6,
                               atol=1e-12 * np.abs(expected).max())


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------
D_IN, D_H, D_T, D_DT, D_B, SPK = 20, 10, 50.0, 0.5, 4, 5
_rng = np.random.default_rng(2)
# inputs end well before the trial does: no hidden spike in the last step,
# whose delivery would fall into the next trial
DROP_SAMPLES = [[sorted(_rng.uniform(0, 25, SPK)) for _ in range(D_IN)]
                for _ in range(D_B)]
DROP_W_IN = _rng.normal(0.35, 0.15, (D_IN, D_H))
DROP_W_OUT = _rng.normal(0.0, 1.0, (D_H, 2))


def drop_net(pdrop_in=0.0, pdrop=0.0, seed=7, w_out=DROP_W_OUT,
             out_tau_syn=5.0, n_trials=1):
    cfg = NetworkConfig(
        n_in=D_IN, hidden=[HiddenLayer(D_H, pdrop=pdrop, n_max_spike=400)],
        n_out=2, loss="sum", trial_ms=D_T, dt=D_DT, batch_size=D_B,
        precision="double", model_name="evp_drop", pdrop_in=pdrop_in,
        seed=seed, record_spikes=("input", "hidden0"), n_max_spike_in=400,
        out_tau_syn=out_tau_syn, overflow="error")
    net = EventPropNetwork(cfg).build()
    net.set_data(*to_neuron_major(DROP_SAMPLES, D_IN), [0, 1, 0, 1])
    net.load()
    net.set("w_in0", DROP_W_IN.ravel())
    net.set("w_out", np.asarray(w_out).ravel())
    net.set_order(np.tile(np.arange(D_B), n_trials + 1))
    return net


def _spike_lists(net, name):
    return [(np.array(t), np.array(i)) for t, i in net.spikes(name)]


def test_input_dropout_rate_and_reproducibility():
    p, n_trials = 0.3, 10

    def run(seed, n_trials=n_trials):
        net = drop_net(pdrop_in=p, seed=seed, n_trials=n_trials)
        trials = []
        for k in range(n_trials):
            net.run_trial(k)
            trials.append(_spike_lists(net, "input"))
        return trials

    def same(a, b):
        return all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
                   for x, y in zip(a, b))

    a, b, c = run(7), run(7), run(8, 2)
    kept = sum(len(i) for trial in a for _, i in trial)
    n = n_trials * D_B * D_IN * SPK
    frac = kept / n
    assert abs(frac - (1 - p)) < 4 * np.sqrt(p * (1 - p) / n), frac
    assert all(same(x, y) for x, y in zip(a, b))    # fixed seed: same drops
    assert not all(same(x, y) for x, y in zip(a, c))
    assert not same(a[0], a[1])                     # each trial drops afresh
    # without dropout every spike arrives
    net = drop_net(n_trials=1)
    net.run_trial(0)
    assert sum(len(i) for _, i in net.spikes("input")) == D_B * D_IN * SPK
    # gradients stay finite with input dropout
    net = drop_net(pdrop_in=p, n_trials=1)
    net.run_trial(0)
    net.run_trial(1)
    g = net.reduce_gradients()
    assert all(np.all(np.isfinite(v)) for v in g.values())
    assert np.abs(g["w_in0"]).max() > 0


def test_hidden_dropout_blocks_transmission_not_spiking():
    p, n_trials = 0.4, 5
    emitted = delivered = 0
    ref = drop_net(out_tau_syn=1e9, w_out=np.ones((D_H, 2)),
                   n_trials=n_trials)
    net = drop_net(pdrop=p, out_tau_syn=1e9, w_out=np.ones((D_H, 2)),
                   n_trials=n_trials)
    for k in range(n_trials):
        ref.run_trial(k)
        net.run_trial(k)
        spikes, spikes_ref = _spike_lists(net, "hidden0"), \
            _spike_lists(ref, "hidden0")
        # the hidden neurons spike exactly as without dropout
        for (t, i), (tr, ir) in zip(spikes, spikes_ref):
            np.testing.assert_array_equal(t, tr)
            np.testing.assert_array_equal(i, ir)
        assert all(np.all(t < D_T - D_DT - 1e-9) for t, _ in spikes)
        # with tau_syn -> infinity and unit weights, an output's current
        # counts the hidden spikes it received in this trial
        received = np.rint(net.out.vars["I"].view[:, 0])
        np.testing.assert_array_equal(
            np.rint(ref.out.vars["I"].view[:, 0]), [len(i) for _, i in spikes])
        emitted += sum(len(i) for _, i in spikes)
        delivered += received.sum()
    assert emitted > 500
    frac = delivered / emitted
    assert abs(frac - (1 - p)) < 4 * np.sqrt(p * (1 - p) / emitted), frac


def test_hidden_dropout_gradients():
    grads = {}
    for p in (0.0, 0.4, 1.0):
        net = drop_net(pdrop=p, n_trials=1)
        net.run_trial(0)
        net.run_trial(1)
        grads[p] = net.reduce_gradients()
    for g in grads.values():
        assert all(np.all(np.isfinite(v)) for v in g.values())
    assert np.abs(grads[0.4]["w_in0"]).max() > 0
    assert not np.allclose(grads[0.4]["w_out"], grads[0.0]["w_out"])
    # nothing transmitted: the outputs do not depend on the weights
    np.testing.assert_array_equal(grads[1.0]["w_out"], 0.0)
    np.testing.assert_array_equal(grads[1.0]["w_in0"], 0.0)


# ---------------------------------------------------------------------------
# ExpCurrTauRef
# ---------------------------------------------------------------------------

def test_exp_curr_tau_ref_decays_with_each_targets_tau():
    dt, taus, w = 0.1, np.array([2.0, 5.0, 20.0]), 1.5
    m = ge.GeNNModel("double", "evp_exp_tau_ref")
    m.dt = dt
    src = m.add_neuron_population("src", 1, "SpikeSourceArray", {},
                                  {"startSpike": 0, "endSpike": 2})
    src.extra_global_params["spikeTimes"].set_init_values([1.0, 3.0])
    recorder = ge.create_neuron_model(
        "IsynRecorder", vars=[("tau_syn", "scalar", ge.VarAccess.READ_ONLY),
                              ("Irec", "scalar")],
        sim_code="Irec = Isyn;")
    trg = m.add_neuron_population("trg", 3, recorder, {},
                                  {"tau_syn": taus, "Irec": 0.0})
    m.add_synapse_population(
        "syn", "DENSE", src, trg,
        ge.init_weight_update("StaticPulse", {}, {"g": w}),
        ge.init_postsynaptic(exp_curr_tau_ref(ge), {}, {},
                             {"tau_syn": ge.create_var_ref(trg, "tau_syn")}))
    m.build()
    m.load()
    trace = []
    for _ in range(80):
        m.step_time()
        trace.append(np.array(trg.vars["Irec"].view).ravel())
    trace = np.array(trace)           # (step, neuron)
    # a spike emitted in step n (t_n >= t_spike) arrives in step n + 1
    steps = np.arange(80)
    expected = np.zeros_like(trace)
    for ts in (1.0, 3.0):
        arrive = int(np.ceil(ts / dt - 1e-9)) + 1
        k = steps - arrive
        expected += np.where(k[:, None] >= 0,
                             w * np.exp(-np.maximum(k, 0)[:, None] * dt / taus),
                             0.0)
    np.testing.assert_allclose(trace, expected, rtol=1e-12, atol=1e-15)
    # distinct decay per target (after both spikes have arrived)
    k = 50
    np.testing.assert_allclose(trace[k + 1] / trace[k], np.exp(-dt / taus),
                               rtol=1e-12)
