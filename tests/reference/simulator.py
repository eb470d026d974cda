"""Event-driven simulation of a Network over one trial [0, T)."""

from __future__ import annotations

import math

import numpy as np

from .dynamics import alif_crossing, delta, h_scalar, lif_crossing, v_vec

_INF = math.inf
_MAX_EVENTS = 1_000_000


class LayerTrace:
    """Piecewise-analytic trajectory of one layer.

    Snapshot k holds the state right after the events at ``seg_t[k]``; it evolves
    analytically until ``seg_t[k + 1]`` (or T). ``seg_t[0] == 0``.
    """

    def __init__(self, layer, spiking, seg_t, seg_V, seg_I, seg_B, spikes, T):
        self.layer = layer
        self.n = layer.n
        self.spiking = spiking
        self.T = T
        self.seg_t = np.asarray(seg_t, dtype=np.float64)
        self.seg_V = np.asarray(seg_V, dtype=np.float64).reshape(-1, layer.n)
        self.seg_I = np.asarray(seg_I, dtype=np.float64).reshape(-1, layer.n)
        self.seg_B = np.asarray(seg_B, dtype=np.float64).reshape(-1, layer.n)
        self.spike_times = [np.asarray(s, dtype=np.float64) for s in spikes]
        self.tau_m = layer.tau_m
        self.tau_s = layer.tau_s
        self.d = delta(layer.tau_m, layer.tau_s)

    @property
    def first_spike_times(self):
        return np.array([s[0] if s.size else np.inf for s in self.spike_times])

    def piece_index(self, t, side="right"):
        """Snapshot in force at t: side='right' gives the state after events at t,
        side='left' the state just before them."""
        idx = np.searchsorted(self.seg_t, t, side=side) - 1
        return np.clip(idx, 0, self.seg_t.size - 1)

    def state(self, t, side="right"):
        """(V, I, B) at times t, each of shape t.shape + (n,)."""
        t = np.asarray(t, dtype=np.float64)
        idx = self.piece_index(t, side)
        s = (t - self.seg_t[idx])[..., None]
        V = v_vec(s, self.seg_V[idx], self.seg_I[idx], self.tau_m, self.tau_s, self.d)
        I = self.seg_I[idx] * np.exp(-s / self.tau_s)
        if self.layer.is_adaptive:
            B = self.seg_B[idx] * np.exp(-s / self.layer.tau_b)
        else:
            B = np.zeros_like(V)
        return V, I, B

    def V(self, t, side="right"):
        return self.state(t, side)[0]


class SimResult:
    """Outcome of :func:`simulate`.

    hidden: list of LayerTrace (one per hidden layer); output: LayerTrace.
    hidden_spikes[l][i]: spike times of neuron i of hidden layer l.
    output_first_spikes: first spike time per output (inf if silent / not spiking).
    """

    def __init__(self, hidden, output, T):
        self.hidden = hidden
        self.output = output
        self.T = T

    @property
    def hidden_spikes(self):
        return [h.spike_times for h in self.hidden]

    @property
    def output_spikes(self):
        return self.output.spike_times

    @property
    def output_first_spikes(self):
        return self.output.first_spike_times

    def n_spikes(self):
        return sum(s.size for h in self.hidden for s in h.spike_times)


class _SimLayer:
    """Mutable per-trial state of a layer with one common reference time."""

    def __init__(self, layer, spiking, T):
        n = self.n = layer.n
        self.layer = layer
        self.spiking = spiking
        self.T = T
        self.tm = layer.tau_m.tolist()
        self.ts = layer.tau_s.tolist()
        self.d = delta(layer.tau_m, layer.tau_s).tolist()
        self.theta = layer.v_thresh.tolist()
        self.reset = layer.v_reset.tolist()
        self.adaptive = layer.is_adaptive
        if self.adaptive:
            self.tb = layer.tau_b.tolist()
            self.bincr = layer.b_incr.tolist()
            self.B = layer.b_init.tolist()
            if spiking and any(r >= th + b for r, th, b in zip(self.reset, self.theta, self.B)):
                raise ValueError("v_reset must be below the threshold")
        else:
            self.B = [0.0] * n
            if spiking and any(r >= th for r, th in zip(self.reset, self.theta)):
                raise ValueError("v_reset must be below v_thresh")
        self.V = [0.0] * n
        self.I = [0.0] * n
        self.t = 0.0
        self.next = [0.0] * n
        self.exact = [False] * n
        self.spikes = [[] for _ in range(n)]
        self.seg_t = [0.0]
        self.seg_V = [self.V[:]]
        self.seg_I = [self.I[:]]
        self.seg_B = [self.B[:]]

    def advance(self, t):
        s = t - self.t
        if s <= 0.0:
            return
        V, I, B = self.V, self.I, self.B
        exp = math.exp
        for i in range(self.n):
            tm = self.tm[i]
            V[i] = V[i] * exp(-s / tm) + I[i] * h_scalar(s, tm, self.ts[i], self.d[i])
            I[i] *= exp(-s / self.ts[i])
        if self.adaptive:
            for i in range(self.n):
                B[i] *= exp(-s / self.tb[i])
        self.t = t

    def snapshot(self):
        self.seg_t.append(self.t)
        self.seg_V.append(self.V[:])
        self.seg_I.append(self.I[:])
        self.seg_B.append(self.B[:])

    # Crossing search is lazy: next[i] is either an exact spike time (exact[i]) or a
    # time up to which neuron i is known not to cross; it is only searched up to the
    # next candidate event, since any input to it invalidates the search anyway.
    def invalidate(self, i):
        self.exact[i] = False
        self.next[i] = self.t

    def search(self, i, horizon):
        """Look for a crossing of neuron i in [next[i], horizon]."""
        H = min(horizon, self.T) - self.t
        s_lo = max(self.next[i] - self.t, 0.0)
        if H <= s_lo:
            return
        if self.adaptive:
            s = alif_crossing(self.V[i], self.I[i], self.B[i], self.theta[i], self.tm[i],
                              self.ts[i], self.d[i], self.tb[i], H, s_lo)
        else:
            s = lif_crossing(self.V[i], self.I[i], self.theta[i], self.tm[i], self.ts[i],
                             self.d[i], H, s_lo)
        if s is None:
            self.next[i] = self.t + H
        else:
            self.next[i] = self.t + s
            self.exact[i] = True

    def receive(self, row, t):
        """Add weight row (list over this layer's neurons) at time t."""
        self.advance(t)
        I = self.I
        hit = [j for j, w in enumerate(row) if w != 0.0]
        for j in hit:
            I[j] += row[j]
        self.snapshot()
        if self.spiking:
            for j in hit:
                self.invalidate(j)

    def trace(self):
        return LayerTrace(self.layer, self.spiking, self.seg_t, self.seg_V, self.seg_I,
                          self.seg_B, self.spikes, self.T)


