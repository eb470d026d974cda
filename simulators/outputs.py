"""What a training run leaves behind: statistics, result files, checkpoints,
recordings and plots. Files are CSV/JSON/NPZ that pandas and numpy read."""
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np


def _out(p, suffix):
    d = Path(p["OUT_DIR"])
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{p['NAME']}{suffix}"


def _atomic_write(path, write):
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _save_npy(path, arr):
    def write(tmp):
        with open(tmp, "wb") as f:   # a file object: np.save would add ".npy" to a name
            np.save(f, arr)
    _atomic_write(path, write)


def progress(total, desc, p):
    """A tqdm bar over trials (quiet unless VERBOSE or on a terminal)."""
    from tqdm.auto import tqdm
    disable = not (("VERBOSE" in p and p["VERBOSE"]) or sys.stderr.isatty())
    return tqdm(total=total, desc=desc, leave=False, disable=disable)


class PassStats:
    """Accuracy, loss, confusion and hidden activity of one pass over a split."""

    def __init__(self, n_classes, n_layers, layer_sizes, debug=False):
        self.n_classes = n_classes
        self.loss = 0.0
        self.correct = 0
        self.n = 0
        self.confusion = np.zeros((n_classes, n_classes), np.int64)  # [true, predicted]
        self.predictions = []       # (sample id in the split, label, prediction)
        self.spike_sum = [np.zeros(s) for s in layer_sizes]
        self.hidden_trials = 0
        self.debug = debug          # DEBUG_HIDDEN_N: per-sample layer totals too
        self.sample_totals = [[] for _ in layer_sizes]

    def add(self, res, sample_ids):
        v = res["valid"]
        self.loss += float(res["loss"][v].sum())
        self.correct += int(res["correct"][v].sum())
        self.n += int(v.sum())
        lab, pred = res["label"][v], res["pred"][v]
        ok = pred >= 0
        np.add.at(self.confusion, (lab[ok], pred[ok]), 1)
        self.predictions += list(zip(np.asarray(sample_ids)[v].tolist(),
                                     lab.tolist(), pred.tolist()))

    def add_hidden(self, net):
        """Spike counts per hidden neuron of the trial that just ran."""
        for l, pop in enumerate(net.hidden):
            counts = np.asarray(pop.vars["n_fwd"].view).reshape(
                net.cfg.batch_size, -1)
            label = np.asarray(net.out.vars["label"].view).reshape(
                net.cfg.batch_size, -1)[:, 0]
            self.spike_sum[l] += counts[label >= 0].sum(axis=0)
            if self.debug:
                self.sample_totals[l].append(counts[label >= 0].sum(axis=1))
            if l == 0:
                self.hidden_trials += int((label >= 0).sum())

    def postfix(self):
        if not self.n:
            return {}
        return {"acc": f"{self.correct / self.n:.3f}",
                "loss": f"{self.loss / self.n:.3f}"}

    def summary(self, prefix=""):
        n = max(self.n, 1)
        out = {f"{prefix}acc": self.correct / n, f"{prefix}loss": self.loss / n,
               f"{prefix}n": self.n}
        trials = max(self.hidden_trials, 1)
        for l, s in enumerate(self.spike_sum):
            out[f"{prefix}hid{l}_rate"] = float(s.sum() / trials / len(s))
            out[f"{prefix}hid{l}_silent"] = float(np.mean(s == 0))
            if self.debug:
                out.update({f"{prefix}hid{l}_{k}": v for k, v in
                            self.hidden_debug(l).items()})
        return out

    def hidden_debug(self, layer):
        """DEBUG_HIDDEN_N statistics of one hidden layer: spikes per neuron
        per sample (mean = rate, max over neurons, fraction silent) and
        spikes of the whole layer per sample (mean, std, min, max)."""
        trials = max(self.hidden_trials, 1)
        per_neuron = self.spike_sum[layer] / trials
        tot = np.concatenate(self.sample_totals[layer]) \
            if self.sample_totals[layer] else np.zeros(1)
        return {"neuron_rate_mean": float(per_neuron.mean()),
                "neuron_rate_max": float(per_neuron.max()),
                "silent_frac": float(np.mean(self.spike_sum[layer] == 0)),
                "n_silent": int(np.sum(self.spike_sum[layer] == 0)),
                "sample_spikes_mean": float(tot.mean()),
                "sample_spikes_std": float(tot.std()),
                "sample_spikes_min": float(tot.min()),
                "sample_spikes_max": float(tot.max())}

    def silent(self, layer):
        """Boolean mask of the neurons of ``layer`` that never spiked in this pass."""
        return self.spike_sum[layer] == 0

    def prediction_array(self):
        """(n, 3) int array of (sample id in the split, label, prediction);
        prediction -1 where no output neuron responded."""
        return np.array(self.predictions, np.int64).reshape(-1, 3)


