"""The training loop every benchmark shares.

A simulator is built from a parameter dict ``p`` (validated against its
benchmark's table); ``train(p)``, ``test(p)`` and ``train_test(p)`` run
epochs of trials on the EventProp network (genn_models.network). Data of all
splits are on the device at once and each trial's samples are picked there
from an order array, so shuffling costs no re-upload; a subclass whose
``training_data(p, epoch)`` returns a new training split (augmentation) has
just that split re-uploaded before the epoch (the fixed splits come first in
the sample store and stay). With the engine's event-driven input the store
is the data's only copy: uploaded data sets release their event arrays and
read them back from the store if asked (SpikeDataset.release_events).
"""
import contextlib
import math
import time
import warnings

import numpy as np

from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from params import validate
from params.base import check_run

from . import outputs

# keys that change the network; the others may differ between calls
STRUCTURE_KEYS = (
    "DT_MS", "TRIAL_MS", "N_BATCH", "NUM_HIDDEN", "N_HID_LAYER", "RECURRENT",
    "HIDDEN_NEURON_TYPE", "OUTPUT_NEURON_TYPE", "LOSS_TYPE", "TRAIN_TAU",
    "TRAIN_TAU_OUTPUT", "TRAIN_W", "TRAIN_W_OUTPUT", "REG_TYPE", "AVG_SNSUM",
    "N_MAX_SPIKE", "MODEL_SEED", "PDROP_INPUT", "PDROP_HIDDEN", "REC_SPIKES",
    "N_INPUT_DELAY", "WEIGHT_DECAY")
# keys that also fix the shapes of a checkpoint's arrays (number of classes)
SHAPE_KEYS = ("REDUCED_CLASSES", "DATASET")
# STRUCTURE_KEYS that do not change what a trained network computes: a
# test of a checkpoint may use other values
TEST_FREE_KEYS = ("N_BATCH", "MODEL_SEED", "REC_SPIKES", "N_MAX_SPIKE",
                  "PDROP_INPUT", "PDROP_HIDDEN", "TRAIN_W", "TRAIN_W_OUTPUT",
                  "REG_TYPE", "AVG_SNSUM", "WEIGHT_DECAY")
# keys a resumed run may change without a word: where files are, how the
# run is driven and what it records (they do not change what is learned)
RESUME_QUIET_KEYS = frozenset((
    "REC_SPIKES",
    "NAME", "OUT_DIR", "DATA_DIR", "DATA_CACHE_DIR", "LOAD_LAST", "LOAD_BEST",
    "OVERWRITE", "VERBOSE", "N_THREADS", "BUILD", "TIMING", "CV_PARALLEL",
    "CUDA_VISIBLE_DEVICES", "WRITE_TO_DISK", "CHECKPOINT", "TRAINING_PLOT",
    "TRAINING_PLOT_INTERVAL", "FANCY_PLOTS", "DEBUG_HIDDEN_N",
    "COLLECT_CONFUSION", "REC_PREDICTIONS", "REC_NEURONS",
    "REC_NEURONS_EPOCH_TRIAL", "REC_SYNAPSES", "REC_SYNAPSES_EPOCH_TRIAL",
    "REC_SPIKES_EPOCH_TRIAL", "W_OUTPUT_EPOCH_TRIAL", "W_REPORT_INTERVAL",
    "W_EPOCH_INTERVAL", "TAU_OUTPUT_EPOCH_TRIAL", "SPK_REC_STEPS"))


def draw_seed():
    """A fresh model seed in [1, 2**31): 0 would mean "random" to GeNN."""
    return int(np.random.SeedSequence().entropy % (2 ** 31 - 1)) + 1


def _flag(p, key):
    """A boolean key that only some benchmarks have."""
    return key in p and bool(p[key])