def _merge_inputs(input_times, n_in, T):
    if len(input_times) != n_in:
        raise ValueError(f"expected {n_in} input channels, got {len(input_times)}")
    times, chans = [], []
    for c, ts in enumerate(input_times):
        ts = np.asarray(ts, dtype=np.float64).ravel()
        ts = ts[(ts >= 0.0) & (ts < T)]
        times.append(ts)
        chans.append(np.full(ts.size, c))
    times = np.concatenate(times) if times else np.zeros(0)
    chans = np.concatenate(chans) if chans else np.zeros(0, dtype=int)
    order = np.argsort(times, kind="stable")
    return times[order].tolist(), chans[order].tolist()


def simulate(net, input_times, T, output_spiking=False):
    """Simulate one trial of length T; returns a SimResult.

    With output_spiking, output neurons (whatever their kind; ALIF outputs keep their
    adaptation) spike at v_thresh and reset to v_reset; otherwise they never spike.
    """
    T = float(T)
    hidden = [_SimLayer(l, l.kind not in ("LI", "hetLI"), T) for l in net.hidden]
    out = _SimLayer(net.output, bool(output_spiking), T)
    layers = hidden + [out]
    nh = len(hidden)
    # Rows of the matrices as Python lists: scalar access in the event loop.
    w_in = (net.w_in if nh else net.w_out).tolist()
    w_next = [w.tolist() for w in net.w_ff] + ([net.w_out.tolist()] if nh else [])
    w_rec = [None if w is None else w.tolist() for w in net.w_rec]
    in_t, in_c = _merge_inputs(input_times, net.n_in, T)
    spiking = [L for L in layers if L.spiking]
    k, n_ev = 0, 0
    while True:
        n_ev += 1
        if n_ev > _MAX_EVENTS:
            raise RuntimeError("too many events (runaway spiking?)")
        t_in = in_t[k] if k < len(in_t) else _INF
        cand, src, idx = min(t_in, T), None, -1
        for L in spiking:
            nxt, ex = L.next, L.exact
            for i in range(L.n):
                if ex[i] and nxt[i] < cand:
                    cand, src, idx = nxt[i], L, i
        # cand only decreases, so one pass settles every unresolved neuron.
        for L in spiking:
            nxt, ex = L.next, L.exact
            for i in range(L.n):
                if not ex[i] and nxt[i] < cand:
                    L.search(i, cand)
                    if ex[i] and nxt[i] <= cand:
                        cand, src, idx = nxt[i], L, i
        if src is not None and cand < T:
            t_sp, L = cand, src
            L.advance(t_sp)
            L.V[idx] = L.reset[idx]
            if L.adaptive:
                L.B[idx] += L.bincr[idx]
            L.spikes[idx].append(t_sp)
            if L is out:
                L.snapshot()
                L.invalidate(idx)
                continue
            l = hidden.index(L)
            rec = w_rec[l]
            if rec is not None:
                for j, w in enumerate(rec[idx]):
                    if w != 0.0:
                        L.I[j] += w
                        L.invalidate(j)
            L.snapshot()
            L.invalidate(idx)
            layers[l + 1].receive(w_next[l][idx], t_sp)
        elif t_in < T:
            layers[0].receive(w_in[in_c[k]], t_in)
            k += 1
        else:
            break
    return SimResult([L.trace() for L in hidden], out.trace(), T)
