"""EventProp gradients of the generated models against finite differences of
the independent continuous-time reference (tests/reference)."""
import warnings

import numpy as np
import pytest

from genn_models.network import (EventPropNetwork, HiddenLayer, NetworkConfig,
                                 SpikeBufferOverflow)
from genn_models.neurons import LOSS_TYPES
from tests.eventprop_harness import Case, compare, engine_name, to_neuron_major
from tests.reference import simulate
from tests.reference.losses import output_argmax

N_IN, N_H, N_OUT, T = 3, 4, 2, 20.0
SAMPLES = [[[1.0, 6.0], [3.0], [2.0, 9.0]],
           [[2.0, 11.0], [1.0, 4.0], [5.0]],
           [[0.5], [7.0], [3.5, 8.0]]]
LOSS_PARAMS = {"tau0": 2.0, "tau1": 6.4, "alpha": 3e-3}
DT = 0.005


def weights(seed=0, first_spike=False, rec=False, two_layers=False):
    rng = np.random.default_rng(seed)
    w = {"w_in0": rng.normal(3.0, 1.0, (N_IN, N_H))}
    if two_layers:
        w["w_ff0"] = rng.normal(2.0, 1.0, (N_H, N_H))
    w["w_out"] = rng.normal(3.0 if first_spike else 1.0, 1.0, (N_H, N_OUT))
    if rec:
        w["w_rec0"] = rng.normal(0.0, 0.5, (N_H, N_H))
    return w


def check(case, params, cos_min=0.99, rel_max=0.05):
    g, res, _ = case.engine_gradients()
    assert res["valid"].all()
    gr = case.reference_gradients(tuple(params))
    for name in params:
        a, b = g[engine_name(name)], gr[name]
        assert np.linalg.norm(b) > 1e-6, f"{name}: degenerate reference gradient"
        cos, rel = compare(a, b)
        assert cos >= cos_min and rel <= rel_max, \
            f"{case.loss} {name}: cos {cos:.5f} rel {rel:.4f}"
    return g, gr


@pytest.mark.parametrize("loss", [l for l in LOSS_TYPES if l != "sum_weigh_input"])
def test_weight_gradients_for_every_loss(loss):
    first = loss.startswith("first_spike")
    case = Case(N_IN, [HiddenLayer(N_H)], N_OUT, loss, T, DT,
                weights(first_spike=first), SAMPLES[:2], [1, 0],
                loss_params=LOSS_PARAMS, name="evp_grad")
    check(case, ["w_in", "w_out"])


@pytest.mark.parametrize("kind", ["LIF", "hetLIF", "ALIF"])
def test_weight_gradients_for_every_hidden_neuron_type(kind):
    layer = HiddenLayer(N_H, kind=kind, b_incr=0.3, tau_b=30.0)
    w = weights(seed=1)
    if kind == "hetLIF":
        w["tau_m0"] = np.array([20.0, 15.0, 25.0, 18.0])
        w["tau_s0"] = np.array([5.0, 6.0, 4.0, 5.5])
    case = Case(N_IN, [layer], N_OUT, "sum_weigh_exp", T, DT, w,
                SAMPLES[:1], [1], name="evp_grad")
    check(case, ["w_in", "w_out"])


def test_recurrent_and_two_layer_gradients():
    case = Case(N_IN, [HiddenLayer(N_H, recurrent=True)], N_OUT, "sum", T, DT,
                weights(rec=True), SAMPLES[:1], [1], name="evp_grad")
    check(case, ["w_in", "w_rec0", "w_out"])
    case = Case(N_IN, [HiddenLayer(N_H), HiddenLayer(N_H)], N_OUT, "max", T,
                DT, weights(seed=3, two_layers=True), SAMPLES[:1], [0],
                name="evp_grad")
    check(case, ["w_in", "w_ff0", "w_out"])


def test_hidden_tau_gradients():
    w = weights()
    w["tau_m0"] = np.array([20.0, 15.0, 25.0, 18.0])
    w["tau_s0"] = np.array([5.0, 6.0, 4.0, 5.5])
    case = Case(N_IN, [HiddenLayer(N_H, kind="hetLIF", train_tau=True)], N_OUT,
                "sum", T, DT, w, SAMPLES[:1], [1], name="evp_grad")
    check(case, ["w_in", "w_out", "tau_m0", "tau_s0"])


@pytest.mark.parametrize("loss", ["sum_weigh_exp", "max", "avg_xentropy",
                                  "first_spike"])
