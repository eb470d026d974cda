"""Assemble an EventProp network on a GeNNModel and drive it trial by trial.

Per trial: end-of-trial softmax of the outputs (EVP_Softmax1..3), the trial
reset (EVP_Reset, which also picks each batch slot's sample on the device),
regularisation counts (EVP_Reg*), then the trial's time steps in one compiled
call. While trial k runs forward, trial k-1 runs backward, so the gradient of
trial k-1 is complete when trial k's steps end.
"""
import warnings
from dataclasses import dataclass

import numpy as np

from . import custom_updates as cu
from .input_data import event_steps, events_from_neuron_major, neuron_major
from .neurons import LOSS_TYPES, SPIKING_LOSSES, event_input, hidden_neuron, \
    input_neuron, output_neuron
from .synapses import evp_synapse


# backend names for real GeNN -> pygenn's backend (None: its best one)
GENN_BACKENDS = {"genn": None, "genn_cpu": "single_threaded_cpu",
                 "genn_cuda": "cuda"}


class DataCapacityError(ValueError):
    """Data larger than the room reserved for it when the model was loaded."""


class SpikeBufferOverflow(RuntimeError):
    """More spikes held at once than N_MAX_SPIKE (this trial's and the
    previous trial's not yet replayed)."""


@dataclass
class HiddenLayer:
    n: int
    kind: str = "LIF"
    tau_m: float = 20.0
    tau_syn: float = 5.0
    v_thresh: float = 1.0
    v_reset: float = 0.0
    tau_b: float = 100.0
    b_incr: float = 0.1
    b_init: float = 0.0
    w_mean: float = 0.078          # incoming feed-forward weights
    w_std: float = 0.045
    recurrent: bool = False
    w_rec_mean: float = 0.0
    w_rec_std: float = 0.02
    train_tau: bool = False
    tau_m_init_std: float = 0.0    # heterogeneous initialisation (hetLIF)
    tau_syn_init_std: float = 0.0
    min_tau_m: float = 3.0
    min_tau_syn: float = 1.0
    reg: str = None                # None, "simple", "avg", "Thomas1"
    lbd_upper: float = 5e-6
    lbd_lower: float = 1e-3
    nu_upper: float = 2.0
    rho_upper: float = 5000.0
    glb_upper: float = 1e-5
    pdrop: float = 0.0
    n_max_spike: int = 50          # None: n_steps, which never overflows


@dataclass
class NetworkConfig:
    n_in: int
    hidden: list
    n_out: int
    loss: str = "sum_weigh_exp"
    out_kind: str = "LI"
    out_tau_m: float = 20.0
    out_tau_syn: float = 5.0
    out_v_thresh: float = 1.0
    out_v_reset: float = 0.0
    w_out_mean: float = 0.2
    w_out_std: float = 0.37
    tau0: float = 0.5
    tau1: float = 6.4
    alpha: float = 3e-3
    trial_ms: float = 20.0
    dt: float = 1.0
    batch_size: int = 32
    n_max_spike_in: int = 50       # None: n_steps
    pdrop_in: float = 0.0
    train_w: bool = True
    train_w_out: bool = True
    train_tau_out: bool = False
    out_min_tau_m: float = 3.0     # lower bounds of trained output taus
    out_min_tau_syn: float = 1.0
    out_tau_m_init_std: float = 0.0    # heterogeneous initialisation (hetLI)
    out_tau_syn_init_std: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    weight_decay: float = 0.0      # decoupled (AdamW), on trained weights only
    precision: str = "float"
    seed: int = 0
    model_name: str = "eventprop"
    num_threads: int = None
    backend: str = "cpu"           # engine: "cpu", "single_threaded_cpu", "cuda"
                                   # (GPU), "cuda_emulated"; real pygenn: "genn"
                                   # (its best), "genn_cpu", "genn_cuda"
    overflow: str = "warn"         # "warn" or "error"
    record_spikes: tuple = ()      # population names: "input", "hidden0", ..., "output"
    spk_rec_steps: int = None      # spike recording buffer (steps); None: one trial
    event_input: bool = None       # event-driven input source (the engine's);
                                   # None: where the backend has one (not real GeNN)


