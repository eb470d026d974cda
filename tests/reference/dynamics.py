"""Closed-form single-neuron trajectories and threshold-crossing search.

Between events, with s the time since the reference point and
d = 1/tau_s - 1/tau_m = (tau_m - tau_s)/(tau_m tau_s):

    I(s) = I0 e^{-s/tau_s}
    V(s) = V0 e^{-s/tau_m} + I0 h(s),
    h(s) = tau_s/(tau_m - tau_s) (e^{-s/tau_m} - e^{-s/tau_s})
         = e^{-s/tau_m} (1 - e^{-s d}) / (tau_m d)        (-> (s/tau) e^{-s/tau} as d -> 0)

The second form (with expm1) is used when |s d| < 1 so that tau_m ~ tau_s is as
accurate as tau_m = tau_s.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

_XTOL = 1e-13
_RTOL = 4.0 * np.finfo(np.float64).eps


def delta(tau_m, tau_s):
    # Written as a difference of taus: exact for nearly equal taus (Sterbenz).
    return (tau_m - tau_s) / (tau_m * tau_s)


def h_scalar(s, tm, ts, d):
    em = math.exp(-s / tm)
    x = s * d
    if x == 0.0:
        return em * s / tm
    if -1.0 < x < 1.0:
        return em * -math.expm1(-x) / (tm * d)
    return ts / (tm - ts) * (em - math.exp(-s / ts))


def v_scalar(s, V0, I0, tm, ts, d):
    return V0 * math.exp(-s / tm) + I0 * h_scalar(s, tm, ts, d)


def h_vec(s, tm, ts, d):
    s, tm, ts, d = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s, tm, ts, d)))
    em = np.exp(-s / tm)
    x = s * d
    with np.errstate(all="ignore"):
        small = em * -np.expm1(-x) / (tm * d)
        large = ts / (tm - ts) * (em - np.exp(-s / ts))
        zero = em * s / tm
    return np.where(x == 0.0, zero, np.where(np.abs(x) < 1.0, small, large))


def v_vec(s, V0, I0, tm, ts, d):
    return V0 * np.exp(-s / tm) + I0 * h_vec(s, tm, ts, d)


def v_extremum(V0, I0, ts, d):
    """Time s* > 0 of the unique stationary point of V (dV/ds = 0 <=> V = I), or None."""
    if I0 == 0.0:
        return None
    if d == 0.0:
        s = ts * (I0 - V0) / I0
    else:
        x = ts * d * (V0 - I0) / I0
        if x <= -1.0:
            return None
        s = -math.log1p(x) / d
    return s if s > 0.0 else None


def v_extremum_vec(V0, I0, ts, d):
    """Vectorised v_extremum; NaN where there is no stationary point at s > 0."""
    V0, I0, ts, d = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (V0, I0, ts, d)))
    with np.errstate(all="ignore"):
        x = ts * d * (V0 - I0) / I0
        s_d = -np.log1p(x) / d
        s0 = ts * (I0 - V0) / I0
    s = np.where(d == 0.0, s0, np.where(x > -1.0, s_d, np.nan))
    s = np.where(I0 == 0.0, np.nan, s)
    return np.where(s > 0.0, s, np.nan)


def _solve(f, df, lo, hi):
    """Root of f in [lo, hi] (f(lo) < 0 <= f(hi)): brentq, then one guarded Newton step
    that takes brentq's ~1e-13 bracket to rounding level."""
    r = brentq(f, lo, hi, xtol=_XTOL, rtol=_RTOL)
    g = df(r)
    if g > 0.0:
        r1 = r - f(r) / g
        if lo <= r1 <= hi and abs(r1 - r) < 1e-9:
            return r1
    return r


def lif_crossing(V0, I0, theta, tm, ts, d, H, s_lo=0.0):
    """First s in [s_lo, H] with V(s) = theta reached from below, or None.

    Assumes V < theta on [0, s_lo). V has at most one stationary point, so the
    pieces before and after it are monotone and each can be bracketed exactly.
    """
    def f(s):
        return v_scalar(s, V0, I0, tm, ts, d) - theta

    def df(s):
        return (I0 * math.exp(-s / ts) - v_scalar(s, V0, I0, tm, ts, d)) / tm

    lo = s_lo
    flo = f(lo)
    if flo >= 0.0:
        return lo
    se = v_extremum(V0, I0, ts, d)
    if se is not None and lo < se < H:
        fe = f(se)
        if fe >= 0.0:
            return _solve(f, df, lo, se)
        lo = se
    fH = f(H)
    if fH >= 0.0:
        return _solve(f, df, lo, H)
    return None


def alif_crossing(V0, I0, B0, theta, tm, ts, d, tb, H, s_lo=0.0, points_per_tau=40):
    """First s in [s_lo, H] with V(s) = theta + B0 e^{-s/tb} reached from below, or None.

    f = V - theta - B is a sum of three exponentials (at most two stationary points):
    after an exact bound test, sample densely, refine every sampled local maximum (a
    crossing that returns between samples), then bracket the earliest sign change.
    """
    def f(s):
        return v_scalar(s, V0, I0, tm, ts, d) - theta - B0 * math.exp(-s / tb)

    def df(s):
        return ((I0 * math.exp(-s / ts) - v_scalar(s, V0, I0, tm, ts, d)) / tm
                + B0 / tb * math.exp(-s / tb))

    if f(s_lo) >= 0.0:
        return s_lo
    # B is monotone and V has at most one stationary point: exact upper bound of f.
    vmax = max(v_scalar(s_lo, V0, I0, tm, ts, d), v_scalar(H, V0, I0, tm, ts, d))
    se = v_extremum(V0, I0, ts, d)
    if se is not None and s_lo < se < H:
        vmax = max(vmax, v_scalar(se, V0, I0, tm, ts, d))
    bmin = min(B0 * math.exp(-s_lo / tb), B0 * math.exp(-H / tb))
    if vmax - theta - bmin < 0.0:
        return None

    n = int(min(20000, math.ceil((H - s_lo) * points_per_tau / min(tm, ts, tb)))) + 2
    s = np.linspace(s_lo, H, n)
    fv = v_vec(s, V0, I0, tm, ts, d) - theta - B0 * np.exp(-s / tb)
    pos = np.flatnonzero(fv >= 0.0)
    end = pos[0] if pos.size else n - 1
    inner = np.arange(1, end)
    peaks = inner[(fv[inner] >= fv[inner - 1]) & (fv[inner] >= fv[inner + 1])] if end > 1 else inner
    if end >= 1 and fv[1] <= fv[0] and df(s_lo) > 0.0:
        peaks = np.concatenate(([0], peaks))  # a maximum inside (s[0], s[1])
    for j in peaks:
        a, b = s[max(j - 1, 0)], s[j + 1]
        res = minimize_scalar(lambda x: -f(x), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-14})
        sm = res.x if -res.fun >= fv[j] else s[j]
        fm = f(sm)
        if fm >= 0.0:
            return _solve(f, df, a, sm)
    if pos.size:
        a, b = s[end - 1], s[end]
        return _solve(f, df, a, b)
    return None
