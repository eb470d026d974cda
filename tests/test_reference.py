"""Checks of the event-driven reference simulator (tests/reference) against
independent computations: root finding on hand-written closed forms, time-stepped
simulations, brute-force grid integration of the losses and hand-derived gradients."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

try:
    from tests.reference import (Layer, Network, batch_loss, fd_gradient, simulate,
                                 trial_loss)
    from tests.reference.losses import output_argmax, output_max
except ImportError:  # plain `pytest` does not put the repository root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reference import (Layer, Network, batch_loss, fd_gradient, simulate,
                                 trial_loss)
    from tests.reference.losses import output_argmax, output_max


# ---------------------------------------------------------------- helpers

def single_neuron_net(layer, w, n_in=1):
    """n_in inputs -> one hidden neuron (weights w) -> one silent LI output."""
    return Network(n_in, [layer], Layer(1, 10.0, 5.0, kind="LI"),
                   w_in=np.full((n_in, 1), float(w)), w_out=np.zeros((1, 1)))


def v_closed(s, V0, I0, tm, ts):
    if tm == ts:
        return (V0 + I0 * s / tm) * math.exp(-s / tm)
    return V0 * math.exp(-s / tm) + I0 * ts / (tm - ts) * (math.exp(-s / tm) - math.exp(-s / ts))


def spikes_after_single_kick(w, tm, ts, T, theta=1.0, n_grid=20001):
    """Spike train of a neuron kicked by I0 = w at t = 0: dense scan + brentq per spike."""
    t0, V0, I0, out = 0.0, 0.0, w, []
    while True:
        s = np.linspace(0.0, T - t0, n_grid)
        f = np.array([v_closed(x, V0, I0, tm, ts) for x in s]) - theta
        above = np.flatnonzero(f >= 0)
        if above.size == 0:
            return np.array(out)
        j = above[0]
        r = brentq(lambda x: v_closed(x, V0, I0, tm, ts) - theta, s[j - 1], s[j], xtol=1e-15)
        t0 += r
        out.append(t0)
        V0, I0 = 0.0, I0 * math.exp(-r / ts)


def exact_step_single(in_steps, w, tm, ts, dt, n_steps, theta=1.0):
    """Clock-driven exact propagation on a dt grid; a crossing inside a step is located
    by linear interpolation and the rest of the step is redone from the reset state."""
    em, es = math.exp(-dt / tm), math.exp(-dt / ts)
    hd = ts / (tm - ts) * (em - es)
    in_steps = set(in_steps)
    V = I = 0.0
    spikes = []
    for n in range(n_steps):
        if n in in_steps:
            I += w
        Vn = V * em + I * hd
        if Vn >= theta:
            frac = (theta - V) / (Vn - V)
            tc = (n + frac) * dt
            spikes.append(tc)
            Ic = I * math.exp(-frac * dt / ts)
            rest = (1.0 - frac) * dt
            Vn = Ic * ts / (tm - ts) * (math.exp(-rest / tm) - math.exp(-rest / ts))
        V, I = Vn, I * es
    return np.array(spikes)


def stepped_network(net, inputs, T, dt, output_spiking=False):
    """Independent clock-driven simulation with exact propagation: a crossing detected
    at the end of a (sub)step is located by bisection and the network restarts from
    that spike. Returns hidden spike lists, output spike lists, grid, output V on it."""
    layers = net.hidden + [net.output]
    nl = len(layers)
    spiking = [l.kind not in ("LI", "hetLI") for l in net.hidden] + [output_spiking]
    V = [np.zeros(l.n) for l in layers]
    I = [np.zeros(l.n) for l in layers]
    B = [l.b_init.copy() if l.kind == "ALIF" else np.zeros(l.n) for l in layers]
    tb = [l.tau_b if l.kind == "ALIF" else np.ones(l.n) for l in layers]
    nxt = net.w_ff + [net.w_out]
    spikes = [[[] for _ in range(l.n)] for l in layers]
    ev = sorted((t, c) for c, ts in enumerate(inputs) for t in ts if t < T)

    def prop(k, s, V0=None, I0=None, B0=None):
        l = layers[k]
        V0 = V[k] if V0 is None else V0
        I0 = I[k] if I0 is None else I0
        B0 = B[k] if B0 is None else B0
        em, es = np.exp(-s / l.tau_m), np.exp(-s / l.tau_s)
        Vn = V0 * em + I0 * l.tau_s / (l.tau_m - l.tau_s) * (em - es)
        return Vn, I0 * es, B0 * np.exp(-s / tb[k])

    def thr(k, Bk):
        return layers[k].v_thresh + Bk

    n_grid = int(round(T / dt))
    grid = np.arange(n_grid + 1) * dt
    vout = np.zeros((n_grid + 1, net.output.n))
    cur, p = 0.0, 0
    for n in range(1, n_grid + 1):
        t_end = grid[n]
        while True:
            t_next = min(ev[p][0], t_end) if p < len(ev) else t_end
            new = [prop(k, t_next - cur) for k in range(nl)]
            first = None
            for k in range(nl):
                if not spiking[k]:
                    continue
                for i in np.flatnonzero(new[k][0] >= thr(k, new[k][2])):
                    lo, hi = 0.0, t_next - cur
                    for _ in range(80):
                        m = 0.5 * (lo + hi)
                        Vm, _, Bm = prop(k, m)
                        if Vm[i] >= thr(k, Bm)[i]:
                            hi = m
                        else:
                            lo = m
                    if first is None or hi < first[0]:
                        first = (hi, k, i)
            if first is not None:
                s, k, i = first
                for q in range(nl):
                    V[q], I[q], B[q] = prop(q, s)
                cur += s
                V[k][i] = layers[k].v_reset[i]
                if layers[k].kind == "ALIF":
                    B[k][i] += layers[k].b_incr[i]
                spikes[k][i].append(cur)
                if k < nl - 1:
                    if k < nl - 1 and net.w_rec[k] is not None:
                        I[k] += net.w_rec[k][i]
                    I[k + 1] += nxt[k][i]
                continue
            for q in range(nl):
                V[q], I[q], B[q] = new[q]
            cur = t_next
            while p < len(ev) and ev[p][0] <= cur:
                I[0] += (net.w_in if net.hidden else net.w_out)[ev[p][1]]
                p += 1
            if cur >= t_end:
                break
        vout[n] = V[-1]
    return spikes[:-1], spikes[-1], grid, vout


def small_network(seed=3, n_in=4, sizes=(6, 5), n_out=3, out_thresh=1.0):
    rng = np.random.default_rng(seed)
    h0 = Layer(sizes[0], rng.uniform(12, 18, sizes[0]), rng.uniform(4, 6, sizes[0]),
               kind="hetLIF")
    h1 = Layer(sizes[1], 15.0, 5.0, kind="ALIF", tau_b=25.0, b_incr=0.2, b_init=0.05)
    out = Layer(n_out, rng.uniform(9, 11, n_out), rng.uniform(3, 4, n_out), kind="hetLI",
                v_thresh=out_thresh)
    return Network(n_in, [h0, h1], out,
                   w_in=rng.normal(1.0, 0.6, (n_in, sizes[0])),
                   w_ff=[rng.normal(1.0, 0.8, sizes)],
                   w_rec=[rng.normal(0.0, 0.4, (sizes[0], sizes[0])), None],
                   w_out=rng.normal(0.6, 0.8, (sizes[1], n_out)))


def random_inputs(seed, n_in=4, n_spk=6, T=30.0):
    rng = np.random.default_rng(seed)
    return [np.sort(rng.uniform(0.0, 0.8 * T, n_spk)) for _ in range(n_in)]


def trapz(y, x):
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def xent(z, y):
    z = np.asarray(z)
    m = z.max()
    return float(m + np.log(np.sum(np.exp(z - m))) - z[y])


# ---------------------------------------------------------------- single neuron

def test_single_kick_spikes_match_root_finding():
    tm, ts, T = 20.0, 5.0, 60.0
    for w in (2.0, 5.0, 40.0):  # one spike, a few, many inside one inter-event interval
        net = single_neuron_net(Layer(1, tm, ts), w)
        got = simulate(net, [[0.0]], T).hidden_spikes[0][0]
        want = spikes_after_single_kick(w, tm, ts, T)
        assert got.size == want.size
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    assert simulate(single_neuron_net(Layer(1, tm, ts), 40.0), [[0.0]], T).n_spikes() > 5


def test_grazing_crossing_inside_interval_is_found():
    tm, ts, T = 20.0, 5.0, 50.0
    s_pk = math.log(tm / ts) / (1 / ts - 1 / tm)
    peak = v_closed(s_pk, 0.0, 1.0, tm, ts)  # V peak for unit kick
    # V rises above threshold and falls back well before the next event (T).
    for rel, n_expected in ((1 + 1e-7, 1), (1 - 1e-7, 0)):
        w = rel / peak
        res = simulate(single_neuron_net(Layer(1, tm, ts), w), [[1.0]], T)
        assert res.n_spikes() == n_expected
        if n_expected:
            t = res.hidden_spikes[0][0][0]
            assert abs(t - (1.0 + s_pk)) < 5e-3
            assert abs(v_closed(t - 1.0, 0.0, w, tm, ts) - 1.0) < 1e-12


def test_regular_train_matches_exact_step_simulation():
    tm, ts, w, T, dt = 10.0, 4.0, 0.8, 50.0, 1e-4
    steps = list(range(5000, int(T / dt), 20000))  # every 2 ms from 0.5 ms
    inputs = [np.array(steps) * dt]
    got = simulate(single_neuron_net(Layer(1, tm, ts), w), inputs, T).hidden_spikes[0][0]
    want = exact_step_single(steps, w, tm, ts, dt, int(T / dt))
    assert want.size >= 4
    assert got.size == want.size
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_equal_and_nearly_equal_taus_are_continuous():
    ts, w, T = 10.0, 5.0, 60.0
    ref = simulate(single_neuron_net(Layer(1, ts, ts), w), [[0.5]], T)
    t_eq = ref.hidden_spikes[0][0]
    want = spikes_after_single_kick(w, ts, ts, T - 0.5) + 0.5
    np.testing.assert_allclose(t_eq, want, rtol=0, atol=1e-10)
    grid = np.linspace(0, T, 2001)
    v_eq = ref.hidden[0].V(grid)[:, 0]
    for d in (1e-13, 1e-10, 1e-7, 1e-5, 1e-3):
        for sign in (1, -1):
            res = simulate(single_neuron_net(Layer(1, ts + sign * d, ts), w), [[0.5]], T)
            t = res.hidden_spikes[0][0]
            assert t.size == t_eq.size
            assert np.max(np.abs(t - t_eq)) < 50 * d + 1e-11
            assert np.max(np.abs(res.hidden[0].V(grid)[:, 0] - v_eq)) < 5 * d + 1e-13
    # Nearly equal taus must also match the closed form written without cancellation.
    tm = ts * (1 + 1e-9)
    res = simulate(single_neuron_net(Layer(1, tm, ts, v_thresh=100.0), w), [[0.0]], T)
    s = np.linspace(0, T, 7)
    exact = w * s / ts * np.exp(-s / ts)  # first order in (tm - ts) is ~1e-8 here
    np.testing.assert_allclose(res.hidden[0].V(s)[:, 0], exact, rtol=0, atol=1e-7)


def test_alif_threshold_adaptation():
    tm, ts, T = 10.0, 5.0, 60.0
    inputs = [np.arange(0.5, T, 1.5)]
    w = 0.6
    lif = simulate(single_neuron_net(Layer(1, tm, ts), w), inputs, T).hidden_spikes[0][0]
    same = Layer(1, tm, ts, kind="ALIF", tau_b=30.0, b_incr=0.0, b_init=0.0)
    np.testing.assert_allclose(
        simulate(single_neuron_net(same, w), inputs, T).hidden_spikes[0][0], lif, atol=1e-12)
    tb, binc, b0 = 30.0, 0.4, 0.1
    alif = Layer(1, tm, ts, kind="ALIF", tau_b=tb, b_incr=binc, b_init=b0)
    res = simulate(single_neuron_net(alif, w), inputs, T)
    t = res.hidden_spikes[0][0]
    assert lif.size >= 6 and 2 <= t.size < lif.size
    assert t[0] > lif[0]  # b_init raises the first threshold
    assert np.all(np.diff(t)[1:] > np.diff(lif)[1:t.size - 1].min())
    # At every spike V reaches v_thresh + B with B rebuilt here from the spike times.
    V_before, _, B_before = res.hidden[0].state(t, side="left")
    B_here = np.array([b0 * math.exp(-tk / tb) + sum(binc * math.exp(-(tk - tj) / tb)
                                                      for tj in t[:k]) for k, tk in enumerate(t)])
    np.testing.assert_allclose(B_before[:, 0], B_here, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(V_before[:, 0], 1.0 + B_here, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- network

T_NET, DT_NET = 30.0, 5e-3


@pytest.fixture(scope="module")
def net_case():
    net = small_network()
    inputs = random_inputs(11)
    res = simulate(net, inputs, T_NET)
    hid, _, grid, vout = stepped_network(net, inputs, T_NET, DT_NET)
    res_s = simulate(net, inputs, T_NET, output_spiking=True)
    _, out_sp, _, _ = stepped_network(net, inputs, T_NET, DT_NET, output_spiking=True)
    return dict(net=net, inputs=inputs, res=res, hid=hid, grid=grid, vout=vout,
                res_s=res_s, out_sp=out_sp)


def test_network_matches_stepped_simulation(net_case):
    res, hid = net_case["res"], net_case["hid"]
    n_total = 0
    for l, layer_spikes in enumerate(res.hidden_spikes):
        for i, t in enumerate(layer_spikes):
            want = np.array(hid[l][i])
            assert t.size == want.size
            np.testing.assert_allclose(t, want, rtol=0, atol=1e-8)
            n_total += t.size
    assert 20 <= n_total <= 150
    v = res.output.V(net_case["grid"])
    np.testing.assert_allclose(v, net_case["vout"], rtol=0, atol=1e-8)
    first = net_case["res_s"].output_first_spikes
    want = np.array([s[0] if s else np.inf for s in net_case["out_sp"]])
    assert np.isfinite(first).sum() >= 2
    np.testing.assert_allclose(first, want, rtol=0, atol=1e-8)


def g_step(t):  # deliberately scalar-only, piecewise constant
    return 1.0 if t < 12.5 else 0.3


def brute_force_loss(case, loss_type, label, lp):
    grid, v, T = case["grid"], case["vout"], T_NET
    weights = {
        "sum": np.ones_like(grid),
        "sum_weigh_linear": 1 - grid / T,
        "sum_weigh_exp": np.exp(-grid / T),
        "sum_weigh_sigmoid": 1 / (1 + np.exp((grid - T / 2) / (0.1 * T))),
    }
    if loss_type in weights:
        z = [trapz(weights[loss_type] * v[:, k], grid) / T for k in range(v.shape[1])]
        return xent(z, label)
    if loss_type == "sum_weigh_input":
        j = int(round(12.5 / DT_NET))
        z = [(trapz(v[:j + 1, k], grid[:j + 1]) + 0.3 * trapz(v[j:, k], grid[j:])) / T
             for k in range(v.shape[1])]
        return xent(z, label)
    if loss_type == "max":
        return xent(v.max(axis=0), label)
    if loss_type == "avg_xentropy":
        return trapz(np.array([xent(row, label) for row in v]), grid) / T
    t = np.array([s[0] if s else np.inf for s in case["out_sp"]])
    ce = t[label] / lp["tau0"] + math.log(np.sum(np.exp(-t[np.isfinite(t)] / lp["tau0"])))
    if loss_type == "first_spike":
        return ce + lp["alpha"] / (1.01 * T - t[label]) ** 2
    return ce + lp["alpha"] * math.exp(t[label] / lp["tau1"])


ALL_LOSSES = ["sum", "sum_weigh_linear", "sum_weigh_exp", "sum_weigh_sigmoid",
              "sum_weigh_input", "max", "avg_xentropy", "first_spike", "first_spike_exp"]


@pytest.mark.parametrize("loss_type", ALL_LOSSES)
def test_losses_match_brute_force(net_case, loss_type):
    lp = {"tau0": 2.0, "tau1": 8.0, "alpha": 0.5, "g": g_step, "g_breaks": [12.5]}
    first = net_case["res_s"].output_first_spikes
    for label in range(3):
        if loss_type.startswith("first_spike") and not np.isfinite(first[label]):
            continue
        got = trial_loss(net_case["net"], net_case["inputs"], label, T_NET, loss_type, lp)
        want = brute_force_loss(net_case, loss_type, label, lp)
        assert np.isfinite(got)
        assert abs(got - want) <= 1e-4 * abs(want) + 1e-9, (label, got, want)


def test_sum_weigh_input_matches_builtin_weightings(net_case):
    net, inputs = net_case["net"], net_case["inputs"]
    T = T_NET
    for name, g in (("sum_weigh_exp", lambda t: np.exp(-t / T)),
                    ("sum_weigh_linear", lambda t: 1 - t / T),
                    ("sum", lambda t: np.ones_like(t))):
        a = trial_loss(net, inputs, 1, T, name)
        b = trial_loss(net, inputs, 1, T, "sum_weigh_input", {"g": g})
        assert abs(a - b) < 1e-12


def test_silent_correct_output_gives_nan():
    net = small_network(out_thresh=1e6)
    assert math.isnan(trial_loss(net, random_inputs(11), 0, T_NET, "first_spike"))


# ---------------------------------------------------------------- gradients

def test_with_param_copies_and_does_not_mutate():
    net = small_network()
    w = net.get_param("w_in")
    w[0, 0] += 1.0
    assert net.w_in[0, 0] != w[0, 0]
    net2 = net.with_param("w_in", w)
    assert net2.w_in[0, 0] == w[0, 0] and net.w_in[0, 0] != w[0, 0]
    tau = net.get_param("tau_m1")
    tau[2] = 20.0
    net3 = net.with_param("tau_m1", tau)
    assert net3.hidden[1].tau_m[2] == 20.0 and net.hidden[1].tau_m[2] == 15.0
    assert net3.hidden[1].kind == "ALIF"
    assert net.get_param("tau_s_out").shape == (3,)
    with pytest.raises(KeyError):
        net.get_param("w_rec1")  # None in this network


@pytest.mark.parametrize("loss_type", ["sum", "max", "avg_xentropy", "first_spike_exp"])
def test_fd_gradient_is_step_size_independent(loss_type):
    rng = np.random.default_rng(7)
    T = 25.0
    h = Layer(4, rng.uniform(8, 12, 4), rng.uniform(3, 5, 4), kind="hetLIF")
    out = Layer(2, 10.0, 4.0, v_thresh=0.6)
    net = Network(3, [h], out, w_in=rng.normal(1.2, 0.5, (3, 4)),
                  w_rec=[rng.normal(0, 0.3, (4, 4))], w_out=rng.normal(0.8, 0.4, (4, 2)))
    inputs = [random_inputs(s, n_in=3, n_spk=5, T=T) for s in (1, 2)]
    labels = [0, 1]
    lp = {"tau0": 2.0, "tau1": 8.0, "alpha": 0.01}
    for x, y in zip(inputs, labels):
        res = simulate(net, x, T, output_spiking=True)
        assert res.n_spikes() >= 5 and np.isfinite(res.output_first_spikes[y])
    params = ("w_in", "w_rec0", "w_out", "tau_m0", "tau_s_out")
    g1 = fd_gradient(net, inputs, labels, T, loss_type, lp, params, eps=1e-4)
    g2 = fd_gradient(net, inputs, labels, T, loss_type, lp, params, eps=1e-6)
    scale = max(np.abs(g).max() for g in g1.values())
    assert scale > 1e-3
    # The O(eps^2) truncation error at eps = 1e-4 reaches ~5e-4 of the largest entry
    # here (spike times depend strongly on some input weights); it shrinks 100x at 1e-5.
    for name in params:
        assert g1[name].shape == net.get_param(name).shape
        np.testing.assert_allclose(g2[name], g1[name], rtol=1e-3, atol=1e-3 * scale,
                                   err_msg=name)


def test_fd_gradient_matches_hand_derivative_li():
    # Inputs straight to two LI outputs, one input spike: z_k = w_k F(tm_k, ts_k) / T,
    # F = int_0^L h = ts/(tm - ts) [tm (1 - e^{-L/tm}) - ts (1 - e^{-L/ts})].
    T, t0, y = 30.0, 4.0, 1
    tm = np.array([12.0, 9.0])
    ts = np.array([4.0, 6.0])
    w = np.array([[0.7, 0.3]])
    net = Network(1, [], Layer(2, tm, ts, kind="hetLI"), w_out=w)
    L = T - t0
    em, es = np.exp(-L / tm), np.exp(-L / ts)
    G = tm * (1 - em) - ts * (1 - es)
    F = ts / (tm - ts) * G
    dF_dtm = -ts / (tm - ts) ** 2 * G + ts / (tm - ts) * (1 - em - L / tm * em)
    dF_dts = tm / (tm - ts) ** 2 * G + ts / (tm - ts) * (-(1 - es) + L / ts * es)
    z = w[0] * F / T
    p = np.exp(z - z.max())
    p /= p.sum()
    dL_dz = p - np.eye(2)[y]
    want = {"w_out": (dL_dz * F / T)[None, :],
            "tau_m_out": dL_dz * w[0] * dF_dtm / T,
            "tau_s_out": dL_dz * w[0] * dF_dts / T}
    assert abs(trial_loss(net, [[t0]], y, T, "sum") - xent(z, y)) < 1e-14
    got = fd_gradient(net, [[[t0]]], [y], T, "sum", params=tuple(want), eps=1e-5)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-7, atol=1e-12,
                                   err_msg=name)
    assert batch_loss(net, [[[t0]], [[t0]]], [y, y], T, "sum") == pytest.approx(xent(z, y),
                                                                             abs=1e-14)


def test_max_at_a_corner_moves_with_the_arrival():
    # Two input spikes straight into one LI output: +3 at t0, -5 at t1 while V
    # still rises. V is continuous with a corner at t1 (V'^- > 0 > V'^+), the
    # maximum is z = V(t1) = 3 h(t1 - t0) and dz/dt1 = V'(t1^-) = 3 h'(t1 - t0)
    # from both sides; dz/dt0 = -dz/dt1, dz/dw+ = h, dz/dw- = 0.
    T, t0, t1, tm, ts = 30.0, 2.0, 5.0, 20.0, 5.0
    s = t1 - t0
    h = ts / (tm - ts) * (math.exp(-s / tm) - math.exp(-s / ts))
    dh = ts / (tm - ts) * (math.exp(-s / ts) / ts - math.exp(-s / tm) / tm)

    def z_of(times, w=(3.0, -5.0)):
        net = Network(2, [], Layer(1, tm, ts, kind="LI"),
                      w_out=np.array(w, dtype=float)[:, None])
        return simulate(net, [[times[0]], [times[1]]], T).output

    tr = z_of((t0, t1))
    t_max, z, vd_minus, vd_plus = output_argmax(tr, T)
    assert t_max[0] == t1 and z[0] == pytest.approx(3.0 * h, rel=1e-13)
    assert output_max(tr, T)[0] == z[0]
    assert vd_minus[0] == pytest.approx(3.0 * dh, rel=1e-12)
    assert vd_plus[0] == pytest.approx(vd_minus[0] - 5.0 / tm, rel=1e-12)
    assert vd_minus[0] > 0.05 and vd_plus[0] < -0.05
    eps = 1e-6
    zmax = lambda times, w=(3.0, -5.0): output_max(z_of(times, w), T)[0]
    for side in (-1.0, 1.0):      # one-sided: the same slope on both sides
        d = (zmax((t0, t1 + side * eps)) - z[0]) / (side * eps)
        assert d == pytest.approx(vd_minus[0], rel=1e-5)
    d0 = (zmax((t0 + eps, t1)) - zmax((t0 - eps, t1))) / (2 * eps)
    assert d0 == pytest.approx(-vd_minus[0], rel=1e-7)
    dwp = (zmax((t0, t1), (3.0 + eps, -5.0)) - zmax((t0, t1), (3.0 - eps, -5.0))) / (2 * eps)
    dwm = (zmax((t0, t1), (3.0, -5.0 + eps)) - zmax((t0, t1), (3.0, -5.0 - eps))) / (2 * eps)
    assert dwp == pytest.approx(h, rel=1e-7) and abs(dwm) < 1e-9
    # away from a corner the maximum is stationary: V' = 0 on both sides
    t_max, _, vd_minus, vd_plus = output_argmax(z_of((t0, t1), (3.0, 0.0)), T)
    assert t0 < t_max[0] < T and abs(vd_minus[0]) < 1e-9 and abs(vd_plus[0]) < 1e-9
