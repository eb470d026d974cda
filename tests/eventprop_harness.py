"""Run the generated EventProp models and the continuous reference side by side."""
import dataclasses

import numpy as np

from genn_models.network import EventPropNetwork, NetworkConfig
from tests.reference import Layer, Network, fd_gradient


def engine_name(ref_name):
    """Reference parameter name -> engine trained-variable name."""
    if ref_name == "w_in":
        return "w_in0"
    for a, b in (("tau_s_out", "tau_syn_out"), ("tau_s", "tau_syn")):
        if ref_name.startswith(a):
            return b + ref_name[len(a):]
    return ref_name


def to_neuron_major(samples, n_in):
    """list (sample) of list (channel) of spike times -> start, end, times."""
    start = np.zeros((len(samples), n_in), np.int32)
    end = np.zeros_like(start)
    flat = []
    for s, chans in enumerate(samples):
        for i in range(n_in):
            start[s, i] = len(flat)
            flat += sorted(chans[i])
            end[s, i] = len(flat)
    return start, end, np.array(flat, float)


class Case:
    """A tiny network with explicit weights, for both simulators."""

    def __init__(self, n_in, layers, n_out, loss, T, dt, weights, samples,
                 labels, loss_params=None, out_kind="LI", out_taus=(20.0, 5.0),
                 batch_size=None, train_tau_out=False, name="evp_case"):
        self.layers, self.loss, self.T, self.dt = layers, loss, T, dt
        self.weights, self.samples, self.labels = weights, samples, labels
        self.loss_params = dict(loss_params or {})
        self.out_kind, self.out_taus = out_kind, out_taus
        B = batch_size or len(samples)
        self.cfg = NetworkConfig(
            n_in=n_in, hidden=layers, n_out=n_out, loss=loss, trial_ms=T,
            dt=dt, batch_size=B, precision="double", model_name=name,
            out_kind=out_kind, out_tau_m=out_taus[0], out_tau_syn=out_taus[1],
            train_tau_out=train_tau_out, n_max_spike_in=64,
            overflow="error", **{k: v for k, v in self.loss_params.items()
                                 if k in ("tau0", "tau1", "alpha")})

    def engine_gradients(self, per_sample=False, backend=None):
        """Gradients, results and network of one trial on ``backend``
        (the config's by default; "genn" for real pygenn)."""
        cfg = self.cfg if backend is None else \
            dataclasses.replace(self.cfg, backend=backend)
        net = EventPropNetwork(cfg).build()
        start, end, times = to_neuron_major(self.samples, self.cfg.n_in)
        net.set_data(start, end, times, self.labels)
        net.load()
        for name, w in self.weights.items():
            net.set(engine_name(name), np.asarray(w).ravel())
        B = self.cfg.batch_size
        n = len(self.samples)
        order = np.full(2 * B, -1)
        order[:n] = np.arange(n)
        net.set_order(order)
        net.run_trial(0)
        res = net.run_trial(1)      # backward of trial 0 runs here
        grads = net.reduce_gradients()
        return grads, res, net

    def reference(self):
        hidden = []
        for L in self.layers:
            kind = L.kind
            hidden.append(Layer(L.n, L.tau_m, L.tau_syn, v_thresh=L.v_thresh,
                                v_reset=L.v_reset, kind=kind, tau_b=L.tau_b,
                                b_incr=L.b_incr, b_init=L.b_init))
        out = Layer(self.cfg.n_out, self.out_taus[0], self.out_taus[1],
                    v_thresh=self.cfg.out_v_thresh, kind="LI")
        w = self.weights
        net = Network(self.cfg.n_in, hidden, out, w_in=w["w_in0"],
                      w_ff=[w[f"w_ff{i}"] for i in range(len(self.layers) - 1)],
                      w_rec=[w.get(f"w_rec{i}") for i in range(len(self.layers))],
                      w_out=w["w_out"])
        for k, v in w.items():
            if k.startswith("tau"):
                net = net.with_param(k, v)
        # the engine emits an input spike at t_s in step ceil(t_s/dt) (within
        # a relative 1e-6 of a grid point counts as on it: input_neuron) and
        # delivers it in the next step: the effective jump time is that step's
        def jump_times(c):
            x = np.asarray(c, float) / self.dt
            return (np.ceil(x - 1e-6 * np.maximum(x, 1.0)) + 1.0) * self.dt
        inputs = [[jump_times(c) for c in s] for s in self.samples]
        return net, inputs

    def reference_gradients(self, params, eps=1e-5):
        net, inputs = self.reference()
        lp = dict(self.loss_params)
        return fd_gradient(net, inputs, self.labels, self.T, self.loss, lp,
                           params=params, eps=eps)


def compare(g_engine, g_ref):
    a, b = np.ravel(g_engine), np.ravel(g_ref)
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300)
    rel = np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-300)
    return cos, rel
