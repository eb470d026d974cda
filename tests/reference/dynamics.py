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


def _polish(f, df, s, lo, hi):
    # One Newton step takes brentq's ~1e-13 bracket to rounding level.
    g = df(s)
    if g > 0.0:
        s1 = s - f(s) / g
        if lo <= s1 <= hi and abs(s1 - s) < 1e-9:
            return s1
    return s


def lif_crossing(V0, I0, theta, tm, ts, d, H):
    """First s in [0, H] with V(s) = theta reached from below, or None.

    V has at most one stationary point, so [0, s*] and [s*, H] are monotone pieces
    and each can be bracketed exactly.
    """
    if V0 - theta >= 0.0:
        return 0.0

    def f(s):
        return v_scalar(s, V0, I0, tm, ts, d) - theta

    def df(s):
        return (I0 * math.exp(-s / ts) - v_scalar(s, V0, I0, tm, ts, d)) / tm

    lo = 0.0
    se = v_extremum(V0, I0, ts, d)
    if se is not None and se < H:
        if f(se) >= 0.0:
            r = brentq(f, 0.0, se, xtol=_XTOL, rtol=_RTOL)
            return _polish(f, df, r, 0.0, se)
        lo = se
    if f(H) >= 0.0:
        r = brentq(f, lo, H, xtol=_XTOL, rtol=_RTOL)
        return _polish(f, df, r, lo, H)
    return None


def alif_crossing(V0, I0, B0, theta, tm, ts, d, tb, H, points_per_tau=40):
    """First s in [0, H] with V(s) = theta + B0 e^{-s/tb} reached from below, or None.

    f = V - theta - B is a sum of three exponentials (at most two stationary points):
    sample densely, refine every sampled local maximum (a crossing that returns
    between samples), then bracket the earliest sign change.
    """
    if V0 - theta - B0 >= 0.0:
        return 0.0
    # Cheap exact rejection: max V over [0, H] against the lowest threshold there.
    vmax = max(V0, v_scalar(H, V0, I0, tm, ts, d))
    se = v_extremum(V0, I0, ts, d)
    if se is not None and se < H:
        vmax = max(vmax, v_scalar(se, V0, I0, tm, ts, d))
    bmin = min(B0, B0 * math.exp(-H / tb))
    if vmax - theta - bmin < 0.0:
        return None

    def f(s):
        return v_scalar(s, V0, I0, tm, ts, d) - theta - B0 * math.exp(-s / tb)

    def df(s):
        return ((I0 * math.exp(-s / ts) - v_scalar(s, V0, I0, tm, ts, d)) / tm
                + B0 / tb * math.exp(-s / tb))

    n = int(min(20000, math.ceil(H * points_per_tau / min(tm, ts, tb)))) + 2
    s = np.linspace(0.0, H, n)
    fv = v_vec(s, V0, I0, tm, ts, d) - theta - B0 * np.exp(-s / tb)
    pos = np.flatnonzero(fv >= 0.0)
    end = pos[0] if pos.size else n - 1
    # Sampled local maxima below zero before the first non-negative sample.
    inner = np.arange(1, end)
    peaks = inner[(fv[inner] >= fv[inner - 1]) & (fv[inner] >= fv[inner + 1])] if end > 1 else inner
    if end >= 1 and fv[1] <= fv[0] and df(0.0) > 0.0:
        peaks = np.concatenate(([0], peaks))  # a maximum inside (0, s[1])
    for j in peaks:
        a, b = s[max(j - 1, 0)], s[j + 1]
        res = minimize_scalar(lambda x: -f(x), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-14})
        sm = res.x if -res.fun >= fv[j] else s[j]
        if f(sm) >= 0.0:
            r = brentq(f, a, sm, xtol=_XTOL, rtol=_RTOL)
            return _polish(f, df, r, a, sm)
    if pos.size:
        a, b = s[end - 1], s[end]
        r = brentq(f, a, b, xtol=_XTOL, rtol=_RTOL)
        return _polish(f, df, r, a, b)
    return None