def test_output_tau_gradients(loss):
    w = weights(first_spike=loss.startswith("first_spike"))
    w["tau_m_out"] = np.array([20.0, 12.0])
    w["tau_s_out"] = np.array([5.0, 7.0])
    case = Case(N_IN, [HiddenLayer(N_H)], N_OUT, loss, T, DT, w, SAMPLES[:2],
                [1, 0], out_kind="hetLI", train_tau_out=True,
                loss_params=LOSS_PARAMS, name="evp_grad")
    check(case, ["w_out", "tau_m_out", "tau_s_out"])


# Both outputs reach their maximum where a hidden spike with a negative output
# weight arrives while V is still rising (a corner of V: V'^- > 0 > V'^+):
# h0 (w_out +3) then h1 (-5) for output 0, h2 (+3) then h3 (-5) for output 1.
CORNER_W = {"w_in0": np.array([[9.0, 0.0, 0.5, 0.0],
                               [0.0, 9.0, 0.0, 3.0],
                               [0.3, 0.0, 9.5, 7.0]]),
            "w_out": np.array([[3.0, 0.4], [-5.0, 0.3], [0.2, 3.0], [0.1, -5.0]])}
CORNER_SAMPLE = [[1.0], [3.5], [2.0, 8.0]]


@pytest.mark.parametrize("label", [0, 1])
def test_max_loss_at_a_corner_of_v(label):
    """dz/dt_k = V'(t_k^-) when the maximum sits on the arrival of spike t_k."""
    w = dict(CORNER_W)
    w["tau_m0"] = np.array([21.0, 20.0, 19.0, 20.5])
    w["tau_s0"] = np.array([5.0, 4.8, 5.1, 5.0])
    case = Case(N_IN, [HiddenLayer(N_H, kind="hetLIF", train_tau=True)], N_OUT,
                "max", T, DT, w, [CORNER_SAMPLE], [label], name="evp_grad")
    # the reference the gradients are checked against has its maxima on corners
    ref_net, inputs = case.reference()
    res = simulate(ref_net, inputs[0], T)
    t_max, _, vd_minus, vd_plus = output_argmax(res.output, T)
    for k, pre in ((0, 1), (1, 3)):
        assert vd_minus[k] > 0.05 and vd_plus[k] < -0.05
        assert t_max[k] == res.hidden_spikes[0][pre][0]
        assert CORNER_W["w_out"][pre, k] < 0
    # without dl V'^- on the arriving spike: rel 0.8 (w_in, taus), at every dt
    check(case, ["w_in", "w_out", "tau_m0", "tau_s0"], rel_max=0.01)


@pytest.mark.parametrize("loss", ["avg_xentropy", "max", "sum_weigh_exp",
                                  "first_spike"])
def test_gradients_in_a_loop_belong_to_the_previous_trial(loss):
    """After run_trial(k + 1) every reduced gradient, output taus included, is
    trial k's: the one a network that ran only trial k returns."""
    w = weights(first_spike=loss.startswith("first_spike"))
    w["tau_m_out"] = np.array([20.0, 12.0])
    w["tau_s_out"] = np.array([5.0, 7.0])
    labels = [1, 0, 1]

    def case(samples, labels):
        return Case(N_IN, [HiddenLayer(N_H)], N_OUT, loss, T, 0.05, w, samples,
                    labels, out_kind="hetLI", train_tau_out=True, batch_size=1,
                    loss_params=LOSS_PARAMS, name="evp_loop")

    singles = [case([s], [y]).engine_gradients()[0]
               for s, y in zip(SAMPLES, labels)]
    net = EventPropNetwork(case(SAMPLES, labels).cfg).build()
    net.set_data(*to_neuron_major(SAMPLES, N_IN), labels)
    net.load()
    for name, v in w.items():
        net.set(engine_name(name), v.ravel())
    net.set_order([0, 1, 2, -1])
    net.run_trial(0)
    for k in range(3):
        net.run_trial(k + 1)
        g = net.reduce_gradients()
        assert np.abs(g["tau_m_out"]).max() > 0
        for name in singles[k]:
            np.testing.assert_allclose(g[name], singles[k][name], rtol=1e-9,
                                       atol=1e-14, err_msg=f"trial {k} {name}")


def test_error_shrinks_with_dt():
    errs = []
    for dt in (0.08, 0.02, 0.005):
        case = Case(N_IN, [HiddenLayer(N_H)], N_OUT, "sum", T, dt, weights(),
                    SAMPLES[:1], [1], name="evp_grad")
        g, _, _ = case.engine_gradients()
        gr = case.reference_gradients(("w_in",))
        errs.append(compare(g["w_in0"], gr["w_in"])[1])
    assert errs[2] < errs[1] < errs[0], errs
    assert errs[2] < 0.01