class EventPropNetwork:
    """An EventProp network: build, load data, run trials, learn."""

    def __init__(self, cfg, api=None):
        import genn_engine
        self.cfg = cfg
        self.api = api or genn_engine.get_backend(
            "genn" if cfg.backend in GENN_BACKENDS else "engine")
        if cfg.loss not in LOSS_TYPES:
            raise ValueError(f"unknown loss type {cfg.loss!r}; known: "
                             f"{LOSS_TYPES}")
        if cfg.overflow not in ("warn", "error"):
            raise ValueError("overflow must be 'warn' or 'error'")
        self.n_steps = int(round(cfg.trial_ms / cfg.dt))
        has_events = cfg.backend not in GENN_BACKENDS and \
            hasattr(self.api, "create_event_source_model")
        if cfg.event_input and not has_events:
            raise ValueError(f"backend {cfg.backend!r} has no event-driven "
                             "input source: set event_input=False")
        # real GeNN has no such population: it runs input_neuron
        self.event_input = has_events if cfg.event_input is None \
            else bool(cfg.event_input)
        self.trained = {}      # name -> (variable owner, var name, gradient owner, grad var)
        self._build_model()
        self._adam_t = 0
        self._ended = True     # no trial is waiting for its end-of-trial stage

    # -- construction ----------------------------------------------------
    def _build_model(self):
        api, c = self.api, self.cfg
        if c.backend in GENN_BACKENDS:
            m = self._genn_model()
        else:
            m = api.GeNNModel(c.precision, c.model_name, backend=c.backend,
                              **({"num_threads": c.num_threads}
                                 if c.num_threads else {}))
        m.dt = c.dt
        m.batch_size = c.batch_size
        m.seed = c.seed
        self.model = m
        B = c.batch_size
        common = {"trial_t": c.trial_ms}
        zero_record = {"rp": 0, "wdown": 0, "n_fwd": 0, "n_back": 0,
                       "back_spike": 0, "overflow": 0, "rev_t": 0.0,
                       "t_next": 0.0}
        self.resets = []       # (group name, pop, part)
        # dropout on (training); while off, the trained weights that
        # evaluation holds scaled (set_dropout)
        self._dropout_on, self._trained_w = True, {}
        # python values of each population's params and its size: pygenn
        # hands params back as NumericValue and names the size num_neurons
        self.pop_params, self.pop_size = {}, {}
        # inputs
        if self.event_input:
            in_model, in_part = event_input(api, self.n_steps)
            # a spike of step n gets its backward event in step N - 2 - n
            # (the one of step N - 1, at T, carries no gradient); the record
            # is sized when the data arrive (set_data, before load)
            self.inp = self._add_pop(
                "input", c.n_in, in_model,
                {"p_drop": c.pdrop_in, "replay_end": self.n_steps - 2,
                 "record_capacity": 0},
                {v: 0 for v in ("startEvent", "endEvent", "step", "nRecord",
                                "nReplay", "parity", "overflow",
                                "back_spike")})
            self.inp.set_param_dynamic("record_capacity")
        else:
            in_model, in_part = input_neuron(api, pdrop=c.pdrop_in > 0)
            p = dict(common, N_max_spike=c.n_max_spike_in or self.n_steps)
            if c.pdrop_in > 0:
                p["p_drop"] = c.pdrop_in
            self.inp = self._add_pop(
                "input", c.n_in, in_model, p,
                dict(zero_record, startSpike=0, endSpike=0, dropped=0))
        self.resets.append((self.inp, in_model, in_part))
        if c.pdrop_in > 0:
            self.inp.set_param_dynamic("p_drop")     # off in evaluation
        # hidden layers
        self.hidden = []
        prev, prev_layer = self.inp, None
        for li, L in enumerate(c.hidden):
            h_model, h_part = hidden_neuron(api, L.kind, L.train_tau, L.reg,
                                            pdrop=L.pdrop > 0)
            het = L.kind == "hetLIF" or L.train_tau
            params = dict(common, N_batch=B, V_thresh=L.v_thresh,
                          V_reset=L.v_reset,
                          N_max_spike=L.n_max_spike or self.n_steps)
            vars_ = dict(zero_record, V=L.v_reset, I=0.0, lambda_V=0.0,
                         lambda_I=0.0)
            if het:
                vars_["tau_m"] = self._tau_init(L.tau_m, L.tau_m_init_std,
                                                L.min_tau_m)
                vars_["tau_syn"] = self._tau_init(L.tau_syn, L.tau_syn_init_std,
                                                  L.min_tau_syn)
            else:
                params.update(tau_m=L.tau_m, tau_syn=L.tau_syn)
            if L.kind == "ALIF":
                params.update(tau_B=L.tau_b, B_incr=L.b_incr, B_init=L.b_init)
                vars_.update(B=L.b_init, lambda_B=0.0)
            if L.train_tau:
                vars_.update(S_m=0.0, S_s=0.0, S_I=0.0, dtau_m=0.0,
                             dtau_syn=0.0)
            if L.pdrop > 0:
                params["p_drop"] = L.pdrop
                vars_["dropped"] = 0
            if L.reg not in (None, "none"):
                vars_["sNSum"] = 0.0
                if L.reg == "Thomas1":
                    params.update(glb_upper=L.glb_upper, rho_upper=L.rho_upper)
                    vars_["sNSum_layer"] = 0.0
                else:
                    params.update(lbd_upper=L.lbd_upper, lbd_lower=L.lbd_lower,
                                  nu_upper=L.nu_upper)
                    if L.reg == "avg":
                        vars_["sNSum_avg"] = 0.0
            pop = self._add_pop(f"hidden{li}", L.n, h_model, params, vars_)
            if L.pdrop > 0:
                pop.set_param_dynamic("p_drop")
            self.hidden.append(pop)
            self.resets.append((pop, h_model, h_part))
            self._connect(f"w_in{li}" if li == 0 else f"w_ff{li - 1}", prev,
                          pop, L.w_mean, L.w_std, het, backprop=li > 0,
                          dropout=prev_layer is not None and prev_layer.pdrop > 0,
                          train=c.train_w)
            if L.recurrent:
                self._connect(f"w_rec{li}", pop, pop, L.w_rec_mean, L.w_rec_std,
                              het, backprop=True, dropout=L.pdrop > 0,
                              train=c.train_w)
            if L.train_tau:
                self._train_tau(pop, f"tau_m{li}", "tau_m", "dtau_m",
                                L.min_tau_m)
                self._train_tau(pop, f"tau_syn{li}", "tau_syn", "dtau_syn",
                                L.min_tau_syn)
            prev, prev_layer = pop, L
        # outputs
        o_model, o_part = output_neuron(api, c.loss, c.out_kind,
                                        c.train_tau_out)
        het_out = c.out_kind == "hetLI" or c.train_tau_out
        params = dict(common, N_batch=B, V_thresh=c.out_v_thresh,
                      V_reset=c.out_v_reset)
        vars_ = {"V": c.out_v_reset, "I": 0.0, "lambda_V": 0.0,
                 "lambda_I": 0.0, "rev_t": 0.0, "label": -1, "dl": 0.0,
                 "p": 0.0, "loss_acc": 0.0, "MaxZ": 0.0, "SumExp": 0.0,
                 "z": 0.0}
        if het_out:
            vars_.update(
                tau_m=self._tau_init(c.out_tau_m, c.out_tau_m_init_std,
                                     c.out_min_tau_m),
                tau_syn=self._tau_init(c.out_tau_syn, c.out_tau_syn_init_std,
                                       c.out_min_tau_syn))
        else:
            params.update(tau_m=c.out_tau_m, tau_syn=c.out_tau_syn)
        if c.loss == "max":
            vars_.update(t_max=0.0, t_max_prev=0.0, f_max=0.0, f_max_prev=0.0)
        elif c.loss == "avg_xentropy":
            params["n_steps"] = self.n_steps
            vars_.update(p_t=0.0, parity=0, MaxV=0.0, SumExpV=0.0)
        elif c.loss == "sum_weigh_input":
            params["n_steps"] = self.n_steps
            vars_.update(sample_id=-1, sample_id_prev=-1)
        elif c.loss in SPIKING_LOSSES:
            vars_.update(I_first=0.0, I_first_prev=0.0, t_first_prev=-1.0,
                         t_first=-1.0, I_end=0.0)
        if c.train_tau_out:
            vars_.update(S_m=0.0, S_s=0.0, S_I=0.0, dtau_m=0.0, dtau_syn=0.0,
                         A_m=0.0, A_s=0.0)
            if c.loss == "avg_xentropy":
                vars_.update(S_m_prevstep=0.0, S_s_prevstep=0.0)
        self.out = self._add_pop("output", c.n_out, o_model, params, vars_)
        if c.loss == "avg_xentropy":
            self.out.extra_global_params["dl_buf"].set_init_values(
                np.zeros(B * c.n_out * 2 * self.n_steps))
        self.resets.append((self.out, o_model, o_part))
        last = c.hidden[-1] if c.hidden else None
        self._connect("w_out", prev, self.out, c.w_out_mean, c.w_out_std,
                      het_out, backprop=bool(c.hidden),
                      dropout=last is not None and last.pdrop > 0,
                      train=c.train_w_out)
        if c.train_tau_out:
            self._train_tau(self.out, "tau_m_out", "tau_m", "dtau_m",
                            c.out_min_tau_m)
            self._train_tau(self.out, "tau_syn_out", "tau_syn", "dtau_syn",
                            c.out_min_tau_syn)
        pops = {p.name: p for p in [self.inp] + self.hidden + [self.out]}
        for name in c.record_spikes:
            if name not in pops:
                raise ValueError(f"cannot record spikes of '{name}'; "
                                 f"populations: {sorted(pops)}")
            pops[name].spike_recording_enabled = True
        self.populations = pops
        self._add_resets()
        self._add_softmax()
        self._add_regularisers()

    def _genn_model(self):
        """A real pygenn model, set up to agree with the engine."""
        c, api = self.cfg, self.api
        backend = GENN_BACKENDS[c.backend]
        try:
            # time in double, as the engine keeps it: trial times grow large
            m = api.GeNNModel(c.precision, c.model_name, backend=backend,
                              time_precision="double", optimize_code=True)
        except KeyError:
            raise ValueError(f"backend {c.backend!r}: this pygenn has no "
                             f"'{backend}' backend") from None
        if m.backend_name != "cuda" and c.batch_size > 1:
            raise ValueError(f"backend {c.backend!r}: GeNN's "
                             f"{m.backend_name} backend runs batch size 1 only,"
                             f" not {c.batch_size}: set N_BATCH=1 (or use "
                             "GeNN's CUDA backend, or the built-in engine)")
        return m

    def _add_pop(self, name, n, model, params, vars_):
        pop = self.model.add_neuron_population(name, n, model, params, vars_)
        self.pop_params[name], self.pop_size[name] = dict(params), n
        return pop

    def _tau_init(self, mean, std, lower):
        if std <= 0:
            return mean
        return self.api.init_var("NormalClipped", {
            "mean": mean, "sd": std, "min": lower, "max": 1e9})

    def _connect(self, name, pre, post, mean, std, het_post, backprop,
                 dropout, train):
        api = self.api
        wu = evp_synapse(api, het_post=het_post, backprop=backprop,
                         dropout=dropout)
        post_refs = {"lambda_V_post": api.create_var_ref(post, "lambda_V"),
                     "lambda_I_post": api.create_var_ref(post, "lambda_I")}
        params = {}
        if het_post:
            post_refs["tau_syn_post"] = api.create_var_ref(post, "tau_syn")
        else:
            params["tau_syn_post"] = self.pop_params[post.name]["tau_syn"]
        pre_refs = {"back_spike_pre": api.create_var_ref(pre, "back_spike")}
        if dropout:
            pre_refs["dropped_pre"] = api.create_var_ref(pre, "dropped")
        w = api.init_var("Normal", {"mean": mean, "sd": std}) if std > 0 \
            else mean
        sg = self.model.add_synapse_population(
            name, "DENSE", pre, post,
            api.init_weight_update(wu, params, {"w": w, "dw": 0.0},
                                   pre_var_refs=pre_refs,
                                   post_var_refs=post_refs),
            api.init_postsynaptic("DeltaCurr"))
        if backprop:     # only neurons that take backward input have RevISyn
            sg.pre_target_var = "RevISyn"
        if train:
            self._train(name, sg, "w", "dw", wu_var=True)
        self.__dict__.setdefault("synapses", {})[name] = sg
        return sg

    def _train(self, name, owner, var, grad, wu_var, min_value=None):
        api, c = self.api, self.cfg
        ref = api.create_wu_var_ref if wu_var else api.create_var_ref
        red = self.model.add_custom_update(
            f"reduce_{name}", "EVP_GradientBatchReduce", cu.grad_reduce(api),
            {}, {"reduced": 0.0}, {"gradient": ref(owner, grad)})
        bounded = min_value is not None
        decay = wu_var and c.weight_decay > 0     # weights, not taus
        params = {"beta1": c.adam_beta1, "beta2": c.adam_beta2,
                  "epsilon": c.adam_eps, "alpha": 0.0, "moment1_scale": 1.0,
                  "moment2_scale": 1.0}
        if bounded:
            params["min_value"] = min_value
        if decay:
            params["weight_decay"] = c.weight_decay
        adam = self.model.add_custom_update(
            f"adam_{name}", "EVP_GradientLearn", cu.adam(api, bounded, decay),
            params,
            {"m": 0.0, "v": 0.0},
            {"gradient": ref(red, "reduced"), "variable": ref(owner, var)})
        for p in ("alpha", "moment1_scale", "moment2_scale"):
            adam.set_param_dynamic(p)
        self.trained[name] = (owner, var, red, adam)

    def _train_tau(self, pop, name, var, grad, min_value):
        self._train(name, pop, var, grad, wu_var=False, min_value=min_value)

    def _add_resets(self):
        api = self.api
        for pop, model, part in self.resets:
            rmodel, refs, params, egps = cu.trial_reset(
                api, f"EVP_reset_{pop.name}", model, part)
            values = {}
            for p in params:
                values[p] = self.pop_params[pop.name].get(p, 0.0) if p != "N_batch" \
                    else float(self.cfg.batch_size)
            c = self.model.add_custom_update(
                f"reset_{pop.name}", "EVP_Reset", rmodel, values, {},
                {r: api.create_var_ref(pop, r) for r in refs},
                {e: api.create_egp_ref(
                    pop if e in pop.extra_global_params else self.inp, e)
                 for e in egps})
            if "trial" in params:
                c.set_param_dynamic("trial")
            pop.__dict__.setdefault("_reset_cu", c)

    def _add_softmax(self):
        api, c = self.api, self.cfg
        values = {"tau0": c.tau0, "tau1": c.tau1, "alpha": c.alpha,
                  "trial_t": c.trial_ms, "N_batch": float(c.batch_size),
                  "n_steps": float(self.n_steps)}
        for stage in (1, 2, 3):
            model, refs, params = cu.softmax_stage(
                api, f"EVP_softmax{stage}_{c.loss}", c.loss, stage)
            egps = {"dl_buf": api.create_egp_ref(self.out, "dl_buf")} \
                if c.loss == "avg_xentropy" and stage == 3 else {}
            self.model.add_custom_update(
                f"softmax{stage}", f"EVP_Softmax{stage}", model,
                {p: values[p] for p in params}, {},
                {r: api.create_var_ref(self.out, r) for r in refs}, egps)
            if c.loss == "avg_xentropy":
                model, refs, _ = cu.softmax_stage(
                    api, f"EVP_step_softmax{stage}", c.loss, stage, step=True)
                self.model.add_custom_update(
                    f"step_softmax{stage}", f"EVP_StepSoftmax{stage}", model,
                    {}, {}, {r: api.create_var_ref(self.out, r) for r in refs})
        self.step_updates = [f"EVP_StepSoftmax{s}" for s in (1, 2, 3)] \
            if c.loss == "avg_xentropy" else []

    def _add_regularisers(self):
        api = self.api
        self.reg_groups = []
        for L, pop in zip(self.cfg.hidden, self.hidden):
            if L.reg == "avg":
                red = self.model.add_custom_update(
                    f"regred_{pop.name}", "EVP_RegReduce", cu.reg_reduce(api),
                    {}, {"reduced": 0.0},
                    {"sNSum": api.create_var_ref(pop, "sNSum")})
                self.model.add_custom_update(
                    f"regapply_{pop.name}", "EVP_RegApply", cu.reg_apply(api),
                    {"N_batch": float(self.cfg.batch_size)}, {},
                    {"reduced": api.create_var_ref(red, "reduced"),
                     "sNSum_avg": api.create_var_ref(pop, "sNSum_avg")})
                self.reg_groups += ["EVP_RegReduce", "EVP_RegApply"]
            elif L.reg == "Thomas1":
                self.model.add_custom_update(
                    f"reglayer_{pop.name}", "EVP_RegLayer",
                    cu.reg_layer_sum(api), {}, {},
                    {"sNSum": api.create_var_ref(pop, "sNSum"),
                     "sNSum_layer": api.create_var_ref(pop, "sNSum_layer")})
                self.reg_groups.append("EVP_RegLayer")
        self.reg_groups = list(dict.fromkeys(self.reg_groups))

    # -- lifecycle -------------------------------------------------------
    def build(self, reuse=False):
        """Generate and compile the model (the engine fetches an unchanged
        one from its cache). ``reuse=True`` (BUILD=False) compiles nothing:
        the library an earlier build left is used, an error if there is none."""
        if self.cfg.backend in GENN_BACKENDS:
            if reuse:
                raise ValueError("BUILD=False needs the built-in engine: pygenn "
                                 f"(BACKEND={self.cfg.backend!r}) has to build() before "
                                 "it loads, and recompiles only changed code itself; "
                                 "leave BUILD=True")
            self._genn_build()
        elif reuse:
            self.model.build(cache_only=True)
        else:
            self.model.build()
        return self

    def _genn_build(self):
        """pygenn builds into a folder of its own (not the working folder),
        one per configuration, locked while GeNN writes and compiles there."""
        import fcntl
        import hashlib
        from genn_engine.compiler import cache_dir
        key = hashlib.sha1(repr(self.cfg).encode()).hexdigest()[:12]
        path = cache_dir() / "pygenn" / f"{self.cfg.model_name}_{key}"
        path.mkdir(parents=True, exist_ok=True)
        with open(path / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.model.build(path_to_model=str(path))

    def load(self):
        """Allocate and initialise the model (GeNN's load()).

        Extra global parameters are allocated here and cannot grow later
        (as in GeNN), so set_data() comes first: it reserves the room for
        the data of every later upload.
        """
        # spike buffers: N_max_spike entries per neuron and batch slot
        for pop in ([] if self.event_input else [self.inp]) + self.hidden:
            n = self.cfg.batch_size * self.pop_size[pop.name] * \
                int(self.pop_params[pop.name]["N_max_spike"])
            for name in ("tk", "Ik_buf", "Bk_buf", "dtkm_buf", "dtks_buf"):
                if name in pop.extra_global_params:
                    pop.extra_global_params[name].set_init_values(np.zeros(n))
        if self.cfg.loss == "sum_weigh_input" and \
                getattr(self, "_g_rows", None) is None:
            # room for set_input_weighting() after load()
            self._write_egp(self.out, "g_in", np.zeros(
                getattr(self, "sample_capacity", 0) * self.n_steps))
        if self.event_input:
            # two lists per slot (the trial running forward, the one replayed)
            # of as many spikes as the largest reserved sample has
            cap = int(getattr(self, "record_capacity", 0))
            self.inp.set_dynamic_param_value("record_capacity", cap)
            n = 2 * self.cfg.batch_size * max(cap, 1)
            self.inp.extra_global_params["recordStep"].set_init_values(
                np.zeros(n, np.int32))
            self.inp.extra_global_params["recordUnit"].set_init_values(
                np.zeros(n, np.uint16))
        rec_steps = max(self.cfg.spk_rec_steps or self.n_steps, self.n_steps)
        self.model.load(num_recording_timesteps=rec_steps
                        if self.cfg.record_spikes else None)
        self.loaded = True
        return self

    def _write_egp(self, pop, name, values, capacity=None):
        """Set an extra global parameter: before load() with room for
        ``capacity`` values, after it into that room (it cannot grow)."""
        egp = pop.extra_global_params[name]
        values = np.asarray(values).ravel()
        if not getattr(self, "loaded", False):
            capacity = max(capacity or 0, values.size)
            egp.set_init_values(np.concatenate(
                [values, np.zeros(capacity - values.size, values.dtype)]))
            return
        view = egp.view
        if view is None:
            raise DataCapacityError(
                f"'{name}' was not set before load(), so no room was allocated "
                "for it: call set_data() before load()")
        if values.size > view.size:
            raise DataCapacityError(
                f"'{name}' needs {values.size} values but {view.size} were "
                "reserved when the model was loaded: pass a larger reserve to "
                "set_data() before load()")
        view[:values.size] = values
        egp.push_to_device()

    def set_data(self, start, end, times, labels, reserve=1.0):
        """Every sample's input spikes (neuron-major: start/end (n_samples, n_in)
        index ``times``, local trial time in ms) and labels.

        Called before load(), it reserves ``reserve`` times the room these
        data take (for larger uploads later, e.g. augmented epochs); after
        load() the data must fit that room. ``set_events`` takes the data
        per sample in time order (a SpikeDataset's layout) instead.
        """
        start = np.asarray(start)
        if start.ndim != 2 or start.shape[1] != self.cfg.n_in:
            raise ValueError(f"start must have shape (n_samples, {self.cfg.n_in})")
        labels = self._check_labels(labels, reserve)
        if self.event_input:
            t, u, off = events_from_neuron_major(start, end, times)
            self._set_event_data([(t, u, off)], labels, reserve)
            return
        self._set_neuron_major(start, end, times, labels, reserve)

    def set_events(self, parts, labels=None, reserve=1.0, keep=0):
        """Every sample's input spikes, per sample in time order: ``parts``
        is a SpikeDataset, a (times, units, offsets) tuple (events of sample
        s are ``offsets[s]:offsets[s + 1]``) or a list of these, whose
        samples follow each other; ``labels`` default to the data sets'.

        The event-driven input gets them converted chunk by chunk straight
        into its buffers (uint16 or int32 step + uint16 unit per event,
        4 or 6 bytes; no copy of the
        whole data in between); the neuron-major input (real GeNN) gets
        them re-ordered per neuron. Room is reserved as in ``set_data``.

        ``keep`` (event-driven input, after load()): the first ``keep``
        samples on the device stay as they are, ``parts`` follow them (a
        re-upload of just the split that changed).
        """
        if not isinstance(parts, list):     # one data set or one tuple
            parts = [parts]
        if labels is None:
            labels = np.concatenate([np.asarray(p.labels) for p in parts])
        parts = [(p.times, p.units, p.offsets) if hasattr(p, "offsets")
                 else tuple(p) for p in parts]
        if keep:
            if not (self.event_input and getattr(self, "loaded", False)):
                raise ValueError("keep needs the event-driven input, loaded")
            if not 0 < keep <= getattr(self, "n_samples", 0):
                raise ValueError(f"keep={keep}: {getattr(self, 'n_samples', 0)}"
                                 " samples are on the device")
            kept = self.inp.extra_global_params["labels"].view[:keep]
            labels = np.concatenate([kept, np.asarray(labels, np.int32)])
        labels = self._check_labels(labels, reserve)
        if keep + sum(len(p[2]) - 1 for p in parts) != len(labels):
            raise ValueError("one label per sample is needed")
        if self.event_input:
            self._set_event_data(parts, labels, reserve, keep)
            return
        # real GeNN: neuron-major, one part after the other
        starts, ends, times = [], [], []
        base = 0
        for t, u, off in parts:
            s, e, tt = neuron_major(t, u, off, self.cfg.n_in)
            starts.append(s.astype(np.int64) + base)
            ends.append(e.astype(np.int64) + base)
            times.append(tt)
            base += len(tt)
        self._set_neuron_major(np.concatenate(starts), np.concatenate(ends),
                               np.concatenate(times), labels, reserve)

    def _check_labels(self, labels, reserve):
        labels = np.asarray(labels, np.int32)
        if labels.size and (labels.min() < 0 or labels.max() >= self.cfg.n_out):
            raise ValueError(f"labels must lie in [0, {self.cfg.n_out})")
        if reserve < 1:
            raise ValueError("reserve must be at least 1")
        return labels

    def _set_neuron_major(self, start, end, times, labels, reserve):
        n = len(labels)
        n_cap = int(np.ceil(n * reserve))
        inp = self.inp
        self._write_egp(inp, "spikeTimes", times,   # converted to scalar
                        int(np.ceil(len(times) * reserve)))
        self._write_egp(inp, "allStart", np.asarray(start, np.int32),
                        n_cap * self.cfg.n_in)
        self._write_egp(inp, "allEnd", np.asarray(end, np.int32),
                        n_cap * self.cfg.n_in)
        self._set_samples(labels, n_cap)

    def _set_samples(self, labels, n_cap):
        """Labels, and (before load) the room for the trial order."""
        inp, B, n = self.inp, self.cfg.batch_size, len(labels)
        self._write_egp(inp, "labels", labels, n_cap)
        if not getattr(self, "loaded", False):
            # room for the order of a pass over every sample (plus a partial
            # and an empty trial), twice over for orders that repeat samples
            self.sample_capacity = n_cap
            trials = max(2 * (-(-n_cap // B) + 2), 16)
            self._write_egp(inp, "order", np.full(trials * B, -1, np.int32))
        self.n_samples = n

    def _set_event_data(self, parts, labels, reserve, keep=0):
        """Events of every part, converted chunk by chunk into the event
        source's buffers (int32 step, uint16 unit; sampleStart per sample),
        after the first ``keep`` samples' events."""
        c = self.cfg
        egps = self.inp.extra_global_params
        first = int(egps["sampleStart"].view[keep]) if keep else 0
        counts = np.concatenate([np.diff(np.asarray(off, np.int64))
                                 for _, _, off in parts])
        n = keep + len(counts)
        n_cap = int(np.ceil(max(n, len(labels)) * reserve))
        n_ev = first + int(counts.sum())
        if n_ev >= 2 ** 32:
            raise ValueError(f"{n_ev} input events: at most 2**32 - 1 fit")
        for t, u, off in parts:
            if len(t) and (np.min(u) < 0 or np.max(u) >= c.n_in):
                raise ValueError(f"input units must lie in [0, {c.n_in})")
        loaded = getattr(self, "loaded", False)
        if not loaded:
            ev_cap = int(np.ceil(n_ev * reserve))
            step_dtype = np.uint16 if egps["eventStep"].type.startswith(
                "uint16") else np.int32
            step = np.zeros(max(ev_cap, 1), step_dtype)
            unit = np.zeros(max(ev_cap, 1), np.uint16)
            starts = np.zeros(n_cap + 1, np.uint32)
            # the record holds the largest sample of the data (times the
            # reserve, for larger later uploads); one more spike is counted
            # as overflow
            self.record_capacity = int(np.ceil(
                (counts.max() if n else 0) * reserve))
        else:
            step, unit, starts = (egps[k].view for k in
                                  ("eventStep", "eventUnit", "sampleStart"))
            if step is None or n_ev > step.size or n + 1 > starts.size:
                raise DataCapacityError(
                    f"{n_ev} input events of {n} samples need more room than "
                    "was reserved when the model was loaded: pass a larger "
                    "reserve to set_data()/set_events() before load()")
        base = first
        for t, u, off in parts:
            m = int(off[-1]) if len(off) else 0
            event_steps(t, u, off, c.n_in, c.dt, c.precision,
                        out_step=step[base:base + m],
                        out_unit=unit[base:base + m])
            base += m
        starts[0] = 0
        starts[keep + 1:n + 1] = first + np.cumsum(counts)
        if not loaded:
            egps["eventStep"].set_init_values(step)
            egps["eventUnit"].set_init_values(unit)
            egps["sampleStart"].set_init_values(starts)
        else:
            for k in ("eventStep", "eventUnit", "sampleStart"):
                egps[k].push_to_device()
        self._set_samples(labels, n_cap)

    def events_on_device(self, lo, hi):
        """(times, units, offsets) of samples ``lo``..``hi`` - 1 as the
        event-driven input holds them: times on the time grid (step * dt;
        data binned to the grid read back as they were given), events due
        at or after the trial's end just before it (never emitted either
        way); set_events maps them back to the same steps."""
        if not self.event_input:
            raise ValueError("only the event-driven input keeps events in "
                             "its own layout")
        egps = self.inp.extra_global_params
        starts = egps["sampleStart"].view
        if not 0 <= lo <= hi <= getattr(self, "n_samples", 0):
            raise IndexError(f"samples {lo}..{hi} are not on the device")
        a, b = int(starts[lo]), int(starts[hi])
        step = egps["eventStep"].view[a:b]
        ft = np.float32 if self.cfg.precision == "float" else np.float64
        times = step.astype(ft) * ft(self.cfg.dt)
        np.minimum(times, np.nextafter(ft(self.n_steps * self.cfg.dt), ft(0)), out=times)
        return (times, egps["eventUnit"].view[a:b].copy(),
                starts[lo:hi + 1].astype(np.int64) - a)

    def set_input_weighting(self, g):
        """Per-sample time weighting of the "sum_weigh_input" loss.

        ``g`` has shape (n_samples, n_steps); ``g[s, n]`` weighs V of sample
        ``s`` over step n, from t_n to t_{n+1} (e.g. from
        ``genn_models.weighting.input_activity_weighting``).
        """
        if self.cfg.loss != "sum_weigh_input":
            raise ValueError("set_input_weighting needs loss "
                             f"'sum_weigh_input', not {self.cfg.loss!r}")
        g = np.asarray(g, np.float64)
        n = getattr(self, "n_samples", None)
        if g.ndim != 2 or g.shape[1] != self.n_steps or \
                (n is not None and g.shape[0] != n):
            raise ValueError(f"g must have shape ({n if n is not None else 'n_samples'}"
                             f", {self.n_steps}), got {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError("g must be finite")
        self._write_egp(self.out, "g_in", g,
                        getattr(self, "sample_capacity", g.shape[0]) * self.n_steps)
        self._g_rows = g.shape[0]

    def dropout_scaled(self):
        """{weight matrix: keep probability} of the synapses after a dropout
        layer (input dropout: w_in0; hidden layer l: its outgoing weights)."""
        c = self.cfg
        out = {}
        if c.pdrop_in > 0:
            out["w_in0"] = 1.0 - c.pdrop_in
        for l, L in enumerate(c.hidden):
            if L.pdrop > 0:
                nxt = f"w_ff{l}" if l + 1 < len(c.hidden) else "w_out"
                for name in (nxt, f"w_rec{l}"):
                    if name in self.synapses:
                        out[name] = 1.0 - L.pdrop
        return out

    def set_dropout(self, on):
        """Input and hidden dropout on (training) or off (evaluation).

        Off, every spike counts (genn_eventprop zeroes pDrop there) and the
        weights after a dropout layer are scaled by the keep probability,
        the weight-scaling rule of dropout: a unit's expected input then
        equals training's (unscaled, PDROP_INPUT 0.2 gave the test pass
        25 % more input than training). On again, the trained weights come
        back exactly."""
        c = self.cfg
        on = bool(on)
        if self._dropout_on == on:
            return
        if c.pdrop_in > 0:
            self.inp.set_dynamic_param_value("p_drop", c.pdrop_in if on else 0.0)
        for L, pop in zip(c.hidden, self.hidden):
            if L.pdrop > 0:
                pop.set_dynamic_param_value("p_drop", L.pdrop if on else 0.0)
        if on:
            for name, w in self._trained_w.items():
                self.set(name, w)
            self._trained_w = {}
        else:
            for name, keep in self.dropout_scaled().items():
                self._trained_w[name] = self.get(name)
                self.set(name, self._trained_w[name] * keep)
        self._dropout_on = on

    def set_order(self, order):
        """Sample ids per (trial, batch slot), -1 for an empty slot."""
        order = np.asarray(order, np.int32).ravel()
        if order.size % self.cfg.batch_size:
            raise ValueError("order length must be a multiple of the batch size")
        if order.size and order.max() >= self.n_samples:
            raise ValueError("order refers to a sample that is not loaded")
        self._write_egp(self.inp, "order", order)
        self.n_trials = order.size // self.cfg.batch_size

    # -- running ---------------------------------------------------------
    def end_trial(self):
        """Softmax and loss of the trial that just ran; its per-slot results."""
        m = self.model
        for s in (1, 2, 3):
            m.custom_update(f"EVP_Softmax{s}")
        self._ended = True
        out = self.out.vars
        label = self._batch(out["label"].view)[:, 0]
        z = self._batch(out["z"].view)     # -t_first/tau0 for first-spike losses
        loss = self._batch(out["loss_acc"].view).sum(axis=1)
        pred = np.argmax(z, axis=1)
        silent = z.max(axis=1) < -1e30
        valid = label >= 0
        label = label.copy()
        return {"label": label, "pred": np.where(silent, -1, pred),
                "z": z.copy(), "loss": loss, "valid": valid,
                "correct": (pred == label) & ~silent & valid}

    def _batch(self, a):
        a = np.asarray(a)
        return a.reshape(self.cfg.batch_size, -1)

    def run_trial(self, trial, on_step=None):
        """Reset for ``trial`` (its samples start now) and run its time steps.

        Returns the results of the previous trial (None for the first).
        With ``on_step``, the steps run one at a time and ``on_step(n)`` is
        called after step n (for recording state); otherwise in one call.
        """
        m = self.model
        if self.cfg.loss == "sum_weigh_input" and \
                getattr(self, "_g_rows", None) != getattr(self, "n_samples", None):
            # the device reads g_in[sample * n_steps + n]: rows must match the data
            raise ValueError("loss 'sum_weigh_input': call set_input_weighting(g)"
                             " with one row per loaded sample")
        prev = None if self._ended else self.end_trial()
        for pop, _, _ in self.resets:
            c = pop._reset_cu
            if "trial" in c.params:
                c.set_dynamic_param_value("trial", trial)
        m.custom_update("EVP_Reset")
        for g in self.reg_groups:
            m.custom_update(g)
        if on_step is None:
            self._advance(m, self.n_steps)
        else:
            for n in range(self.n_steps):
                self._advance(m, 1)
                on_step(n)
        self._ended = False
        self._check_overflow()
        return prev

    def _advance(self, m, n_steps):
        """n_steps with the per-step custom updates; pygenn has no run_steps,
        so there each step is a step_time() and the updates after it."""
        if hasattr(m, "run_steps"):
            m.run_steps(n_steps, step_custom_updates=self.step_updates)
            return
        for _ in range(n_steps):
            m.step_time()
            for g in self.step_updates:
                m.custom_update(g)

    def _check_overflow(self):
        total = 0
        for pop in [self.inp] + self.hidden:
            ov = pop.vars["overflow"].view
            n = int(np.sum(ov))
            if n:
                total += n
                ov[...] = 0
        if total:
            msg = (f"{total} spikes did not fit the spike buffers "
                   f"(N_MAX_SPIKE); their gradients are missing: raise "
                   "N_MAX_SPIKE (None: one trial's steps, which nothing overflows)")
            if self.cfg.overflow == "error":
                raise SpikeBufferOverflow(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
        self.overflow_count = getattr(self, "overflow_count", 0) + total

    def reduce_gradients(self):
        """Batch-summed gradients of the completed trial: name -> array."""
        self.model.custom_update("EVP_GradientBatchReduce")
        return {k: np.array(red.vars["reduced"].view)
                for k, (_, _, red, _) in self.trained.items()}

    @property
    def adam_steps(self):
        """Adam updates applied so far (kept in the optimiser state)."""
        return self._adam_t

    def adam_step(self, lr):
        """One Adam step with learning rate ``lr`` on every trained variable."""
        c = self.cfg
        self._adam_t += 1
        t = self._adam_t
        for _, _, _, adam in self.trained.values():
            adam.set_dynamic_param_value("alpha", lr)
            adam.set_dynamic_param_value("moment1_scale",
                                         1.0 / (1.0 - c.adam_beta1 ** t))
            adam.set_dynamic_param_value("moment2_scale",
                                         1.0 / (1.0 - c.adam_beta2 ** t))
        self.model.custom_update("EVP_GradientLearn")

    def spikes(self, name):
        """Spikes of the trial that just ran: per batch slot (times in the trial, ids)."""
        pop = self.populations[name]
        self.model.pull_recording_buffers_from_device()
        t0 = (self.model.timestep - self.n_steps) * self.cfg.dt
        out = []
        for t, i in pop.spike_recording_data:
            keep = t >= t0 - 0.5 * self.cfg.dt     # a longer buffer holds older trials
            out.append((t[keep] - t0, i[keep]))
        return out

    # -- state -----------------------------------------------------------
    def _locate(self, name):
        """(group, var) of a weight matrix or a per-neuron tau by name."""
        if name in self.trained:
            return self.trained[name][:2]
        if name in self.synapses:
            return self.synapses[name], "w"
        for prefix in ("tau_m", "tau_syn"):
            rest = name[len(prefix):]
            if name.startswith(prefix) and (rest == "_out" or rest.isdigit()):
                pop = self.out if rest == "_out" else self.hidden[int(rest)]
                if prefix in pop.vars:
                    return pop, prefix
        raise KeyError(f"no weights or per-neuron taus called '{name}'")

    def get(self, name):
        owner, var = self._locate(name)
        return np.array(owner.vars[var].view)

    def get_trained(self, name):
        """As get(), but the trained values while an evaluation pass holds
        the dropout-scaled weights."""
        if name in self._trained_w:
            return np.array(self._trained_w[name])
        return self.get(name)

    def set(self, name, values):
        owner, var = self._locate(name)
        view = owner.vars[var].view
        view[...] = np.asarray(values).reshape(view.shape)

    def per_neuron_taus(self):
        """Names of the per-neuron taus (hetLIF / hetLI, or trained), e.g.
        "tau_m0", "tau_syn_out": drawn at random when heterogeneous, so a
        checkpoint must hold them even when they are not trained."""
        names = []
        for l, pop in enumerate(self.hidden):
            names += [f"{k}{l}" for k in ("tau_m", "tau_syn") if k in pop.vars]
        names += [f"{k}_out" for k in ("tau_m", "tau_syn") if k in self.out.vars]
        return names

    def state_dict(self):
        """Everything learning changes or initialisation drew: weights,
        per-neuron taus (trained or not), Adam moments and step."""
        state = {"adam_t": self._adam_t}
        for name in self.synapses:
            state[f"{name}"] = self.get(name)
        for name in self.per_neuron_taus():
            state[name] = self.get(name)
        for name, (owner, var, red, adam) in self.trained.items():
            state[name] = np.array(owner.vars[var].view)
            state[f"{name}.adam_m"] = np.array(adam.vars["m"].view)
            state[f"{name}.adam_v"] = np.array(adam.vars["v"].view)
        return state

    def load_state_dict(self, state, allow_missing=()):
        """Restore a state_dict; names in ``allow_missing`` (untrained taus
        that checkpoints of older versions lack) keep their current values."""
        missing = [k for k in self.state_dict() if k not in state
                   and k not in allow_missing]
        if missing:
            raise KeyError(f"checkpoint lacks {missing}")
        self._adam_t = int(state["adam_t"])
        for name in self.synapses:
            self.set(name, state[name])
        for name in self.per_neuron_taus():
            if name in state:
                self.set(name, state[name])
        for name, (owner, var, red, adam) in self.trained.items():
            owner.vars[var].view[...] = state[name]
            adam.vars["m"].view[...] = state[f"{name}.adam_m"]
            adam.vars["v"].view[...] = state[f"{name}.adam_v"]
