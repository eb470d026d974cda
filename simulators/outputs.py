"""What a training run leaves behind: statistics, result files, checkpoints,
recordings and plots. Files are CSV/JSON/NPZ that pandas and numpy read."""
import csv
import io
import json
import os
import socket
import sys
import time
import warnings
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
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_text_atomic(path, text, newline=None):
    def write(tmp):
        with open(tmp, "w", newline=newline) as f:
            f.write(text)
    _atomic_write(path, write)


# -- one run per NAME ---------------------------------------------------------

# the files that make up a training run: a new run must not write into these
# unless it resumes that run (LOAD_LAST) or replaces it (OVERWRITE)
RUN_FILES = ("_results.csv", "_results.txt", ".json", "_checkpoint_last.npz",
             "_checkpoint_best.npz")
# replaced with the run (OVERWRITE=True): the above and what belongs to them
_SPLITS = ("train", "validation", "test")
REPLACED_FILES = RUN_FILES + ("_test.json",) + tuple(
    f"_{kind}_{split}_epochs.{ext}" for split in _SPLITS
    for kind, ext in (("confusion", "npy"), ("predictions", "csv")))


def _path(p, suffix):
    """OUT_DIR/NAME+suffix without creating OUT_DIR."""
    return Path(p["OUT_DIR"]) / f"{p['NAME']}{suffix}"


def existing_run_files(p):
    """The files of an earlier run of this NAME that are present in OUT_DIR."""
    return [path for path in (_path(p, s) for s in RUN_FILES) if path.exists()]


def remove_run_files(p):
    """OVERWRITE=True: delete the earlier run's files, so none of them mixes
    with the new run (the text log is appended to, checkpoints would stay)."""
    for s in REPLACED_FILES:
        _path(p, s).unlink(missing_ok=True)


def pid_alive(pid):
    """Whether process ``pid`` exists on this machine (zombies count as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's process
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_stale_tmp(p):
    """Delete temporary files ``.NAME....{pid}.tmp`` that an interrupted
    _atomic_write of this NAME left in OUT_DIR (only those whose process is
    gone: a live one may still be renaming its file). Returns them."""
    d = Path(p["OUT_DIR"])
    if not d.is_dir():
        return []
    name = p["NAME"]
    gone = []
    for f in d.iterdir():
        if not (f.name.startswith(f".{name}") and f.name.endswith(".tmp")):
            continue
        rest = f.name[len(name) + 1:]
        parts = f.name.rsplit(".", 2)
        if not rest.startswith(("_", ".")) or len(parts) != 3 \
                or not parts[1].isdigit():
            continue
        if not pid_alive(int(parts[1])):
            f.unlink(missing_ok=True)
            gone.append(f)
    return gone


class RunLockedError(RuntimeError):
    """Another live run writes the files of this NAME in this OUT_DIR."""


class RunLock:
    """OUT_DIR/NAME.lock for the time of a run, so two live runs of one NAME
    cannot write into each other's files.

    The file is created with O_CREAT|O_EXCL and holds "pid host". A lock of a
    process that is no longer running (on this host) is stale: it is taken
    over with a warning. A lock of a live process, or of another host (whose
    processes cannot be checked), raises RunLockedError. Use as a context
    manager: the lock goes at the end of the run, also on an exception.
    """

    def __init__(self, p):
        self.p = p
        self.path = None

    def _holder(self, path):
        """(pid, host) from a lock file; None when unreadable or empty."""
        try:
            text = path.read_text().split()
            return int(text[0]), (text[1] if len(text) > 1 else "")
        except (OSError, ValueError, IndexError):
            return None

    def acquire(self):
        path = _out(self.p, ".lock")
        me = socket.gethostname()
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder(path)
                if holder is None:
                    try:    # being written right now, or left empty by a crash
                        young = time.time() - path.stat().st_mtime < 10.0
                    except FileNotFoundError:
                        continue
                    if young:
                        raise RunLockedError(
                            f"{path} is being created by another run of "
                            f"NAME={self.p['NAME']!r}; choose another NAME or "
                            "wait for that run to end") from None
                    what = "an empty lock file"
                else:
                    pid, host = holder
                    if host and host != me:
                        raise RunLockedError(
                            f"{path}: a run of NAME={self.p['NAME']!r} by "
                            f"process {pid} on host {host!r} writes into "
                            f"{self.p['OUT_DIR']}; choose another NAME, or, if "
                            f"no such run is active on {host!r}, delete the "
                            "lock file") from None
                    if pid_alive(pid):
                        raise RunLockedError(
                            f"{path}: process {pid} is running with NAME="
                            f"{self.p['NAME']!r} in {self.p['OUT_DIR']} and "
                            "writes these files; choose another NAME or wait "
                            "for that run to end") from None
                    what = f"the lock of process {pid}, which is no longer running"
                warnings.warn(f"taking over the stale lock {path} ({what})",
                              stacklevel=3)
                path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()} {me}\n")
            self.path = path
            return self
        raise RunLockedError(f"could not take {path}: other runs of NAME="
                             f"{self.p['NAME']!r} keep taking it")

    def release(self):
        path, self.path = self.path, None
        if path is not None and self._holder(path) == (os.getpid(),
                                                       socket.gethostname()):
            path.unlink(missing_ok=True)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


def _epoch_of(text):
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


def _truncate_csv(path, epoch, column="epoch"):
    """Drop the rows of ``epoch`` and later from a CSV with an epoch column
    (rewritten atomically; rows whose epoch cannot be read are kept)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or column not in rows[0]:
        return
    c = rows[0].index(column)
    keep = [rows[0]] + [r for r in rows[1:] if len(r) <= c
                        or _epoch_of(r[c]) is None or _epoch_of(r[c]) < epoch]
    if len(keep) == len(rows):
        return
    buf = io.StringIO()
    csv.writer(buf).writerows(keep)
    _write_text_atomic(path, buf.getvalue(), newline="")