def test_batch_gradient_is_the_mean_of_single_sample_gradients():
    w = weights(seed=2)
    batch = Case(N_IN, [HiddenLayer(N_H)], N_OUT, "sum_weigh_exp", T, 0.05, w,
                 SAMPLES, [1, 0, 1], name="evp_batch")
    gb, _, _ = batch.engine_gradients()
    singles = []
    for s, y in zip(SAMPLES, [1, 0, 1]):
        one = Case(N_IN, [HiddenLayer(N_H)], N_OUT, "sum_weigh_exp", T, 0.05,
                   w, [s], [y], name="evp_batch")
        singles.append(one.engine_gradients()[0])
    for k in gb:
        np.testing.assert_allclose(gb[k], np.mean([g[k] for g in singles], 0),
                                   rtol=1e-9, atol=1e-14)


def _spike_time_errors(w, samples, dt):
    """|engine - reference| per hidden spike, with the spike's index per neuron."""
    case = Case(N_IN, [HiddenLayer(N_H)], N_OUT, "sum", T, dt, w, samples,
                [0], name="evp_fwd")
    case.cfg.record_spikes = ("hidden0",)
    net = EventPropNetwork(case.cfg).build()
    start, end, times = to_neuron_major(samples, N_IN)
    net.set_data(start, end, times, [0])
    net.load()
    for k, v in w.items():
        net.set(k, v.ravel())
    net.set_order([0])
    net.run_trial(0)
    t_eng, ids = net.spikes("hidden0")[0]
    ref_net, inputs = case.reference()
    ref = simulate(ref_net, inputs[0], T)
    errs, index = [], []
    for i in range(N_H):
        mine = np.sort(t_eng[ids == i]) + dt     # effective spike times
        theirs = np.asarray(ref.hidden_spikes[0][i])
        assert len(mine) == len(theirs), (i, mine, theirs)
        # a crossing is seen at the end of its step: never early
        assert np.all(mine >= theirs - 1e-9)
        errs += list(mine - theirs)
        index += list(range(len(mine)))
    return np.array(errs), np.array(index)


def test_forward_spike_times_match_the_reference():
    rng = np.random.default_rng(5)
    for trial in range(3):
        w = {"w_in0": rng.normal(2.5, 1.5, (N_IN, N_H)),
             "w_out": rng.normal(0.5, 1.0, (N_H, N_OUT))}
        samples = [[sorted(rng.uniform(0, 15, rng.integers(1, 4)).round(2))
                    for _ in range(N_IN)]]
        coarse, idx = _spike_time_errors(w, samples, 0.01)
        fine, _ = _spike_time_errors(w, samples, 0.0025)
        assert len(coarse) > 0
        # first spikes of each neuron lie within one step; later spikes carry
        # the earlier resets' delays, and all errors shrink with dt
        assert np.all(coarse[idx == 0] <= 0.01 + 1e-9)
        assert np.all(coarse <= 0.01 * 3 * (idx + 1))
        assert fine.max() <= 0.5 * coarse.max()


def test_adam_matches_numpy_step_for_step():
    cfg = NetworkConfig(n_in=3, hidden=[HiddenLayer(4)], n_out=2, loss="sum",
                        trial_ms=5.0, dt=1.0, batch_size=2, precision="double",
                        model_name="evp_adam")
    net = EventPropNetwork(cfg).build().load()
    rng = np.random.default_rng(0)
    w = net.get("w_out").copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    red = net.trained["w_out"][2]
    for t in range(1, 6):
        g = rng.normal(size=w.shape)
        red.vars["reduced"].view[...] = g
        for name, (_, _, r, _) in net.trained.items():
            if name != "w_out":
                r.vars["reduced"].view[...] = 0.0
        net.adam_step(0.01)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t))
                                              + 1e-8)
        np.testing.assert_allclose(net.get("w_out"), w, rtol=1e-12)


