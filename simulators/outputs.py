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


def progress(total, desc, p):
    """A tqdm bar over trials (quiet unless VERBOSE or on a terminal)."""
    from tqdm.auto import tqdm
    disable = not (("VERBOSE" in p and p["VERBOSE"]) or sys.stderr.isatty())
    return tqdm(total=total, desc=desc, leave=False, disable=disable)


class PassStats:
    """Accuracy, loss, confusion and hidden activity of one pass over a split."""

    def __init__(self, n_classes, n_layers, layer_sizes):
        self.n_classes = n_classes
        self.loss = 0.0
        self.correct = 0
        self.n = 0
        self.confusion = np.zeros((n_classes, n_classes), np.int64)
        self.predictions = []
        self.spike_sum = [np.zeros(s) for s in layer_sizes]
        self.hidden_trials = 0

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
        return out


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

    @staticmethod
    def _at(pairs, epoch, trial):
        return [epoch, trial] in [list(x) for x in pairs]

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
            self.taus[(epoch, trial)] = {
                k: net.get(k) for k in net.trained if k.startswith("tau")}

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
               "weights": self.weights, "taus": self.taus}
        if self.p["WRITE_TO_DISK"]:
            for name, recs in self.spikes.items():
                arrays = {}
                for r in recs:
                    for b, (t, i) in enumerate(r["spikes"]):
                        key = f"e{r['epoch']}_t{r['trial']}_b{b}"
                        arrays[key + "_t"], arrays[key + "_id"] = t, i
                np.savez(_out(self.p, f"_spikes_{name}.npz"), **arrays)
            for (e, t), ws in list(self.weights.items()) + list(self.taus.items()):
                np.savez(_out(self.p, f"_w_e{e}_t{t}.npz"), **ws)
            for key, recs in self.synapses.items():
                np.savez(_out(self.p, f"_syn_{key}.npz"),
                         **{f"e{e}_t{t}": a for e, t, a in recs})
            if self.p["FANCY_PLOTS"]:
                raster_plots(self.p, self.spikes)
        return out


SYNAPSE_NAMES = {"in_to_hid": "w_in0", "hid_to_out": "w_out",
                 "hid_to_hid": "w_rec0"}


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
