"""The "sum_weigh_input" loss (per-sample weighting g_in on the time grid)
against finite differences of the reference, and input_activity_weighting."""
import numpy as np
import pytest

from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from genn_models.weighting import input_activity_weighting
from tests.eventprop_harness import Case, compare, engine_name, to_neuron_major
from tests.reference import fd_gradient, simulate
from tests.reference.losses import output_integrals

N_IN, N_H, N_OUT, T, DT = 3, 4, 2, 20.0, 0.005
SAMPLES = [[[1.0, 6.0], [3.0], [2.0, 9.0]],
           [[2.0, 11.0], [1.0, 4.0], [5.0]]]
LABELS = [1, 0]
# a different smooth weighting per sample, so a mixed-up sample id shows
G = [lambda t: 1.0 + 0.5 * np.sin(np.asarray(t) / 3.0),
     lambda t: 1.0 + 0.5 * np.cos(np.asarray(t) / 4.0)]
# trial 0 holds the samples in swapped slots, trial 1 (whose forward pass runs
# beside trial 0's backward pass) the other way round
ORDER = [1, 0, 0, 1]


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"w_in0": rng.normal(3.0, 1.0, (N_IN, N_H)),
            "w_out": rng.normal(1.0, 1.0, (N_H, N_OUT))}


def grid_weighting(n_steps, dt):
    """g[s, n] = g_s at the midpoint of step n."""
    t = (np.arange(n_steps) + 0.5) * dt
    return np.stack([g(t) for g in G])


def net_steps(dt=DT):
    return int(round(T / dt))


def make_case(w, dt=DT, loss="sum_weigh_input", **kw):
    return Case(N_IN, [HiddenLayer(N_H)], N_OUT, loss, T, dt, w, SAMPLES,
                LABELS, name="evp_weigh_input", **kw)


def engine_run(case, g=None, order=ORDER):
    net = EventPropNetwork(case.cfg).build()
    net.set_data(*to_neuron_major(SAMPLES, N_IN), LABELS)
    net.load()
    for name, w in case.weights.items():
        net.set(engine_name(name), np.asarray(w).ravel())
    if g is not None:
        net.set_input_weighting(g)
    net.set_order(order)
    net.run_trial(0)
    res = net.run_trial(1)          # trial 0's backward pass runs here
    return net.reduce_gradients(), res, net


def reference_gradients(case, params):
    """Batch mean of per-sample FD gradients, each sample with its own g."""
    net, inputs = case.reference()
    per = [fd_gradient(net, [inputs[s]], [LABELS[s]], T, "sum_weigh_input",
                       {"g": G[s]}, params=params)
           for s in range(len(SAMPLES))]
    return {p: np.mean([g[p] for g in per], axis=0) for p in params}


def check(g_engine, g_ref, params):
    for name in params:
        a, b = g_engine[engine_name(name)], g_ref[name]
        assert np.linalg.norm(b) > 1e-6, f"{name}: degenerate reference"
        cos, rel = compare(a, b)
        assert cos >= 0.99 and rel <= 0.05, f"{name}: cos {cos:.5f} rel {rel:.4f}"


def test_weight_gradients_match_reference():
    case = make_case(weights())
    g_eng, res, net = engine_run(case, grid_weighting(net_steps(), DT))
    assert res["valid"].all()
    # z per slot (slot 0 held sample 1) against the reference integral
    ref_net, inputs = case.reference()
    for slot, s in enumerate(ORDER[:2]):
        tr = simulate(ref_net, inputs[s], T).output
        z_ref = output_integrals(tr, T, "input", G[s])
        np.testing.assert_allclose(res["z"][slot], z_ref, rtol=0.02, atol=1e-3)
    params = ("w_in", "w_out")
    check(g_eng, reference_gradients(case, params), params)


def test_output_tau_gradients_match_reference():
    w = weights(seed=1)
    w["tau_m_out"] = np.array([20.0, 12.0])
    w["tau_s_out"] = np.array([5.0, 7.0])
    case = make_case(w, out_kind="hetLI", train_tau_out=True)
    g_eng, _, _ = engine_run(case, grid_weighting(net_steps(), DT))
    params = ("w_out", "tau_m_out", "tau_s_out")
    check(g_eng, reference_gradients(case, params), params)


def test_uniform_weighting_equals_sum_loss():
    w = weights(seed=2)
    n = net_steps(0.05)
    g_in, res_in, _ = engine_run(make_case(w, dt=0.05), np.ones((2, n)))
    g_sum, res_sum, _ = engine_run(make_case(w, dt=0.05, loss="sum"))
    np.testing.assert_allclose(res_in["z"], res_sum["z"], rtol=1e-12)
    for k in g_sum:
        np.testing.assert_allclose(g_in[k], g_sum[k], rtol=1e-10, atol=1e-14)