def test_adamw_decays_weights_not_taus_step_for_step():
    """WEIGHT_DECAY: decoupled decay (AdamW) of the trained weights, computed
    from each weight's value before the step; trained taus are not decayed."""
    wd, lr = 0.5, 0.01
    cfg = NetworkConfig(n_in=3, hidden=[HiddenLayer(4, kind="hetLIF", train_tau=True)],
                        n_out=2, loss="sum", trial_ms=5.0, dt=1.0, batch_size=2,
                        precision="double", weight_decay=wd, seed=3,
                        model_name="evp_adamw")
    net = EventPropNetwork(cfg).build().load()
    rng = np.random.default_rng(1)
    want = {n: net.get(n).copy() for n in net.trained}
    assert {"w_in0", "w_out", "tau_m0"} <= set(want)
    w0 = want["w_out"].copy()
    m = {n: np.zeros_like(x) for n, x in want.items()}
    v = {n: np.zeros_like(x) for n, x in want.items()}
    for t in range(1, 6):
        for name, (_, _, red, _) in net.trained.items():
            # w_out gets no gradient at all: only the decay moves it
            g = np.zeros_like(want[name]) if name == "w_out" \
                else rng.normal(size=want[name].shape)
            red.vars["reduced"].view[...] = g
            m[name] = 0.9 * m[name] + 0.1 * g
            v[name] = 0.999 * v[name] + 0.001 * g * g
            step = lr * (m[name] / (1 - 0.9 ** t)) / (
                np.sqrt(v[name] / (1 - 0.999 ** t)) + 1e-8)
            decay = lr * wd * want[name] if name.startswith("w_") else 0.0
            want[name] = want[name] - step - decay
        net.adam_step(lr)
        for name in want:
            # atol: a weight that lands near 0 differs in its last bits
            np.testing.assert_allclose(net.get(name), want[name], rtol=1e-12,
                                       atol=1e-15, err_msg=name)
    # five steps of pure decay: w_out shrank by (1 - lr * wd)^5
    np.testing.assert_allclose(net.get("w_out"), w0 * (1 - lr * wd) ** 5, rtol=1e-12)


def test_spike_buffer_overflow_is_reported():
    w = weights()
    case = Case(N_IN, [HiddenLayer(N_H, n_max_spike=2)], N_OUT, "sum", T, 0.05,
                w, SAMPLES[:1], [1], name="evp_overflow")
    with pytest.raises(SpikeBufferOverflow, match="N_MAX_SPIKE"):
        case.engine_gradients()
    case.cfg.overflow = "warn"
    with pytest.warns(RuntimeWarning, match="did not fit"):
        case.engine_gradients()


