"""The training loop every benchmark shares.

A simulator is built from a parameter dict ``p`` (validated against its
benchmark's table); ``train(p)``, ``test(p)`` and ``train_test(p)`` run
epochs of trials on the EventProp network (genn_models.network). Data of all
splits are on the device at once and each trial's samples are picked there
from an order array, so shuffling costs no re-upload.
"""
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from params import validate
from simulators.datasets.spikes import SpikeDataset

from . import outputs

# keys that change the network; the others may differ between calls
STRUCTURE_KEYS = (
    "DT_MS", "TRIAL_MS", "N_BATCH", "NUM_HIDDEN", "N_HID_LAYER", "RECURRENT",
    "HIDDEN_NEURON_TYPE", "OUTPUT_NEURON_TYPE", "LOSS_TYPE", "TRAIN_TAU",
    "TRAIN_TAU_OUTPUT", "TRAIN_W", "TRAIN_W_OUTPUT", "REG_TYPE", "AVG_SNSUM",
    "N_MAX_SPIKE", "MODEL_SEED", "PDROP_INPUT", "PDROP_HIDDEN", "REC_SPIKES",
    "N_INPUT_DELAY")


class Simulator:
    """Base of the per-benchmark simulators; subclasses supply data and network."""
    benchmark = None
    n_classes = None

    def __init__(self, p):
        self.p = validate(p, self.benchmark)
        p = self.p
        self.datasets = self.load_data(p)
        self.cfg = self.network_config(p)
        self.net = EventPropNetwork(self.cfg).build().load()
        self._upload(self.datasets)
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
            adam_beta1=p["ADAM_BETA1"], adam_beta2=p["ADAM_BETA2"],
            adam_eps=p["ADAM_EPS"], seed=p["MODEL_SEED"] or 0,
            model_name=f"evp_{self.benchmark}", num_threads=p["N_THREADS"],
            record_spikes=rec)

    def n_inputs(self, p):
        raise NotImplementedError

    def n_outputs(self, p):
        return self.n_classes

    @staticmethod
    def _pop_name(name):
        return {"hidden": "hidden0"}.get(name, name)

    # -- data --------------------------------------------------------------
    def _upload(self, datasets):
        """All splits into the device's sample store; remember where each starts."""
        names = [k for k, v in datasets.items() if v is not None]
        self.base = {}
        n = 0
        for k in names:
            self.base[k] = n
            n += len(datasets[k])
        allds = SpikeDataset.concatenate([datasets[k] for k in names])
        start, end, times = allds.to_neuron_major()
        self.net.set_data(start, end, times, allds.labels)

    # -- one pass over a split -----------------------------------------------
    def _pass(self, split, p, learn, epoch, rng=None, record=None):
        """Run every sample of ``split`` once; learn after each mini-batch."""
        net, B = self.net, self.cfg.batch_size
        ds = self.datasets[split]
        idx = np.arange(len(ds))
        if learn and p["SHUFFLE"] and rng is not None:
            idx = rng.permutation(idx)
        n_trials = math.ceil(len(idx) / B)
        order = np.full((n_trials + 1) * B, -1, np.int64)
        order[:len(idx)] = idx + self.base[split]
        net.set_order(order)
        stats = outputs.PassStats(self.n_outputs(p), len(self.net.hidden),
                                  [h.size for h in self.net.hidden])
        bar = outputs.progress(n_trials + 1, f"{split} {epoch}", p)
        for k in range(n_trials + 1):
            res = net.run_trial(k)
            if k >= 1:
                stats.add(res, order[(k - 1) * B:k * B])
                if learn:
                    net.reduce_gradients()
                    net.adam_step(self.eta)
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

    # -- public API --------------------------------------------------------
    def train(self, p):
        """Train for N_EPOCHS epochs; evaluate on the validation split if any."""
        return self._train(p, eval_split="validation")

    def train_test(self, p):
        """Train, evaluating on the test set after every epoch."""
        return self._train(p, eval_split="test")

    def test(self, p):
        """Evaluate on the test set (after LOAD_LAST / LOAD_BEST, if set)."""
        p = validate(p, self.benchmark)
        self._check_structure(p)
        ckpt = outputs.Checkpoints(p)
        if p["LOAD_LAST"] or ("LOAD_BEST" in p and p["LOAD_BEST"]):
            self._restore(ckpt.load("best" if "LOAD_BEST" in p and p["LOAD_BEST"] else "last"))
        record = outputs.Recorder(p, self)
        t0 = time.perf_counter()
        stats = self._pass("test", p, learn=False, epoch=self.epoch,
                           record=record)
        out = stats.summary()
        out["time_s"] = time.perf_counter() - t0
        out["recordings"] = record.finish()
        outputs.write_test(p, out)
        return out

    def _train(self, p, eval_split):
        p = validate(p, self.benchmark)
        self._check_structure(p)
        ckpt = outputs.Checkpoints(p)
        if p["LOAD_LAST"] or ("LOAD_BEST" in p and p["LOAD_BEST"]):
            self._restore(ckpt.load("best" if "LOAD_BEST" in p and p["LOAD_BEST"] else "last"))
        else:
            self.eta = p["ETA"]
        log = outputs.ResultLog(p, resume=p["LOAD_LAST"])
        record = outputs.Recorder(p, self)
        history = []
        has_eval = self.datasets.get(eval_split) is not None
        while self.epoch < p["N_EPOCHS"]:
            epoch = self.epoch
            t0 = time.perf_counter()
            rng = np.random.default_rng([p["TRAIN_DATA_SEED"], epoch])
            train = self._pass("train", p, learn=True, epoch=epoch, rng=rng,
                               record=record)
            row = {"epoch": epoch, **train.summary("train_")}
            if has_eval:
                ev = self._pass(eval_split, p, learn=False, epoch=epoch)
                row.update(ev.summary(
                    "val_" if eval_split == "validation" else "test_"))
            row["time_s"] = time.perf_counter() - t0
            row["eta"] = self.eta
            self.epoch += 1
            self._schedule(p, row)
            history.append(row)
            log.write(row)
            score = row.get("val_acc", row.get("test_acc", row["train_acc"]))
            if p["CHECKPOINT"]:
                ckpt.save("last", self._state())
                if score > self.best:
                    self.best = score
                    ckpt.save("best", self._state())
            else:
                self.best = max(self.best, score)
            record.after_epoch(self, epoch)
            outputs.training_plot(p, history if not log.previous else
                                  log.previous + history)
        return {"history": history, "recordings": record.finish(),
                "final": history[-1] if history else None}

    # -- learning-rate schedule ---------------------------------------------
    def _schedule(self, p, row):
        """ETA_DECAY every epoch; with EMA_ALPHA1/2, cut ETA by ETA_FAC when
        the fast average of training accuracy falls below the slow one."""
        self.eta *= (p["ETA_DECAY"] if "ETA_DECAY" in p else 1.0)
        if "EMA_ALPHA1" not in p:
            return
        acc, s = row["train_acc"], self.schedule
        a1, a2 = p["EMA_ALPHA1"], p["EMA_ALPHA2"]
        s["ema1"] = acc if s["ema1"] is None else a1 * s["ema1"] + (1 - a1) * acc
        s["ema2"] = acc if s["ema2"] is None else a2 * s["ema2"] + (1 - a2) * acc
        if s["ema1"] < s["ema2"] and \
                self.epoch - s["last_change"] >= p["MIN_EPOCH_ETA_FIXED"]:
            self.eta *= p["ETA_FAC"]
            s["last_change"] = self.epoch

    # -- checkpoints ---------------------------------------------------------
    def _state(self):
        return {"arrays": self.net.state_dict(),
                "meta": {"epoch": self.epoch, "eta": self.eta,
                         "best": self.best, "schedule": self.schedule,
                         "timestep": int(self.net.model.timestep),
                         "p": dict(self.p)}}

    def _restore(self, state):
        self.net.load_state_dict(state["arrays"])
        meta = state["meta"]
        self.epoch = meta["epoch"]
        self.eta = meta["eta"]
        self.best = meta["best"]
        self.schedule = meta["schedule"]
        self.net.model.timestep = meta["timestep"]

    def _check_structure(self, p):
        diff = [k for k in STRUCTURE_KEYS if k in p and p[k] != self.p[k]]
        if diff:
            raise ValueError(f"{diff} differ from the parameters this "
                             f"simulator was built with; build a new "
                             f"{type(self).__name__} for a different network")