def test_weighting_must_be_set_and_shaped():
    case = make_case(weights(), dt=0.5)
    net = EventPropNetwork(case.cfg).build()
    net.set_data(*to_neuron_major(SAMPLES, N_IN), LABELS)
    net.load()
    net.set_order(ORDER)
    with pytest.raises(ValueError, match="set_input_weighting"):
        net.run_trial(0)
    with pytest.raises(ValueError, match="shape"):
        net.set_input_weighting(np.ones((2, net.n_steps + 1)))
    with pytest.raises(ValueError, match="shape"):
        net.set_input_weighting(np.ones((3, net.n_steps)))
    net.set_input_weighting(np.ones((2, net.n_steps)))
    net.run_trial(0)
    other = EventPropNetwork(NetworkConfig(
        n_in=N_IN, hidden=[HiddenLayer(N_H)], n_out=N_OUT, loss="sum",
        trial_ms=T, dt=0.5, batch_size=2, model_name="evp_weigh_input_sum"))
    with pytest.raises(ValueError, match="sum_weigh_input"):
        other.set_input_weighting(np.ones((2, other.n_steps)))


def _weighting_loop(start, end, times, n_steps, dt, tau):
    g = np.ones((start.shape[0], n_steps))
    for s in range(start.shape[0]):
        spikes = np.concatenate([times[start[s, i]:end[s, i]]
                                 for i in range(start.shape[1])])
        a = np.zeros(n_steps)
        for n in range(n_steps):
            tn = (n + 1) * dt
            for tj in spikes:
                if tj <= tn:
                    a[n] += np.exp(-(tn - tj) / tau)
        if a.mean() > 0:
            g[s] = a / a.mean()
    return g


def test_input_activity_weighting_matches_direct_loop():
    rng = np.random.default_rng(0)
    n_in, n_steps, dt, tau = 5, 120, 0.5, 20.0
    samples = []
    for s in range(4):
        rate = [0.0, 0.02, 0.2, 0.05][s]     # sample 0 is silent
        samples.append([sorted(rng.uniform(0, n_steps * dt * 1.2,
                                           rng.poisson(rate * 60)))
                        for _ in range(n_in)])
    samples[3][0] = [0.0, 0.25, 1e-3] + samples[3][0]   # at and near t = 0
    samples[3][1] = sorted(samples[3][1] + [70.0])        # after the trial
    start, end, times = to_neuron_major(samples, n_in)
    g = input_activity_weighting(start, end, times, n_steps, dt, tau)
    ref = _weighting_loop(start, end, times, n_steps, dt, tau)
    assert g.shape == (4, n_steps)
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(g[0], 1.0)
    np.testing.assert_allclose(g.mean(axis=1), 1.0, rtol=1e-12)
    assert np.all(g >= 0)
    # samples need not be stored contiguously or in order
    perm = np.array([2, 0, 3, 1])
    g2 = input_activity_weighting(start[perm], end[perm], times, n_steps, dt,
                                  tau)
    np.testing.assert_allclose(g2, g[perm], rtol=1e-12)


def test_engine_reads_g_at_the_documented_grid_points():
    """Step by step: forward z gains g[s, n] (int over step n of V dt) / T
    with s the slot's current sample; one trial later the backward source
    -dl g / T of the previous sample at the mirrored step N - 1 - n acts on
    lambda_V as a constant over the step (exact exponential integration)."""
    dt, tau_m, tau_s = 0.5, 20.0, 5.0
    n = net_steps(dt)
    start, end, times = to_neuron_major(SAMPLES, N_IN)
    g = input_activity_weighting(start, end, times, n, dt, 20.0)
    assert not np.allclose(g[0], g[1])
    case = make_case(weights(seed=3), dt=dt)
    net = EventPropNetwork(case.cfg).build()
    net.set_data(start, end, times, LABELS)
    net.load()
    for name, w in case.weights.items():
        net.set(engine_name(name), np.asarray(w).ravel())
    net.set_input_weighting(g)
    net.set_order(ORDER)
    out = net.out.vars
    alpha_m, alpha_s = np.exp(-dt / tau_m), np.exp(-dt / tau_s)

    def step_integral(v0, i0):
        """int_0^dt V for tau_m V' = -V + I, I = i0 exp(-t/tau_s), V(0) = v0."""
        return (v0 * tau_m * (1 - alpha_m) + i0 * tau_s / (tau_m - tau_s)
                * (tau_m * (1 - alpha_m) - tau_s * (1 - alpha_s)))

    for trial in (0, 1):
        if trial:
            net.end_trial()
        for pop, _, _ in net.resets:
            if "trial" in pop._reset_cu.params:
                pop._reset_cu.set_dynamic_param_value("trial", trial)
        net.model.custom_update("EVP_Reset")
        dl = out["dl"].view.copy()
        now, prev = ORDER[2 * trial:2 * trial + 2], ORDER[:2]
        for k in range(n):
            z0, lv0 = out["z"].view.copy(), out["lambda_V"].view.copy()
            v0 = out["V"].view.copy()
            net.model.run_steps(1)
            V, I, z, lv = (out[x].view for x in ("V", "I", "z", "lambda_V"))
            for slot in range(2):
                # I decays exactly over the step: its start value is I / alpha_s
                iv = step_integral(v0[slot], I[slot] / alpha_s)
                np.testing.assert_allclose(
                    z[slot] - z0[slot], g[now[slot], k] * iv / T,
                    rtol=1e-9, atol=1e-15)
                if trial:
                    c = -dl[slot] * g[prev[slot], n - 1 - k] / T
                    np.testing.assert_allclose(
                        lv[slot], lv0[slot] * alpha_m + c * (1 - alpha_m),
                        rtol=1e-9, atol=1e-15)
    assert np.abs(out["lambda_V"].view).max() > 0