class ResultLog:
    """One row per epoch in NAME_results.txt (appended) and NAME_results.csv."""

    def __init__(self, p, resume=False):
        self.p = p
        self.on = p["WRITE_TO_DISK"]
        self.previous = []
        if not self.on:
            return
        self.txt = _out(p, "_results.txt")
        self.csv = _out(p, "_results.csv")
        if resume and self.csv.exists():
            import pandas as pd
            self.previous = pd.read_csv(self.csv).to_dict("records")
        elif self.csv.exists():
            self.csv.unlink()
        _atomic_write(_out(p, ".json"),
                      lambda f: f.write_text(json.dumps(dict(p), indent=1)))

    def write(self, row):
        if not self.on:
            return
        scalars = {k: v for k, v in row.items() if np.isscalar(v)}
        new = not self.csv.exists()
        with open(self.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(scalars))
            if new:
                w.writeheader()
            w.writerow(scalars)
        with open(self.txt, "a") as f:
            if f.tell() == 0:
                f.write("# " + " ".join(scalars) + "\n")
            f.write(" ".join(f"{v:.6g}" if isinstance(v, float) else str(v)
                             for v in scalars.values()) + "\n")


class Checkpoints:
    """NAME_checkpoint_{last,best}.npz: arrays plus a JSON meta record."""

    def __init__(self, p):
        self.p = p

    def path(self, kind):
        return _out(self.p, f"_checkpoint_{kind}.npz")

    def save(self, kind, state):
        arrays = dict(state["arrays"])
        arrays["__meta__"] = np.array(json.dumps(state["meta"]))

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        _atomic_write(self.path(kind), write)

    def load(self, kind):
        path = self.path(kind)
        if not path.exists():
            raise FileNotFoundError(
                f"no {kind} checkpoint at {path}: train with CHECKPOINT=True "
                f"and the same OUT_DIR and NAME first, or unset LOAD_"
                f"{kind.upper()}")
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            meta = json.loads(str(z["__meta__"]))
        arrays["adam_t"] = int(arrays["adam_t"])
        return {"arrays": arrays, "meta": meta}