def _truncate_txt(path, epoch):
    """The same for NAME_results.txt (epoch first on each row, '#' headers)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    keep = [ln for ln in lines if ln.startswith("#") or not ln.strip()
            or _epoch_of(ln.split()[0]) is None or _epoch_of(ln.split()[0]) < epoch]
    if len(keep) != len(lines):
        _write_text_atomic(path, "".join(keep))


def truncate_epochs(p, epoch):
    """On resuming at ``epoch`` (the checkpoint's count of finished epochs):
    drop what a run wrote for epochs >= ``epoch`` after that checkpoint was
    saved (a crash between the result row and the checkpoint), so that the
    resumed epochs are not there twice."""
    _truncate_csv(_path(p, "_results.csv"), epoch)
    _truncate_txt(_path(p, "_results.txt"), epoch)
    for split in _SPLITS:
        _truncate_csv(_path(p, f"_predictions_{split}_epochs.csv"), epoch)


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
        self.scores = []            # the output scores z of those samples
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
        self.scores.append(np.asarray(res["z"])[v])

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

    def score_array(self):
        """(n, n_classes) output scores z, rows as in ``prediction_array``:
        the values the loss's softmax reads (-t_first/tau0 for first-spike
        losses, below -1e30 for a silent output)."""
        if not self.scores:
            return np.zeros((0, self.n_classes))
        return np.concatenate(self.scores).astype(np.float64)


class ResultLog:
    """One row per epoch in NAME_results.txt and NAME_results.csv (appended
    to when resuming; a fresh run starts both anew) and the run's parameters
    in NAME.json."""

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
        elif not resume:
            self.csv.unlink(missing_ok=True)
            self.txt.unlink(missing_ok=True)
        _write_text_atomic(_out(p, ".json"), json.dumps(dict(p), indent=1))

    def write(self, row):
        if not self.on:
            return
        scalars = {k: v for k, v in row.items() if np.isscalar(v)}
        header = None
        if self.csv.exists():
            with open(self.csv, newline="") as f:
                header = next(csv.reader(f), None)
        if header is None or header == list(scalars):
            with open(self.csv, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(scalars))
                if header is None:
                    w.writeheader()
                w.writerow(scalars)
        else:   # other columns than the rows so far (e.g. a resumed run)
            with open(self.csv, newline="") as f:
                rows = list(csv.DictReader(f))
            cols = header + [k for k in scalars if k not in header]
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=cols)
            w.writeheader()
            w.writerows(rows + [scalars])
            _write_text_atomic(self.csv, buf.getvalue(), newline="")
        head = "# " + " ".join(scalars) + "\n"
        last_head = None
        if self.txt.exists():
            last_head = next((ln for ln in reversed(
                self.txt.read_text().splitlines(keepends=True))
                if ln.startswith("# ")), None)
        with open(self.txt, "a") as f:
            if last_head != head:
                f.write(head)
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

    def meta(self, kind):
        """The meta record of a checkpoint (without its arrays); None if absent."""
        path = _path(self.p, f"_checkpoint_{kind}.npz")
        if not path.exists():
            return None
        with np.load(path) as z:
            return json.loads(str(z["__meta__"]))


def _save_npz(path, arrays):
    def write(tmp):
        with open(tmp, "wb") as f:   # a file object: np.savez would add ".npz"
            np.savez(f, **arrays)
    _atomic_write(path, write)


def _record_epoch(key):
    """The epoch of a recording array named "e{epoch}_t{trial}..."; None if other."""
    head = key.split("_", 1)[0]
    return int(head[1:]) if head[:1] == "e" and head[1:].isdigit() else None


class Recorder:
    """REC_SPIKES / REC_SYNAPSES / W_OUTPUT_EPOCH_TRIAL and weight reports.

    What is recorded reaches OUT_DIR as it comes, not only at the end of a
    run: weight and tau snapshots when they are taken, spike, neuron and
    synapse recordings (one file each, all epochs) after every epoch, each
    written atomically. A resumed run keeps the recordings of the epochs
    before its checkpoint and records the later ones anew."""

    def __init__(self, p, sim):
        self.p = p
        self.sim = sim
        self.resume_from = None
        self._previous = {}
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
                    (epoch, trial, net.get_trained(name) if var == "w"
                     else np.array(net.synapses[name].vars[var].view)))
        if self._weights_due(epoch, trial):
            self.weights[(epoch, trial)] = {k: net.get_trained(k)
                                            for k in net.synapses}
            if p["WRITE_TO_DISK"]:
                _save_npz(_out(p, f"_w_e{epoch}_t{trial}.npz"),
                          self.weights[(epoch, trial)])
        tau_pairs = p["TAU_OUTPUT_EPOCH_TRIAL"] if "TAU_OUTPUT_EPOCH_TRIAL" in p else []
        if tau_pairs and self._at(tau_pairs, epoch, trial):
            self.taus[(epoch, trial)] = _per_neuron_taus(net)
            if p["WRITE_TO_DISK"]:
                _save_npz(_out(p, f"_tau_e{epoch}_t{trial}.npz"),
                          self.taus[(epoch, trial)])

    def _weights_due(self, epoch, trial):
        p = self.p
        if p["W_OUTPUT_EPOCH_TRIAL"]:
            return self._at(p["W_OUTPUT_EPOCH_TRIAL"], epoch, trial)
        if not p["WRITE_TO_DISK"]:
            return False
        return (epoch % max(1, p["W_EPOCH_INTERVAL"]) == 0
                and trial % max(1, p["W_REPORT_INTERVAL"]) == 0)

    def resume(self, epoch):
        """A resumed run continues at ``epoch``: the files keep what earlier
        epochs recorded."""
        self.resume_from = epoch

    def after_epoch(self, sim, epoch):
        self._write_recordings()

    def _kept(self, path):
        """What a resumed run's file holds of the epochs before the resume."""
        if self.resume_from is None or not path.exists():
            return {}
        if path not in self._previous:
            try:
                with np.load(path) as z:
                    self._previous[path] = {
                        k: z[k] for k in z.files
                        if (_record_epoch(k) if _record_epoch(k) is not None
                            else self.resume_from) < self.resume_from}
            except (OSError, ValueError) as err:
                warnings.warn(f"could not read the recordings in {path} ({err}); "
                              "it is written anew", stacklevel=3)
                self._previous[path] = {}
        return self._previous[path]

    def _write_recordings(self):
        """Spike, neuron and synapse recordings so far, one file each."""
        if not self.p["WRITE_TO_DISK"]:
            return
        files = {}
        for name, recs in self.spikes.items():
            arrays = {}
            for r in recs:
                for b, (t, i) in enumerate(r["spikes"]):
                    key = f"e{r['epoch']}_t{r['trial']}_b{b}"
                    arrays[key + "_t"], arrays[key + "_id"] = t, i
            files[f"_spikes_{name}.npz"] = arrays
        for key, recs in self.neurons.items():
            arrays = {}
            for r in recs:
                tag = f"e{r['epoch']}_t{r['trial']}"
                arrays[tag] = r["values"]
                arrays[tag + "_samples"] = r["samples"]
            files[f"_neurons_{key.replace('.', '_')}.npz"] = arrays
        for key, recs in self.synapses.items():
            files[f"_syn_{key}.npz"] = {f"e{e}_t{t}": a for e, t, a in recs}
        for suffix, arrays in files.items():
            path = _out(self.p, suffix)
            _save_npz(path, {**self._kept(path), **arrays})

    def finish(self):
        out = {"spikes": self.spikes, "synapses": self.synapses,
               "weights": self.weights, "taus": self.taus,
               "neurons": self.neurons}
        if self.p["WRITE_TO_DISK"]:
            self._write_recordings()
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


