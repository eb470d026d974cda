"""Per-trial losses on a simulated trajectory, batch mean and finite differences."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, logsumexp

from .dynamics import v_extremum_vec, v_vec
from .simulator import simulate

LOSS_TYPES = ("sum", "sum_weigh_linear", "sum_weigh_exp", "sum_weigh_sigmoid",
              "sum_weigh_input", "max", "avg_xentropy", "first_spike", "first_spike_exp")
FIRST_SPIKE_LOSSES = ("first_spike", "first_spike_exp")
DEFAULT_LOSS_PARAMS = {"tau0": 0.5, "tau1": 6.4, "alpha": 3e-3}

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def _pieces(trace, T):
    """Start, end, snapshot index of every inter-event piece of the output trace."""
    a = trace.seg_t
    b = np.append(a[1:], T)
    return a, b, np.arange(a.size)


def _split_at(trace, T, breaks):
    """Integration intervals: pieces additionally split at the given times."""
    pts = np.concatenate([trace.seg_t, np.asarray(breaks, dtype=np.float64).ravel(), [T]])
    pts = np.unique(pts[(pts >= 0.0) & (pts <= T)])
    a, b = pts[:-1], pts[1:]
    return a, b, trace.piece_index(a, side="right")


def _piece_values(trace, t, piece):
    """V at times t (P, n) inside pieces piece (P,) -> (P, n, K)."""
    s = (t - trace.seg_t[piece][:, None])[..., None]
    return v_vec(s, trace.seg_V[piece][:, None, :], trace.seg_I[piece][:, None, :],
                 trace.tau_m, trace.tau_s, trace.d)


def _gl(func, a, b, piece):
    half = 0.5 * (b - a)
    t = (0.5 * (a + b))[:, None] + half[:, None] * _GL_X
    y = func(t, piece)
    w = (half[:, None] * _GL_W).reshape(half.shape + (_GL_X.size,) + (1,) * (y.ndim - 2))
    return (y * w).sum(axis=1)


def _adaptive_gl(func, a, b, piece, rtol=1e-13, atol=1e-15, max_depth=50):
    """Sum over intervals of the integral of func(t, piece); vectorised bisection.

    func maps times (P, n) and piece indices (P,) to values (P, n, ...).
    """
    keep = b > a
    a, b, piece = a[keep], b[keep], piece[keep]
    if a.size == 0:
        probe = func(np.zeros((1, 1)), np.zeros(1, dtype=int))
        return np.zeros(probe.shape[2:])
    coarse = _gl(func, a, b, piece)
    total = np.zeros(coarse.shape[1:])
    for depth in range(max_depth + 1):
        m = 0.5 * (a + b)
        left, right = _gl(func, a, m, piece), _gl(func, m, b, piece)
        fine = left + right
        err = np.abs(fine - coarse).reshape(fine.shape[0], -1).max(axis=1)
        scale = np.abs(fine).reshape(fine.shape[0], -1).max(axis=1)
        ok = err <= atol + rtol * scale
        if depth == max_depth:
            ok[:] = True
        total = total + fine[ok].sum(axis=0)
        bad = ~ok
        if not bad.any():
            break
        a, b = np.concatenate([a[bad], m[bad]]), np.concatenate([m[bad], b[bad]])
        piece = np.concatenate([piece[bad], piece[bad]])
        coarse = np.concatenate([left[bad], right[bad]])
    return total


def _vectorised(g):
    def gv(t):
        t = np.asarray(t, dtype=np.float64)
        try:
            y = np.asarray(g(t), dtype=np.float64)
            if y.shape == t.shape:
                return y
            if y.ndim == 0:
                return np.full(t.shape, float(y))
        except Exception:
            pass
        return np.vectorize(lambda x: float(g(float(x))), otypes=[np.float64])(t)
    return gv


def output_integrals(trace, T, weight="none", g=None, g_breaks=()):
    """(1/T) * integral_0^T g(t) V_k(t) dt for every output k."""
    tm, ts = trace.tau_m, trace.tau_s
    if weight in ("none", "linear", "exp"):
        a, b, p = _pieces(trace, T)
        L = (b - a)[:, None]
        V0, I0 = trace.seg_V[p], trace.seg_I[p]
        VL = v_vec(L, V0, I0, tm, ts, trace.d)
        e_s = np.exp(-L / ts)
        one_m_es = -np.expm1(-L / ts)
        # tau_m V' = I - V gives the integral of V without integrating h.
        int_V = I0 * ts * one_m_es - tm * (VL - V0)
        if weight == "none":
            return int_V.sum(axis=0) / T
        if weight == "linear":
            aa, bb = a[:, None], b[:, None]
            int_tI = I0 * ts * ((aa + ts) * one_m_es - L * e_s)
            int_tV = int_tI - tm * (bb * VL - aa * V0) + tm * int_V
            return (int_V - int_tV / T).sum(axis=0) / T
        r = 1.0 / T + 1.0 / ts
        ga, gb = np.exp(-a / T)[:, None], np.exp(-b / T)[:, None]
        int_gI = I0 * ga * -np.expm1(-L * r) / r
        int_gV = (int_gI / tm - (gb * VL - ga * V0)) / (1.0 / T + 1.0 / tm)
        return int_gV.sum(axis=0) / T
    if weight == "sigmoid":
        gfun, breaks = (lambda t: expit(-(t - 0.5 * T) / (0.1 * T))), ()
    elif weight == "input":
        if g is None:
            raise ValueError("sum_weigh_input needs loss_params['g']")
        gfun, breaks = _vectorised(g), g_breaks
    else:
        raise ValueError(f"unknown weighting {weight!r}")
    a, b, p = _split_at(trace, T, breaks)

    def integrand(t, piece):
        return gfun(t)[..., None] * _piece_values(trace, t, piece)

    return _adaptive_gl(integrand, a, b, p) / T


def _max_candidates(trace, T):
    """Values (C, K) and times (C, K) of every candidate for the maximum of V_k:
    the ends of each piece and its stationary point, where inside it."""
    a, b, p = _pieces(trace, T)
    V0, I0 = trace.seg_V[p], trace.seg_I[p]
    L = (b - a)[:, None]
    VL = v_vec(L, V0, I0, trace.tau_m, trace.tau_s, trace.d)
    se = v_extremum_vec(V0, I0, trace.tau_s, trace.d)
    inside = np.isfinite(se) & (se < L)
    Ve = v_vec(np.where(inside, se, 0.0), V0, I0, trace.tau_m, trace.tau_s, trace.d)
    cand = np.concatenate([V0, VL, np.where(inside, Ve, -np.inf)])
    times = np.concatenate([np.broadcast_to(a[:, None], V0.shape),
                            np.broadcast_to(b[:, None], VL.shape),
                            a[:, None] + np.where(inside, se, 0.0)])
    return cand, times


def output_max(trace, T):
    """max over [0, T] of V_k(t) for every output k (exact per piece)."""
    return _max_candidates(trace, T)[0].max(axis=0)


def output_argmax(trace, T):
    """Where each output's maximum over [0, T] lies, and how V moves there.

    Returns (t_max, z, vdot_minus, vdot_plus), arrays over outputs: the time and
    value of the maximum and dV/dt just before and just after t_max. They differ
    only where an input arrives at t_max (I jumps, V' jumps by w/tau_m): a corner
    of V. With vdot_minus > 0 > vdot_plus the maximum sits on that arrival, and
    its derivative with respect to the arrival time is vdot_minus (moving the
    arrival later lets V rise for longer; the maximum follows it). Elsewhere the
    maximum is a stationary point (vdot = 0) or an end of [0, T].
    """
    cand, times = _max_candidates(trace, T)
    k = np.arange(cand.shape[1])
    best = cand.argmax(axis=0)
    t_max, z = times[best, k], cand[best, k]

    def vdot(side):
        V, I, _ = trace.state(t_max, side=side)
        return (I[k, k] - V[k, k]) / trace.tau_m

    return t_max, z, vdot("left"), vdot("right")


def avg_xentropy(trace, T, label):
    a, b, p = _pieces(trace, T)

    def integrand(t, piece):
        V = _piece_values(trace, t, piece)
        return logsumexp(V, axis=-1) - V[..., label]

    return float(_adaptive_gl(integrand, a, b, p)) / T


def _xent(z, label):
    return float(logsumexp(z) - z[label])


def loss_from_result(res, label, T, loss_type, loss_params=None):
    """Loss of one simulated trial (res from simulate with the matching output mode)."""
    lp = dict(DEFAULT_LOSS_PARAMS)
    lp.update(loss_params or {})
    tr = res.output
    if loss_type == "sum":
        return _xent(output_integrals(tr, T), label)
    if loss_type.startswith("sum_weigh_"):
        w = loss_type[len("sum_weigh_"):]
        return _xent(output_integrals(tr, T, w, lp.get("g"), lp.get("g_breaks", ())), label)
    if loss_type == "max":
        return _xent(output_max(tr, T), label)
    if loss_type == "avg_xentropy":
        return avg_xentropy(tr, T, label)
    if loss_type in FIRST_SPIKE_LOSSES:
        t = tr.first_spike_times
        ty = t[label]
        if not np.isfinite(ty):
            return math.nan
        fin = t[np.isfinite(t)]
        loss = ty / lp["tau0"] + float(logsumexp(-fin / lp["tau0"]))
        if loss_type == "first_spike":
            return loss + lp["alpha"] / (1.01 * T - ty) ** 2
        return loss + lp["alpha"] * math.exp(ty / lp["tau1"])
    raise ValueError(f"unknown loss type {loss_type!r}")


def trial_loss(net, input_times, label, T, loss_type, loss_params=None):
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss type {loss_type!r}")
    res = simulate(net, input_times, T, output_spiking=loss_type in FIRST_SPIKE_LOSSES)
    return loss_from_result(res, int(label), float(T), loss_type, loss_params)


def batch_loss(net, list_of_input_times, labels, T, loss_type, loss_params=None):
    if len(list_of_input_times) != len(labels):
        raise ValueError("one label per trial")
    losses = [trial_loss(net, x, y, T, loss_type, loss_params)
              for x, y in zip(list_of_input_times, labels)]
    return float(np.mean(losses))


def fd_gradient(net, list_of_input_times, labels, T, loss_type, loss_params=None,
                params=("w_in", "w_out"), eps=1e-5):
    """Central finite differences of batch_loss, one parameter entry at a time."""
    if isinstance(params, str):
        params = (params,)
    grads = {}
    for name in params:
        base = net.get_param(name)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            hi, lo = base.copy(), base.copy()
            hi[idx] += eps
            lo[idx] -= eps
            lp = batch_loss(net.with_param(name, hi), list_of_input_times, labels, T,
                            loss_type, loss_params)
            lm = batch_loss(net.with_param(name, lo), list_of_input_times, labels, T,
                            loss_type, loss_params)
            # The representable step, not eps, is what was actually taken.
            g[idx] = (lp - lm) / (hi[idx] - lo[idx])
        grads[name] = g
    return grads