class Recorder:
    """REC_SPIKES / REC_SYNAPSES / W_OUTPUT_EPOCH_TRIAL and weight reports."""

    def __init__(self, p, sim):
        self.p = p
        self.sim = sim
        self.spikes = {}
        self.synapses = {}
        self.weights = {}
        self.taus = {}
        self.neurons = {}       # "pop.var" -> [{"epoch", "trial", "samples", "values"}]
        pops = getattr(sim.net, "populations", {})
        for pop, var in p["REC_NEURONS"]:   # fail before training, not mid-epoch
            name = sim._pop_name(pop)
            if name not in pops:
                raise ValueError(f"REC_NEURONS: no population '{pop}'; choose from "
                                 f"{sorted(pops)} ('hidden' = 'hidden0')")
            if var not in pops[name].vars:
                raise ValueError(f"REC_NEURONS: population '{pop}' has no variable "
                                 f"'{var}'; it has {sorted(pops[name].vars)}")

    @staticmethod
    def _at(pairs, epoch, trial):
        return [epoch, trial] in [list(x) for x in pairs]

    def neurons_due(self, epoch, trial):
        """[(population, variable)] to record every step of this trial, or []."""
        p = self.p
        if not p["REC_NEURONS"] or not self._at(p["REC_NEURONS_EPOCH_TRIAL"],
                                                epoch, trial):
            return []
        return [(self.sim._pop_name(pop), var) for pop, var in p["REC_NEURONS"]]

    def add_neurons(self, epoch, trial, values, samples):
        """Store what run_trial_stepwise recorded: values[(pop, var)] has
        shape (n_steps, batch, neurons); ``samples`` are the batch slots'
        sample ids in the split (-1: empty slot)."""
        names = {self.sim._pop_name(pop): pop for pop, _ in self.p["REC_NEURONS"]}
        for (pop, var), a in values.items():
            self.neurons.setdefault(f"{names.get(pop, pop)}.{var}", []).append(
                {"epoch": epoch, "trial": trial,
                 "samples": np.asarray(samples).copy(), "values": a})

    def after_trial(self, sim, epoch, trial):
        p, net = self.p, sim.net
        if p["REC_SPIKES"] and self._at(p["REC_SPIKES_EPOCH_TRIAL"], epoch,
                                        trial):
            for name in p["REC_SPIKES"]:
                pop = sim._pop_name(name)
                self.spikes.setdefault(name, []).append(
                    {"epoch": epoch, "trial": trial,
                     "spikes": net.spikes(pop)})
        if p["REC_SYNAPSES"] and self._at(p["REC_SYNAPSES_EPOCH_TRIAL"], epoch,
                                          trial):
            for syn, var in p["REC_SYNAPSES"]:
                name = SYNAPSE_NAMES.get(syn, syn)
                self.synapses.setdefault(f"{syn}.{var}", []).append(
                    (epoch, trial, net.get(name) if var == "w"
                     else np.array(net.synapses[name].vars[var].view)))
        if self._weights_due(epoch, trial):
            self.weights[(epoch, trial)] = {k: net.get(k)
                                            for k in net.synapses}
        tau_pairs = p["TAU_OUTPUT_EPOCH_TRIAL"] if "TAU_OUTPUT_EPOCH_TRIAL" in p else []
        if tau_pairs and self._at(tau_pairs, epoch, trial):
            self.taus[(epoch, trial)] = _per_neuron_taus(net)

    def _weights_due(self, epoch, trial):
        p = self.p
        if p["W_OUTPUT_EPOCH_TRIAL"]:
            return self._at(p["W_OUTPUT_EPOCH_TRIAL"], epoch, trial)
        if not p["WRITE_TO_DISK"]:
            return False
        return (epoch % max(1, p["W_EPOCH_INTERVAL"]) == 0
                and trial % max(1, p["W_REPORT_INTERVAL"]) == 0)

    def after_epoch(self, sim, epoch):
        pass

    def finish(self):
        out = {"spikes": self.spikes, "synapses": self.synapses,
               "weights": self.weights, "taus": self.taus,
               "neurons": self.neurons}
        if self.p["WRITE_TO_DISK"]:
            for name, recs in self.spikes.items():
                arrays = {}
                for r in recs:
                    for b, (t, i) in enumerate(r["spikes"]):
                        key = f"e{r['epoch']}_t{r['trial']}_b{b}"
                        arrays[key + "_t"], arrays[key + "_id"] = t, i
                np.savez(_out(self.p, f"_spikes_{name}.npz"), **arrays)
            for (e, t), ws in self.weights.items():
                np.savez(_out(self.p, f"_w_e{e}_t{t}.npz"), **ws)
            for (e, t), ws in self.taus.items():
                np.savez(_out(self.p, f"_tau_e{e}_t{t}.npz"), **ws)
            for key, recs in self.neurons.items():
                arrays = {}
                for r in recs:
                    tag = f"e{r['epoch']}_t{r['trial']}"
                    arrays[tag] = r["values"]
                    arrays[tag + "_samples"] = r["samples"]
                np.savez(_out(self.p, f"_neurons_{key.replace('.', '_')}.npz"),
                         **arrays)
            for key, recs in self.synapses.items():
                np.savez(_out(self.p, f"_syn_{key}.npz"),
                         **{f"e{e}_t{t}": a for e, t, a in recs})
            if self.p["FANCY_PLOTS"]:
                raster_plots(self.p, self.spikes)
        return out


SYNAPSE_NAMES = {"in_to_hid": "w_in0", "hid_to_out": "w_out",
                 "hid_to_hid": "w_rec0"}


def _per_neuron_taus(net):
    """Every per-neuron tau (trained or hetLIF/hetLI): name -> array."""
    names = [f"{k}{l}" for l in range(len(net.hidden)) for k in ("tau_m", "tau_syn")]
    out = {}
    for name in names + ["tau_m_out", "tau_syn_out"]:
        try:
            out[name] = net.get(name)
        except KeyError:
            pass
    return out