def write_predictions(p, split, epoch, preds, scores=None):
    """REC_PREDICTIONS: rows (epoch, id, label, prediction), ``id`` the
    sample's index in the split; training epochs are appended to
    NAME_predictions_{split}_epochs.csv, a test pass (epoch None) writes
    NAME_predictions_{split}.csv with an empty epoch column and, given
    ``scores``, the output scores z_0 .. z_{C-1} of each sample (what
    ``simulators.ensemble`` combines)."""
    if not p["WRITE_TO_DISK"]:
        return
    path = _out(p, f"_predictions_{split}.csv" if epoch is None
                else f"_predictions_{split}_epochs.csv")
    fresh = epoch is None or epoch == 0 or not path.exists()
    with_scores = epoch is None and scores is not None
    rows = np.asarray(preds).tolist()
    if with_scores:
        # repr keeps every bit of the float, so an ensemble read from the
        # files equals one computed in memory
        rows = [r + [repr(float(z)) for z in zs] for r, zs in
                zip(rows, np.asarray(scores, np.float64))]
    with open(path, "w" if fresh else "a", newline="") as f:
        w = csv.writer(f)
        if fresh:
            head = ["epoch", "id", "label", "prediction"]
            if with_scores:
                head += [f"z_{c}" for c in range(np.shape(scores)[1])]
            w.writerow(head)
        e = "" if epoch is None else epoch
        w.writerows([e, *r] for r in rows)


def write_test(p, out):
    if not p["WRITE_TO_DISK"]:
        return
    scalars = {k: v for k, v in out.items() if np.isscalar(v)}
    _write_text_atomic(_out(p, "_test.json"), json.dumps(scalars, indent=1))


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