def _rng(seed, *keys):
    """A generator for (seed, keys...); fresh entropy when seed is None."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([seed, *keys])


def neuron_major(ds, chunk=512):
    """``ds.to_neuron_major()`` computed ``chunk`` samples at a time, so the
    int64 sort keys exist for one chunk only (SHD: ~80M events)."""
    from genn_models.input_data import neuron_major as nm
    return nm(ds.times, ds.units, ds.offsets, ds.n_units, chunk)


def run_trial_stepwise(net, trial, pairs):
    """``net.run_trial(trial)`` one time step at a time, recording variables.

    Does what EventPropNetwork.run_trial does (same custom updates in the
    same order, then the steps) but calls ``model.run_steps(1)`` per step
    and copies each (population, variable) of ``pairs`` after every step.
    Returns (results of the previous trial or None, {(pop, var): array of
    shape (n_steps, batch, neurons)}); value n is the state at the end of
    step n, i.e. at t = (n + 1) dt into the trial.
    """
    B = net.cfg.batch_size
    views = {}
    for pop_name, var in pairs:
        pop = net.populations.get(pop_name)
        if pop is None:
            raise ValueError(f"cannot record '{pop_name}': populations are "
                             f"{sorted(net.populations)}")
        if var not in pop.vars:
            raise ValueError(f"population '{pop_name}' has no variable "
                             f"'{var}'; it has {sorted(pop.vars)}")
        views[(pop_name, var)] = pop
    out = {(name, var): np.empty((net.n_steps, B, net.pop_size[name]),
                                 np.asarray(pop.vars[var].view).dtype)
           for (name, var), pop in views.items()}

    def record(n):
        for (name, var), pop in views.items():
            a = np.asarray(pop.vars[var].view).reshape(-1)
            # shared (unbatched) variables are the same for every slot
            out[(name, var)][n] = a.reshape(B, -1) if a.size == B * net.pop_size[name] \
                else a.reshape(1, -1)

    prev = net.run_trial(trial, on_step=record)
    return prev, out


class NonFiniteGradient(FloatingPointError):
    """A gradient became NaN or infinite; the weights were not updated with it."""


def _check_finite(grads, split, epoch, trial):
    """Stop before a non-finite gradient reaches the weights (and a checkpoint)."""
    bad = [k for k, g in grads.items() if not np.all(np.isfinite(g))]
    if bad:
        raise NonFiniteGradient(
            f"non-finite gradient of {bad} in epoch {epoch}, {split} mini-batch "
            f"{trial}; the weights were not updated with it (the last checkpoint "
            "is intact). Lower ETA, or check the data and the parameters")


_PREFIX = {"train": "train_", "validation": "val_", "test": "test_"}


def _warn_silent(stats, epoch, reg_type="none", warned=None, share=0.5):
    """Silent hidden neurons of a training epoch pass no gradient
    (EventProp's gradients flow through spikes): say so for a layer without
    a spike, every epoch, and once per run (layers in ``warned``) for a
    layer with at least ``share`` of its neurons silent, which then learns
    with the rest only (a silent neuron stays silent)."""
    # Adam turns the regulariser's steady push into full-size steps: where
    # the loss gradient is small (SHD) even LBD_UPPER 1e-9 silences a layer
    reg = (f"; with REG_TYPE={reg_type!r} lower LBD_UPPER (SHD-sized networks "
           "need about 1e-10 or less)" if reg_type not in (None, "none") else "")
    warned = set() if warned is None else warned
    for layer in range(len(stats.spike_sum)):
        if not stats.n:
            continue
        frac = float(np.mean(stats.silent(layer)))
        if frac == 1.0:
            warnings.warn(
                f"hidden layer {layer} did not spike in training epoch {epoch}: no "
                "gradient reaches it or the layers below; raise its input weights "
                "(INPUT_HIDDEN_MEAN / HIDDEN_HIDDENFWD_MEAN), lower ETA, or use "
                f"REWIRE_SILENT / REWIRE_LIFT{reg}", RuntimeWarning, stacklevel=3)
        elif frac >= share and layer not in warned:
            warned.add(layer)
            warnings.warn(
                f"{frac:.0%} of hidden layer {layer} did not spike in training epoch "
                f"{epoch}: silent neurons get no gradient and stay silent. Adam's first "
                "updates move every weight by about ETA; ETA_WARMUP (a few epochs of "
                "updates), a lower ETA or REWIRE_SILENT keep more of the layer",
                RuntimeWarning, stacklevel=3)


class Simulator:
    """Base of the per-benchmark simulators; subclasses supply data and network."""
    benchmark = None
    n_classes = None
    data_keys = ()      # keys load_data reads: fixed once the data are loaded

    def __init__(self, p):
        self.p = validate(p, self.benchmark)
        p = self.p
        check_run(p)
        if p["MODEL_SEED"] is None:
            # the seed this model is built with, recorded with the run; a
            # resumed run takes the one its checkpoint was built with
            kind = self._load_kind(p)
            try:
                meta = outputs.Checkpoints(p).meta(kind) if kind else None
            except (OSError, ValueError, KeyError):
                meta = None     # train()/test() say what is wrong with it
            seed = (meta or {}).get("p", {}).get("MODEL_SEED")
            p["MODEL_SEED"] = seed if seed else draw_seed()
        self.datasets = self.load_data(p)
        train = self.datasets.get("train")
        if train is None or not len(train):
            raise ValueError(f"no training samples: N_TRAIN={p['N_TRAIN']} "
                             "and the data leave none to train on")
        self.cfg = self.network_config(p)
        self.net = EventPropNetwork(self.cfg).build(reuse=not p["BUILD"])
        # data before load(): GeNN allocates the room for it there
        self._upload({**self.datasets, "train": self.training_data(p, 0)},
                     reserve=self.data_reserve(p))
        self.net.load()
        self.epoch = 0
        self.eta = p["ETA"]
        self.best = -1.0
        self.schedule = {"ema1": None, "ema2": None, "last_change": 0}

    # -- subclass hooks ----------------------------------------------------
    def load_data(self, p):
        """{"train": SpikeDataset, "validation": ..., "test": ...}."""
        raise NotImplementedError

    def network_config(self, p):
        return NetworkConfig(**self.config_kwargs(p))

    def config_kwargs(self, p):
        """NetworkConfig fields from the keys all benchmarks share."""
        def g(key, default):   # keys that only some benchmarks have
            return p[key] if key in p else default
        reg = g("REG_TYPE", "none")
        if reg == "simple" and g("AVG_SNSUM", False):
            reg = "avg"
        n_layers = g("N_HID_LAYER", 1)
        layers = []
        for li in range(n_layers):
            first = li == 0
            layers.append(HiddenLayer(
                n=p["NUM_HIDDEN"], kind=g("HIDDEN_NEURON_TYPE", "LIF"),
                tau_m=p["TAU_MEM"], tau_syn=p["TAU_SYN"],
                v_thresh=p["V_THRESH"], v_reset=p["V_RESET"],
                tau_b=g("TAU_B", 100.0), b_incr=g("B_INCR", 0.1),
                b_init=g("B_INIT", 0.0),
                w_mean=p["INPUT_HIDDEN_MEAN"] if first else g("HIDDEN_HIDDENFWD_MEAN", 0.02),
                w_std=p["INPUT_HIDDEN_STD"] if first else g("HIDDEN_HIDDENFWD_STD", 0.01),
                recurrent=g("RECURRENT", False),
                w_rec_mean=g("HIDDEN_HIDDEN_MEAN", 0.0),
                w_rec_std=g("HIDDEN_HIDDEN_STD", 0.0),
                train_tau=g("TRAIN_TAU", False),
                min_tau_m=g("MIN_TAU_M", 3.0), min_tau_syn=g("MIN_TAU_SYN", 1.0),
                reg=None if reg == "none" else reg,
                lbd_upper=g("LBD_UPPER", 5e-6), lbd_lower=g("LBD_LOWER", 1e-3),
                nu_upper=g("NU_UPPER", 2.0), rho_upper=g("RHO_UPPER", 5000.0),
                glb_upper=g("GLB_UPPER", 1e-5), pdrop=g("PDROP_HIDDEN", 0.0),
                n_max_spike=p["N_MAX_SPIKE"]))
        rec = tuple(self._pop_name(x) for x in p["REC_SPIKES"])
        return dict(
            n_in=self.n_inputs(p), hidden=layers, n_out=self.n_outputs(p),
            loss=p["LOSS_TYPE"], out_kind=g("OUTPUT_NEURON_TYPE", "LI"),
            out_tau_m=p["TAU_MEM"], out_tau_syn=p["TAU_SYN"],
            out_v_thresh=p["V_THRESH"], out_v_reset=p["V_RESET"],
            w_out_mean=p["HIDDEN_OUTPUT_MEAN"], w_out_std=p["HIDDEN_OUTPUT_STD"],
            tau0=p["TAU_0"], tau1=p["TAU_1"], alpha=p["ALPHA"],
            trial_ms=p["TRIAL_MS"], dt=p["DT_MS"], batch_size=p["N_BATCH"],
            n_max_spike_in=p["N_MAX_SPIKE"], pdrop_in=g("PDROP_INPUT", 0.0),
            train_w=g("TRAIN_W", True), train_w_out=g("TRAIN_W_OUTPUT", True),
            train_tau_out=g("TRAIN_TAU_OUTPUT", False),
            out_min_tau_m=g("MIN_TAU_M", 3.0), out_min_tau_syn=g("MIN_TAU_SYN", 1.0),
            adam_beta1=p["ADAM_BETA1"], adam_beta2=p["ADAM_BETA2"],
            adam_eps=p["ADAM_EPS"], weight_decay=p["WEIGHT_DECAY"],
            seed=self._seed(p),
            model_name=f"evp_{self.benchmark}", num_threads=p["N_THREADS"],
            backend=p["BACKEND"],
            record_spikes=rec, spk_rec_steps=p["SPK_REC_STEPS"])

    def _seed(self, p):
        """MODEL_SEED of ``p``, or the one __init__ drew when it is None."""
        seed = p["MODEL_SEED"]
        return self.p["MODEL_SEED"] if seed is None else seed

    def n_inputs(self, p):
        raise NotImplementedError

    def n_outputs(self, p):
        return self.n_classes

    @staticmethod
    def _pop_name(name):
        return {"hidden": "hidden0"}.get(name, name)

    # -- data --------------------------------------------------------------
    def training_data(self, p, epoch):
        """The training split to use in ``epoch``.

        Default: the loaded one, unchanged. Subclasses return a new data set
        (e.g. augmented afresh, seeded by the epoch) to have it uploaded
        before the epoch; validation and test data stay as loaded.
        """
        return self.datasets["train"]

    def data_reserve(self, p):
        """Room for data reserved at load(), as a multiple of the first
        upload: more where later uploads (augmented epochs) can be larger."""
        return 1.0

    def _upload(self, datasets, reserve=1.0):
        """All splits into the device's sample store; remember where each starts.

        The network converts the splits' events chunk by chunk straight into
        its input's own layout (``set_events``: int32 step + uint16 unit per
        event for the engine's event-driven input; neuron-major for real
        GeNN), without neuron-major tables or a concatenated copy. Input
        weightings (sum_weigh_input) of unchanged splits are kept.
        """
        # the fixed splits first: a new training split (augmentation) is
        # then re-uploaded alone, after them
        names = sorted((k for k, v in datasets.items() if v is not None),
                       key=lambda k: k == "train")
        if not names:
            raise ValueError("no data to upload")
        old = getattr(self, "on_device", {})
        fixed = [k for k in names if k != "train"]
        keep = (names[-1] == "train" and self.net.event_input
                and list(old)[:len(fixed)] == fixed
                and all(old[k] is datasets[k] for k in fixed)
                and getattr(self.net, "loaded", False))
        # a released data set about to leave the device comes home first
        going = [d for k, d in old.items() if not (keep and k in fixed)]
        for d in going:
            d.restore_events()
        self.base = {}
        n = 0
        for k in names:
            self.base[k] = n
            n += len(datasets[k])
        if keep and fixed:
            self.net.set_events([datasets["train"]], keep=self.base["train"])
        else:
            self.net.set_events([datasets[k] for k in names], reserve=reserve)
        if self.cfg.loss == "sum_weigh_input":
            cache = self.__dict__.setdefault("_weighting_cache", {})
            for k in list(cache):     # drop splits no longer on the device
                if k not in names or cache[k][0] is not datasets[k]:
                    del cache[k]
            g = []
            for k in names:
                hit = cache.get(k)
                if hit is None:
                    hit = (datasets[k], self._weighting(datasets[k]))
                    if k != "train":
                        cache[k] = hit
                g.append(hit[1])
            self.net.set_input_weighting(np.concatenate(g))
        self.on_device = {k: datasets[k] for k in names}
        if self.net.event_input:
            # the engine's sample store holds the events from here on
            for k in names:
                if datasets[k].held:
                    datasets[k].release_events(self._reader(k, datasets[k]))

    def _reader(self, split, ds):
        lo = self.base[split]
        return lambda: self.net.events_on_device(lo, lo + len(ds))[:2]

    def _weighting(self, ds):
        """The input weighting g (n_samples, n_steps) of one split."""
        from genn_models.weighting import input_activity_weighting_events
        tau = self.p["TAU_ACCUMULATOR"] if "TAU_ACCUMULATOR" in self.p \
            else 20.0
        return input_activity_weighting_events(ds.times, ds.offsets,
                                               self.net.n_steps, self.cfg.dt,
                                               tau)

    # -- one pass over a split -----------------------------------------------
    def _pass(self, split, p, learn, epoch, rng=None, record=None):
        """Run every sample of ``split`` once; learn after each mini-batch."""
        net, B = self.net, self.cfg.batch_size
        ds = self.on_device[split]
        idx = np.arange(len(ds))
        if learn and p["SHUFFLE"] and rng is not None:
            idx = rng.permutation(idx)
        n_trials = math.ceil(len(idx) / B)
        order = np.full((n_trials + 1) * B, -1, np.int64)
        order[:len(idx)] = idx + self.base[split]
        net.set_order(order)
        # sample ids within the split, for per-sample predictions
        local = np.where(order >= 0, order - self.base[split], -1)
        net.set_dropout(learn)
        try:
            return self._trials(net, split, p, learn, epoch, n_trials, local,
                                record, B)
        finally:
            net.set_dropout(True)       # the trained weights, unscaled

    def _trials(self, net, split, p, learn, epoch, n_trials, local, record, B):
        stats = outputs.PassStats(
            self.n_outputs(p), len(self.net.hidden),
            [self.net.pop_size[h.name] for h in self.net.hidden],
            debug=_flag(p, "DEBUG_HIDDEN_N"))
        bar = outputs.progress(n_trials + 1, f"{split} {epoch}", p)
        for k in range(n_trials + 1):
            pairs = record.neurons_due(epoch, k) if record is not None \
                and k < n_trials else None
            if pairs:
                res, values = run_trial_stepwise(net, k, pairs)
                record.add_neurons(epoch, k, values, local[k * B:(k + 1) * B])
            else:
                res = net.run_trial(k)
            if k >= 1:
                stats.add(res, local[(k - 1) * B:k * B])
                if learn:
                    _check_finite(net.reduce_gradients(), split, epoch, k - 1)
                    net.adam_step(self._lr(p))
            if k < n_trials:
                stats.add_hidden(net)
                if record is not None:
                    record.after_trial(self, epoch, k)
            bar.update(1)
            bar.set_postfix(stats.postfix())
        bar.close()
        net.end_trial()             # results of the empty closing trial
        if not learn:
            net.reduce_gradients()  # drop what evaluation accumulated
        return stats

    def _lr(self, p):
        """The learning rate of the next update: ETA as scheduled, ramped
        over the first ETA_WARMUP updates (counted by the optimiser, so a
        resumed run goes on where it stopped)."""
        n = p["ETA_WARMUP"] if "ETA_WARMUP" in p else 0
        if not n:
            return self.eta
        return self.eta * min(1.0, (self.net.adam_steps + 1) / n)

    # -- public API --------------------------------------------------------
    def train(self, p):
        """Train for N_EPOCHS epochs; evaluate on the validation split if any."""
        return self._train(p, eval_split="validation")

    def train_test(self, p):
        """Train, evaluating on the test set after every epoch."""
        return self._train(p, eval_split="test")

    def test(self, p):
        """Evaluate on the test set (after LOAD_LAST / LOAD_BEST, if set)."""
        p = self._call_params(p)
        with self._run(p, writes=p["WRITE_TO_DISK"]):
            kind = self._load_kind(p)
            if kind:
                state = outputs.Checkpoints(p).load(kind)
                self._check_checkpoint(state, p, kind, training=False)
                self._restore(state)
            record = outputs.Recorder(p, self)
            t0 = time.perf_counter()
            stats = self._pass("test", p, learn=False, epoch=self.epoch,
                               record=record)
            out = stats.summary()
            if p["TIMING"]:
                out["time_s"] = time.perf_counter() - t0
            self._pass_outputs(p, out, stats, "", "test", None)
            out["recordings"] = record.finish()
            outputs.write_test(p, out)
        return out

    def _call_params(self, p):
        """``p`` validated, with the simulator's MODEL_SEED when it is None,
        and checked against what the simulator was built with."""
        p = validate(p, self.benchmark)
        check_run(p)
        if p["MODEL_SEED"] is None:
            p["MODEL_SEED"] = self.p["MODEL_SEED"]
        self._check_structure(p)
        return p

    @staticmethod
    def _load_kind(p):
        """The checkpoint a call loads: "best" (LOAD_BEST), "last" or None."""
        if _flag(p, "LOAD_BEST"):
            return "best"
        return "last" if p["LOAD_LAST"] else None

    @contextlib.contextmanager
    def _run(self, p, writes):
        """Hold OUT_DIR/NAME.lock while a run that writes files goes on and
        clear the temporary files that interrupted writes of NAME left."""
        if not writes:
            yield
            return
        with outputs.RunLock(p):
            outputs.remove_stale_tmp(p)
            yield

    def _refuse_overwrite(self, p, kind):
        """A fresh run (not LOAD_LAST) must not replace an earlier run's files."""
        if p["LOAD_LAST"] or p["OVERWRITE"]:
            return
        found = outputs.existing_run_files(p)
        if not found:
            return
        why = ("LOAD_BEST=True continues training from that run's best epoch "
               "and would replace its later epochs and its last checkpoint; "
               if kind == "best" else "")
        raise FileExistsError(
            f"NAME={p['NAME']!r} is already a run in {p['OUT_DIR']}: "
            f"{', '.join(f.name for f in found)} exist and this run would "
            f"replace them. {why}Choose another NAME, resume that run with "
            "LOAD_LAST=True, or replace it with OVERWRITE=True")

    def _train(self, p, eval_split):
        p = self._call_params(p)
        kind = self._load_kind(p)
        writes = p["WRITE_TO_DISK"] or p["CHECKPOINT"]
        with self._run(p, writes):
            if writes:
                self._refuse_overwrite(p, kind)
            record = outputs.Recorder(p, self)  # checks REC_NEURONS before any file
            ckpt = outputs.Checkpoints(p)
            if kind:
                state = ckpt.load(kind)
                p = self._check_checkpoint(state, p, kind, training=True)
                self._restore(state)
                if p["WRITE_TO_DISK"]:
                    outputs.truncate_epochs(p, self.epoch)
                record.resume(self.epoch)
            else:
                self.eta = p["ETA"]
                if writes and p["OVERWRITE"]:
                    outputs.remove_run_files(p)
            self._run_p = p
            log = outputs.ResultLog(p, resume=kind is not None)
            confusions = outputs.ConfusionLog(p, resume=kind is not None)
            return self._epochs(p, eval_split, ckpt, log, confusions, record)

    def _epochs(self, p, eval_split, ckpt, log, confusions, record):
        history = []
        # the best checkpoint (and the learning-rate schedule) follow the
        # validation accuracy; the test set never chooses anything. With no
        # validation split they follow the training accuracy (row "best_on").
        has_val = self.datasets.get("validation") is not None
        evals = ["validation"] if has_val else []
        if eval_split == "test" and self.datasets.get("test") is not None:
            evals.append("test")
        select = "val_acc" if has_val else "train_acc"
        warned_silent = set()         # layers said to be half silent, once per run
        while self.epoch < p["N_EPOCHS"]:
            epoch = self.epoch
            t0 = time.perf_counter()
            train_ds = self.training_data(p, epoch)
            if train_ds is not self.on_device.get("train"):
                self._upload({**self.on_device, "train": train_ds})
            rng = _rng(p["TRAIN_DATA_SEED"], epoch)
            train = self._pass("train", p, learn=True, epoch=epoch, rng=rng,
                               record=record)
            row = {"epoch": epoch, **train.summary("train_")}
            _warn_silent(train, epoch, p["REG_TYPE"] if "REG_TYPE" in p else "none",
                         warned_silent)
            evs = {}
            for split in evals:
                evs[split] = self._pass(split, p, learn=False, epoch=epoch)
                row.update(evs[split].summary(_PREFIX[split]))
            if p["TIMING"]:
                row["time_s"] = time.perf_counter() - t0
            row["eta"] = self.eta
            self.epoch += 1
            self._schedule(p, row)
            self.end_of_epoch(p, epoch, train, row)
            self._pass_outputs(p, row, train, "train_", "train", epoch,
                               confusions)
            for split, ev in evs.items():
                self._pass_outputs(p, row, ev, _PREFIX[split], split, epoch,
                                   confusions)
            score = row[select]
            improved = score > self.best
            if improved:        # before "last" is saved: it records the best
                self.best = score
            row["best_on"] = select
            history.append(row)
            log.write(row)
            if p["CHECKPOINT"]:
                state = self._state()
                ckpt.save("last", state)
                if improved:
                    ckpt.save("best", state)
            record.after_epoch(self, epoch)
            outputs.training_plot(p, history if not log.previous else
                                  log.previous + history)
        confusions.plot_last()
        return {"history": history, "recordings": record.finish(),
                "final": history[-1] if history else None}

    def end_of_epoch(self, p, epoch, train_stats, row):
        """Called after each training epoch (and its evaluation), before the
        checkpoint is saved; subclasses may change the network here (e.g.
        rewire silent neurons) and add entries to ``row``."""

    def _pass_outputs(self, p, row, stats, prefix, split, epoch,
                      confusions=None):
        """COLLECT_CONFUSION / REC_PREDICTIONS of one pass into ``row`` and files."""
        if _flag(p, "COLLECT_CONFUSION"):
            row[f"{prefix}confusion"] = stats.confusion.copy()
            if confusions is not None:
                confusions.add(split, epoch, stats.confusion)
            elif p["WRITE_TO_DISK"]:
                outputs.save_confusion(p, split, stats.confusion)
        if _flag(p, "REC_PREDICTIONS"):
            preds, scores = stats.prediction_array(), stats.score_array()
            row[f"{prefix}predictions"] = preds
            row[f"{prefix}scores"] = scores
            outputs.write_predictions(p, split, epoch, preds, scores)

    # -- learning-rate schedule ---------------------------------------------
    def _schedule(self, p, row):
        """ETA_DECAY every epoch; with EMA_ALPHA1/2, as genn_eventprop: EMAs
        (starting at 0) of the validation accuracy (the training accuracy
        when there is no validation split); when the fast one is not above
        the slow one and ETA has been fixed for more than MIN_EPOCH_ETA_FIXED
        epochs, multiply ETA by ETA_FAC. (Not the test accuracy, which
        genn_eventprop's train_test used: the test set must choose nothing.)"""
        self.eta *= (p["ETA_DECAY"] if "ETA_DECAY" in p else 1.0)
        if "EMA_ALPHA1" not in p:
            return
        acc = row.get("val_acc", row["train_acc"])    # never the test set
        s, epoch = self.schedule, row["epoch"]
        a1, a2 = p["EMA_ALPHA1"], p["EMA_ALPHA2"]
        s["ema1"] = a1 * (s["ema1"] or 0.0) + (1 - a1) * acc
        s["ema2"] = a2 * (s["ema2"] or 0.0) + (1 - a2) * acc
        if epoch - s["last_change"] > p["MIN_EPOCH_ETA_FIXED"] and \
                s["ema1"] <= s["ema2"]:
            self.eta *= p["ETA_FAC"]
            s["last_change"] = epoch
        row["ema_fast"], row["ema_slow"] = s["ema1"], s["ema2"]

    # -- checkpoints ---------------------------------------------------------
    def _state(self):
        # "p": the parameters of the run (the call's, MODEL_SEED as used)
        p = getattr(self, "_run_p", None) or self.p
        return {"arrays": self.net.state_dict(),
                "meta": {"epoch": self.epoch, "eta": self.eta,
                         "best": self.best, "schedule": self.schedule,
                         "timestep": int(self.net.model.timestep),
                         "p": dict(p)}}

    def _untrained_taus(self):
        """Per-neuron taus drawn at initialisation and never trained: the
        checkpoints of earlier versions lack them."""
        return [k for k in self.net.per_neuron_taus() if k not in self.net.trained]

    def _restore(self, state):
        self.net.load_state_dict(state["arrays"],
                                 allow_missing=self._untrained_taus())
        meta = state["meta"]
        self.epoch = meta["epoch"]
        self.eta = meta["eta"]
        self.best = meta["best"]
        self.schedule = meta["schedule"]
        self.net.model.timestep = meta["timestep"]

    def _check_checkpoint(self, state, p, kind, training):
        """Compare the parameters a checkpoint was trained with (meta "p")
        with this call's: a different network (STRUCTURE_KEYS, SHAPE_KEYS,
        array shapes) cannot continue from it: ValueError naming each key
        and array (a test only on the keys that change what the network
        computes). When training, other changed keys (ETA, N_EPOCHS, ...)
        are used as given, with a warning, except ETA: the checkpoint's
        learning rate (ETA as scheduled so far) goes on, and the returned
        parameters (written to NAME.json) hold the checkpoint's ETA."""
        old = state["meta"].get("p") or {}
        name = f"the {kind} checkpoint of NAME={p['NAME']!r}"
        free = RESUME_QUIET_KEYS if training else TEST_FREE_KEYS
        struct = [k for k in STRUCTURE_KEYS + SHAPE_KEYS if k not in free]
        bad = [f"{k}: {old[k]!r} in the checkpoint, {p[k]!r} now"
               for k in struct if k in old and k in p and old[k] != p[k]
               and not (k == "MODEL_SEED" and not old[k])]   # was random
        have = {k: np.shape(v) for k, v in self.net.state_dict().items()}
        got = {k: np.shape(v) for k, v in state["arrays"].items()}
        bad += [f"array {k}: shape {got[k]} in the checkpoint, {have[k]} now"
                for k in have if k in got and got[k] != have[k]]
        old_format = [k for k in self._untrained_taus() if k not in got]
        bad += [f"array {k}: not in the checkpoint" for k in have
                if k not in got and k not in old_format]
        bad += [f"array {k}: in the checkpoint, not in this network"
                for k in got if k not in have]
        if bad:
            raise ValueError(
                f"{name} is of another network than these parameters "
                "describe:\n  " + "\n  ".join(bad) + "\nUse the parameters "
                "it was trained with (its NAME.json), or train a new run "
                "under another NAME")
        if old_format:
            warnings.warn(
                f"{name} lacks the untrained per-neuron taus {old_format} (it was "
                "written by an earlier version): they are drawn afresh from "
                f"MODEL_SEED={p['MODEL_SEED']!r}, which gives the run's own values "
                "only if that is the seed the run was built with", stacklevel=4)
        if not training:
            return p
        changed = [k for k in p if k in old and k not in struct
                   and k not in RESUME_QUIET_KEYS and old[k] != p[k]]
        if not changed:
            return p
        lines = []
        for k in changed:
            if k == "ETA":
                lines.append(
                    f"ETA: {old[k]!r} in the checkpoint, {p[k]!r} now; the "
                    f"checkpoint's scheduled learning rate {state['meta']['eta']!r}"
                    f" is used (NAME.json records ETA={old[k]!r})")
            else:
                lines.append(f"{k}: {old[k]!r} in the checkpoint, {p[k]!r} "
                             f"now; {p[k]!r} is used")
        warnings.warn(f"resuming from {name} with other parameters:\n  "
                      + "\n  ".join(lines), stacklevel=4)
        if "ETA" in changed:
            p = p.copy()
            p["ETA"] = old["ETA"]
        return p

    def _check_structure(self, p):
        keys = STRUCTURE_KEYS + tuple(self.data_keys)
        diff = [k for k in keys if k in p and p[k] != self.p[k]
                and not (k == "MODEL_SEED" and p[k] is None)]
        if diff:
            raise ValueError(f"{diff} differ from the parameters this "
                             f"simulator was built with; build a new "
                             f"{type(self).__name__} for a different network "
                             f"or data")
