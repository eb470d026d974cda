"""Network description: layers, weights and named-parameter access."""

from __future__ import annotations

import numpy as np

HIDDEN_KINDS = ("LIF", "hetLIF", "ALIF", "LI", "hetLI")

_LAYER_ARRAYS = ("tau_m", "tau_s", "v_thresh", "v_reset", "tau_b", "b_incr", "b_init")


def _vec(x, n, name):
    a = np.array(np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)), dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


class Layer:
    """A population of neurons. Every per-neuron quantity is stored as a float64 array."""

    def __init__(self, n, tau_m, tau_s, v_thresh=1.0, v_reset=0.0, kind="LIF",
                 tau_b=None, b_incr=None, b_init=0.0):
        if kind not in HIDDEN_KINDS:
            raise ValueError(f"unknown neuron kind {kind!r}")
        self.n = int(n)
        self.kind = kind
        self.tau_m = _vec(tau_m, self.n, "tau_m")
        self.tau_s = _vec(tau_s, self.n, "tau_s")
        if np.any(self.tau_m <= 0) or np.any(self.tau_s <= 0):
            raise ValueError("time constants must be positive")
        self.v_thresh = _vec(v_thresh, self.n, "v_thresh")
        self.v_reset = _vec(v_reset, self.n, "v_reset")
        if kind == "ALIF":
            if tau_b is None or b_incr is None:
                raise ValueError("ALIF needs tau_b and b_incr")
            self.tau_b = _vec(tau_b, self.n, "tau_b")
            self.b_incr = _vec(b_incr, self.n, "b_incr")
            self.b_init = _vec(b_init, self.n, "b_init")
            if np.any(self.tau_b <= 0):
                raise ValueError("tau_b must be positive")
        else:
            self.tau_b = None
            self.b_incr = None
            self.b_init = None

    @property
    def is_adaptive(self):
        return self.kind == "ALIF"

    def copy(self):
        new = Layer.__new__(Layer)
        new.n, new.kind = self.n, self.kind
        for a in _LAYER_ARRAYS:
            v = getattr(self, a)
            setattr(new, a, None if v is None else v.copy())
        return new

    def replace(self, **changes):
        """Copy with some per-neuron arrays replaced (validated like the constructor)."""
        kw = {a: getattr(self, a) for a in _LAYER_ARRAYS}
        kw.update(changes)
        kind = kw.pop("kind", self.kind)
        return Layer(self.n, kind=kind, **kw)

    def __repr__(self):
        return f"Layer(n={self.n}, kind={self.kind!r})"


class Network:
    """Inputs -> hidden layers (feed-forward + optional recurrent) -> output layer.

    Weight matrices are (n_pre, n_post). With no hidden layers, ``w_out`` maps the
    inputs to the outputs directly and ``w_in`` must be None.
    """

    def __init__(self, n_in, hidden, output, w_in=None, w_ff=None, w_rec=None, w_out=None):
        self.n_in = int(n_in)
        self.hidden = list(hidden)
        self.output = output
        nh = len(self.hidden)
        self.w_in = None if w_in is None else np.array(w_in, dtype=np.float64)
        self.w_ff = [np.array(w, dtype=np.float64) for w in (w_ff or [])]
        if w_rec is None:
            w_rec = [None] * nh
        self.w_rec = [None if w is None else np.array(w, dtype=np.float64) for w in w_rec]
        self.w_out = np.array(w_out, dtype=np.float64)
        self._check()

    def _check(self):
        nh = len(self.hidden)
        sizes = [self.n_in] + [l.n for l in self.hidden]
        if nh:
            if self.w_in is None or self.w_in.shape != (sizes[0], sizes[1]):
                raise ValueError(f"w_in must have shape {(sizes[0], sizes[1])}")
        elif self.w_in is not None:
            raise ValueError("w_in must be None without hidden layers")
        if len(self.w_ff) != max(nh - 1, 0):
            raise ValueError("w_ff needs one matrix per pair of consecutive hidden layers")
        for k, w in enumerate(self.w_ff):
            if w.shape != (sizes[k + 1], sizes[k + 2]):
                raise ValueError(f"w_ff{k} must have shape {(sizes[k + 1], sizes[k + 2])}")
        if len(self.w_rec) != nh:
            raise ValueError("w_rec needs one entry (array or None) per hidden layer")
        for k, w in enumerate(self.w_rec):
            if w is not None and w.shape != (sizes[k + 1], sizes[k + 1]):
                raise ValueError(f"w_rec{k} must have shape {(sizes[k + 1], sizes[k + 1])}")
        if self.w_out.shape != (sizes[-1], self.output.n):
            raise ValueError(f"w_out must have shape {(sizes[-1], self.output.n)}")
        for w in [self.w_in, self.w_out, *self.w_ff, *self.w_rec]:
            if w is not None and not np.all(np.isfinite(w)):
                raise ValueError("weights must be finite")

    def copy(self):
        return Network(self.n_in, [l.copy() for l in self.hidden], self.output.copy(),
                       w_in=self.w_in, w_ff=self.w_ff, w_rec=self.w_rec, w_out=self.w_out)

    def replace(self, **changes):
        """Copy with constructor arguments replaced (arrays are copied)."""
        kw = dict(n_in=self.n_in, hidden=self.hidden, output=self.output, w_in=self.w_in,
                  w_ff=self.w_ff, w_rec=self.w_rec, w_out=self.w_out)
        kw.update(changes)
        return Network(**kw)

    # Named parameters: w_in, w_ffK, w_recK, w_out, tau_mK, tau_sK, tau_m_out, tau_s_out.
    def get_param(self, name):
        if name in ("w_in", "w_out"):
            v = getattr(self, name)
        elif name.startswith("w_ff"):
            v = self.w_ff[int(name[4:])]
        elif name.startswith("w_rec"):
            v = self.w_rec[int(name[5:])]
        elif name in ("tau_m_out", "tau_s_out"):
            v = getattr(self.output, name[:5])
        elif name.startswith(("tau_m", "tau_s")):
            v = getattr(self.hidden[int(name[5:])], name[:5])
        else:
            raise KeyError(f"unknown parameter {name!r}")
        if v is None:
            raise KeyError(f"parameter {name!r} is not present in this network")
        return v.copy()

    def with_param(self, name, value):
        """A new network equal to this one except for parameter ``name``."""
        value = np.array(value, dtype=np.float64)
        self.get_param(name)  # validates the name
        if name in ("w_in", "w_out"):
            return self.replace(**{name: value})
        if name.startswith("w_ff"):
            w = list(self.w_ff)
            w[int(name[4:])] = value
            return self.replace(w_ff=w)
        if name.startswith("w_rec"):
            w = list(self.w_rec)
            w[int(name[5:])] = value
            return self.replace(w_rec=w)
        if name in ("tau_m_out", "tau_s_out"):
            return self.replace(output=self.output.replace(**{name[:5]: value}))
        k = int(name[5:])
        hidden = list(self.hidden)
        hidden[k] = hidden[k].replace(**{name[:5]: value})
        return self.replace(hidden=hidden)

    def param_names(self):
        names = []
        if self.w_in is not None:
            names.append("w_in")
        names += [f"w_ff{k}" for k in range(len(self.w_ff))]
        names += [f"w_rec{k}" for k, w in enumerate(self.w_rec) if w is not None]
        names.append("w_out")
        for k in range(len(self.hidden)):
            names += [f"tau_m{k}", f"tau_s{k}"]
        names += ["tau_m_out", "tau_s_out"]
        return names