def _busy_layer_gradients(n_max_spike, n_trials=4):
    """A hidden layer that spikes in (nearly) every step of every trial, run
    over consecutive trials of one sample with spike buffers of
    ``n_max_spike`` entries: the gradients of each trial, the overflow count
    and the hidden spikes per trial and neuron."""
    dt, T_busy = 0.1, 3.0
    sample = [[float(t) for t in np.arange(0.0, T_busy, dt)]] * N_IN
    rng = np.random.default_rng(5)
    w = {"w_in0": rng.uniform(40.0, 60.0, (N_IN, N_H)),
         "w_out": rng.normal(0.0, 1.0, (N_H, N_OUT))}
    case = Case(N_IN, [HiddenLayer(N_H, n_max_spike=n_max_spike)], N_OUT, "sum",
                T_busy, dt, w, [sample], [1], name="evp_busy")
    case.cfg.record_spikes = ("hidden0",)
    case.cfg.overflow = "warn"
    case.cfg.n_max_spike_in = 2 * len(sample[0]) + 2
    net = EventPropNetwork(case.cfg).build()
    net.set_data(*to_neuron_major([sample], N_IN), [1])
    net.load()
    for k, v in w.items():
        net.set(k, v.ravel())
    net.set_order(np.zeros(n_trials + 1, int))
    grads, counts = [], []
    for k in range(n_trials + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            net.run_trial(k)
        if k:
            grads.append({n: g.copy() for n, g in net.reduce_gradients().items()})
        _, ids = net.spikes("hidden0")[0]
        counts.append(np.bincount(ids, minlength=N_H))
    return grads, getattr(net, "overflow_count", 0), counts, int(round(T_busy / dt))


def test_spike_buffers_of_one_trials_steps_never_overflow():
    """Consecutive trials fill the buffer from opposite ends and the replay
    of the previous trial frees entries as fast as the next one fills them:
    n_steps entries hold every spike of neurons that spike in every step,
    where a buffer holding two whole trials would need about 2 n_steps."""
    grads, overflow, counts, n_steps = _busy_layer_gradients(30)
    assert n_steps == 30
    assert overflow == 0
    assert min(c.min() for c in counts) >= n_steps - 2      # busy in every trial
    ref, overflow_ref, _, _ = _busy_layer_gradients(3 * n_steps)
    assert overflow_ref == 0
    for g, r in zip(grads, ref):
        for name in r:
            np.testing.assert_array_equal(g[name], r[name])
    assert any(np.abs(r["w_in0"]).max() > 0 for r in ref)
    # one entry fewer than the bound does overflow: the bound is tight
    _, overflow_small, _, _ = _busy_layer_gradients(n_steps - 3)
    assert overflow_small > 0


def test_trials_are_independent():
    """The same sample twice gives the same outputs: nothing of a trial (a
    spike in its last step, a current) leaks into the next one."""
    rng = np.random.default_rng(4)
    w = {"w_in0": rng.normal(4.0, 1.0, (N_IN, N_H)),
         "w_out": rng.normal(1.0, 1.0, (N_H, N_OUT))}
    # dense late input so that hidden neurons spike up to the last step
    sample = [[float(t) for t in np.arange(0.5, T, 1.5) + 0.1 * c]
              for c in range(N_IN)]
    case = Case(N_IN, [HiddenLayer(N_H, n_max_spike=200)], N_OUT, "sum", T,
                0.1, w, [sample], [0], name="evp_indep")
    case.cfg.record_spikes = ("hidden0",)
    case.cfg.precision = "float"      # the precision training runs in
    net = EventPropNetwork(case.cfg).build()
    start, end, times = to_neuron_major([sample], N_IN)
    net.set_data(start, end, times, [0])
    net.load()
    for k, v in w.items():
        net.set(k, v.ravel())
    net.set_order([0, 0, 0, 0])
    net.run_trial(0)
    t_hid, _ = net.spikes("hidden0")[0]
    assert np.isclose(t_hid.max(), T - 0.1)          # a spike in the last step
    first = net.run_trial(1)
    second = net.run_trial(2)
    np.testing.assert_array_equal(first["z"], second["z"])
    # late in a long training run (t = 1e8 ms) trial timing is still exact
    net.model.timestep = 10 ** 9 + 7
    net.run_trial(3)
    np.testing.assert_allclose(net.end_trial()["z"], first["z"], rtol=1e-5)


@pytest.mark.parametrize("precision", ["float", "double"])
def test_input_spikes_on_the_grid_do_not_depend_on_the_absolute_time(precision):
    """An input spike at n dt is emitted in step n of its trial, whatever the
    model time the trial starts at (t - rev_t is n dt only up to rounding)."""
    dt = 0.1
    rng = np.random.default_rng(11)
    # on grid points, as data rounded to the time step holds them
    sample = [sorted(rng.choice(np.arange(1, 150), 12, replace=False) * dt)
              for _ in range(N_IN)]
    w = {"w_in0": rng.normal(1.5, 0.5, (N_IN, N_H)),
         "w_out": rng.normal(0.5, 1.0, (N_H, N_OUT))}
    case = Case(N_IN, [HiddenLayer(N_H, n_max_spike=100)], N_OUT, "sum", T, dt,
                w, [sample], [1], name="evp_grid")
    case.cfg.record_spikes = ("input", "hidden0")
    case.cfg.precision = precision
    case.cfg.n_max_spike_in = 100
    net = EventPropNetwork(case.cfg).build()
    net.set_data(*to_neuron_major([sample], N_IN), [1])
    net.load()
    for k, v in w.items():
        net.set(k, v.ravel())
    net.set_order([0, -1])
    runs = []
    # trial starts at t = 0, 1e6 ms, at an odd step count and late (1e8 ms)
    for start in (0, 10 ** 7, 123456789, 10 ** 9 + 7):
        net.model.timestep = start
        net.run_trial(0)
        spikes = {}
        for pop in ("input", "hidden0"):
            t, ids = net.spikes(pop)[0]
            spikes[pop] = (np.round(t / dt).astype(int), ids.copy())
        net.run_trial(1)
        runs.append((spikes, net.reduce_gradients()))
    steps, ids = runs[0][0]["input"]
    for c in range(N_IN):
        want = np.round(np.array(sample[c]) / dt).astype(int)
        np.testing.assert_array_equal(np.sort(steps[ids == c]), want)
    assert len(runs[0][0]["hidden0"][0]) > 0
    for spikes, g in runs[1:]:
        for pop in ("input", "hidden0"):
            for a, b in zip(spikes[pop], runs[0][0][pop]):
                np.testing.assert_array_equal(a, b)
        for k in g:
            np.testing.assert_allclose(g[k], runs[0][1][k], rtol=1e-5,
                                       atol=1e-9, err_msg=k)