class ConfusionLog:
    """COLLECT_CONFUSION during training: NAME_confusion_{split}_epochs.npy
    holds one [true, predicted] matrix per epoch (shape (epochs, C, C)),
    rewritten after every epoch; plot_last() draws the latest of each split
    to NAME_confusion_{split}_epochs.png."""

    def __init__(self, p, resume=False):
        self.p = p
        self.on = p["WRITE_TO_DISK"] and "COLLECT_CONFUSION" in p \
            and p["COLLECT_CONFUSION"]
        self.mats = {}
        self.resume = resume

    def add(self, split, epoch, confusion):
        if not self.on:
            return
        if split not in self.mats:
            self.mats[split] = []
            path = _out(self.p, f"_confusion_{split}_epochs.npy")
            if self.resume and path.exists():
                self.mats[split] = list(np.load(path)[:epoch])
        self.mats[split].append(np.asarray(confusion))
        _save_npy(_out(self.p, f"_confusion_{split}_epochs.npy"),
                  np.stack(self.mats[split]))

    def plot_last(self):
        for split, mats in self.mats.items():
            confusion_plot(self.p, mats[-1], f"{split}_epochs")


def save_confusion(p, tag, confusion):
    """NAME_confusion_{tag}.npy and .png of one pass (e.g. the test)."""
    _save_npy(_out(p, f"_confusion_{tag}.npy"), np.asarray(confusion))
    confusion_plot(p, confusion, tag)


def write_predictions(p, split, epoch, preds):
    """REC_PREDICTIONS: rows (epoch, id, label, prediction), ``id`` the
    sample's index in the split; training epochs are appended to
    NAME_predictions_{split}_epochs.csv, a test pass (epoch None) writes
    NAME_predictions_{split}.csv with an empty epoch column."""
    if not p["WRITE_TO_DISK"]:
        return
    path = _out(p, f"_predictions_{split}.csv" if epoch is None
                else f"_predictions_{split}_epochs.csv")
    fresh = epoch is None or epoch == 0 or not path.exists()
    with open(path, "w" if fresh else "a", newline="") as f:
        w = csv.writer(f)
        if fresh:
            w.writerow(["epoch", "id", "label", "prediction"])
        e = "" if epoch is None else epoch
        w.writerows([e, *r] for r in np.asarray(preds).tolist())


def write_test(p, out):
    if not p["WRITE_TO_DISK"]:
        return
    scalars = {k: v for k, v in out.items() if np.isscalar(v)}
    _atomic_write(_out(p, "_test.json"),
                  lambda f: f.write_text(json.dumps(scalars, indent=1)))


def _pyplot():
    import matplotlib
    if not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def training_plot(p, history):
    """Accuracy and loss curves, every TRAINING_PLOT_INTERVAL epochs."""
    if not (p["TRAINING_PLOT"] and p["WRITE_TO_DISK"] and history):
        return
    if len(history) % max(1, p["TRAINING_PLOT_INTERVAL"]):
        return
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ep = [r["epoch"] for r in history]
    for key in [k for k in history[-1] if k.endswith("_acc")]:
        a1.plot(ep, [r.get(key, np.nan) for r in history], label=key)
    for key in [k for k in history[-1] if k.endswith("_loss")]:
        a2.plot(ep, [r.get(key, np.nan) for r in history], label=key)
    a1.set_xlabel("epoch"), a1.set_ylabel("accuracy"), a1.legend()
    a2.set_xlabel("epoch"), a2.set_ylabel("loss"), a2.legend()
    fig.tight_layout()
    fig.savefig(_out(p, "_training.png"), dpi=100)
    plt.close(fig)


def raster_plots(p, spikes):
    plt = _pyplot()
    for name, recs in spikes.items():
        for r in recs:
            t, i = r["spikes"][0]
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.plot(t, i, "|", ms=3)
            ax.set_xlabel("time (ms)"), ax.set_ylabel(f"{name} neuron")
            ax.set_title(f"epoch {r['epoch']} trial {r['trial']} (batch 0)")
            fig.tight_layout()
            fig.savefig(_out(p, f"_raster_{name}_e{r['epoch']}_t{r['trial']}.png"),
                        dpi=100)
            plt.close(fig)


def confusion_plot(p, confusion, tag):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(confusion, cmap="viridis")
    ax.set_xlabel("predicted"), ax.set_ylabel("true")
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(_out(p, f"_confusion_{tag}.png"), dpi=100)
    plt.close(fig)
