"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC).

``SHDModel(p)`` loads the HDF5 files of ``p["DATASET"]`` from DATA_DIR
(binned to DT_MS, cropped to TRIAL_MS, cached in DATA_CACHE_DIR) and builds
the network of the SHD/SSC table; ``train``, ``test``, ``train_test`` and
``cross_validate`` run it.

Data pipeline (the order genn_eventprop used):

1. REDUCED_CLASSES keeps and relabels the listed classes (all splits);
2. the validation split (EVALUATION): "random" takes N_VALIDATE samples of
   the training file (seed TRAIN_DATA_SEED), "speaker" holds out the
   SPEAKER_LEFT speakers (ordinal indices), "validation_set" uses SSC's
   official ssc_valid.h5; N_VALIDATE = 0 means no validation split;
   N_TRAIN caps the training split, N_TEST the test split;
3. BALANCE_EVAL_CLASSES subsamples the validation split to equal class
   counts once; NORMALISE_SPIKE_NUMBER thins validation and test samples
   once to the smallest spike count of the training split;
4. every epoch (seeded by (TRAIN_DATA_SEED, epoch), so a resumed run sees
   the same data): BALANCE_TRAIN_CLASSES draws a class-balanced subset,
   NORMALISE_SPIKE_NUMBER thins the training samples, AUGMENTATION is
   applied in its order;
5. N_INPUT_DELAY delayed copies of the channels: copy d is channel block d
   (inputs d*C..(d+1)*C-1) shifted by d*INPUT_DELAY ms; spikes pushed past
   TRIAL_MS are dropped.
"""
import csv
import json
import time
import warnings

import numpy as np

from genn_models.network import NetworkConfig
from params import validate
from simulators import outputs
from simulators.base import Simulator, _rng
from simulators.datasets import (SpikeDataset, apply_augmentation, balance_classes,
                                 load_shd, normalise_spike_number, random_split,
                                 reduce_classes, speaker_folds, speaker_split)
from simulators.datasets.shd import N_UNITS, DataError, find_hdf5

# distinct streams of TRAIN_DATA_SEED (shuffling uses (seed, epoch))
_STREAM_EPOCH_DATA = 1
_STREAM_REWIRE = 2
_STREAM_BALANCE_EVAL = 3
_STREAM_NORMALISE_EVAL = 4
_STREAM_N_TRAIN = 5


def add_input_delays(ds, n_delay, delay_ms):
    """``ds`` with ``n_delay`` delayed copies of its channels appended.

    Unit ``u`` of copy ``d`` (d = 0 is the original) becomes unit
    ``d * n_units + u`` with its times shifted by ``d * delay_ms``; events at
    or after duration_ms are dropped.  n_units grows to (1 + n_delay) * n_units.
    """
    if n_delay <= 0:
        return ds
    C = ds.n_units
    ids = ds.sample_ids()
    d = np.repeat(np.arange(n_delay + 1), ds.n_events)
    times = np.tile(ds.times.astype(np.float64), n_delay + 1) + d * delay_ms
    units = np.tile(ds.units.astype(np.int64), n_delay + 1) + d * C
    sample = np.tile(ids, n_delay + 1)
    keep = times < ds.duration_ms
    return SpikeDataset.from_events(times[keep].astype(np.float32), units[keep],
                                    sample[keep], ds.labels, C * (n_delay + 1),
                                    ds.duration_ms, ds.speakers)


def _with_units(ds, n_units, where="the data"):
    """``ds`` declared to have ``n_units`` channels (all its units must be below)."""
    if ds.n_events and int(ds.units.max()) >= n_units:
        bad = ds.units >= n_units
        first = int(ds.sample_ids()[np.flatnonzero(bad)[0]])
        raise DataError(f"{where}: sample {first} has a spike of unit "
                        f"{int(ds.units[bad][0])}, but the model has n_channels={n_units} "
                        f"input channels (unit ids 0..{n_units - 1}); "
                        f"{int(bad.sum())} such spikes in all")
    return SpikeDataset(ds.times, ds.units, ds.offsets, ds.labels, n_units,
                        ds.speakers, ds.duration_ms)


class SHDModel(Simulator):
    """``SHDModel(p).train(p)`` with the SHD or SSC HDF5 files in ``p["DATA_DIR"]``.

    ``n_channels`` is the number of input channels of the recordings (700
    for the real files, the default); small synthetic files may use fewer.
    The number of classes is read from the data (largest label + 1, or
    len(REDUCED_CLASSES)).  The network has n_channels * (1 + N_INPUT_DELAY)
    inputs.
    """
    benchmark = "shd"
    data_keys = ("DATASET", "DATA_DIR", "EVALUATION", "SPEAKER_LEFT", "N_VALIDATE",
                 "N_TRAIN", "N_TEST", "REDUCED_CLASSES", "TRAIN_DATA_SEED",
                 "TEST_DATA_SEED", "BALANCE_EVAL_CLASSES", "NORMALISE_SPIKE_NUMBER",
                 "INPUT_DELAY")

    def __init__(self, p, n_channels=None):
        self.n_channels = N_UNITS if n_channels is None else int(n_channels)
        self._epoch_cache = None
        super().__init__(p)
        # fresh weights for cross-validation folds
        self._initial_state = self.net.state_dict()

    # -- sizes -------------------------------------------------------------
    def n_inputs(self, p):
        return self.n_channels * (1 + p["N_INPUT_DELAY"])

    def n_outputs(self, p):
        return self.n_classes

    def network_config(self, p):
        kw = self.config_kwargs(p)
        if p["HIDDEN_NEURON_TYPE"] == "hetLIF":
            # heterogeneous start: genn_eventprop drew gamma(3, tau/3) (sd = tau/sqrt 3);
            # the engine offers a clipped normal with that sd
            for L in kw["hidden"]:
                L.tau_m_init_std = p["TAU_MEM"] / np.sqrt(3.0)
                L.tau_syn_init_std = p["TAU_SYN"] / np.sqrt(3.0)
        if p["OUTPUT_NEURON_TYPE"] == "hetLI":
            # the same heterogeneous start for the output taus (without it
            # an untrained hetLI output would be an LI output)
            kw["out_tau_m_init_std"] = p["TAU_MEM"] / np.sqrt(3.0)
            kw["out_tau_syn_init_std"] = p["TAU_SYN"] / np.sqrt(3.0)
        return NetworkConfig(**kw)

    # -- data ----------------------------------------------------------------
    def _read(self, p, split):
        """``split`` as read from DATA_DIR (binned, cropped, cached); the
        other event benchmarks replace this reader."""
        return load_shd(p["DATA_DIR"], p["DATASET"], split, dt_ms=p["DT_MS"],
                        trial_ms=p["TRIAL_MS"], cache_dir=p["DATA_CACHE_DIR"])

    def _load(self, p, split):
        ds = _with_units(self._read(p, split), self.n_channels, self._file(p, split))
        if p["REDUCED_CLASSES"]:
            ds = reduce_classes(ds, p["REDUCED_CLASSES"])
        return ds

    def load_data(self, p):
        """Read and split the files; see the module docstring for the steps."""
        if p["EVALUATION"] == "validation_set" and p["DATASET"] != "SSC":
            raise ValueError("EVALUATION='validation_set' uses SSC's official "
                             "ssc_valid.h5; SHD has no validation file: use "
                             "'random' or 'speaker'")
        full = self._load(p, "train")
        test = self._load(p, "test")
        valid_file = self._load(p, "valid") \
            if p["EVALUATION"] == "validation_set" else None
        if p["REDUCED_CLASSES"]:
            self.n_classes = len(p["REDUCED_CLASSES"])
        else:
            self._check_labels(p, full, {"test": test, **(
                {"valid": valid_file} if valid_file is not None else {})})
            self.n_classes = int(full.labels.max()) + 1
        n_val = p["N_VALIDATE"]
        if n_val == 0:
            train_idx, val = np.arange(len(full)), None
        elif p["EVALUATION"] == "random":
            if n_val >= len(full):
                raise ValueError(
                    f"N_VALIDATE={n_val} takes all {len(full)} samples of "
                    f"{self._file(p, 'train')}"
                    f"{' (of classes REDUCED_CLASSES)' if p['REDUCED_CLASSES'] else ''} "
                    "for validation and leaves none to train on; set N_VALIDATE "
                    f"below {len(full)} (or 0 for no validation split)")
            if n_val > len(full) // 4:
                # SHD's 8156 training samples lose 6 % to the default 512; a
                # small file would lose half without a word
                warnings.warn(f"N_VALIDATE={n_val} holds out {n_val / len(full):.0%} of "
                              f"the {len(full)} training samples for validation; set "
                              "N_VALIDATE lower (or 0) to train on more", stacklevel=3)
            n_train = min(p["N_TRAIN"], len(full) - n_val)
            if n_train < len(full) - n_val:
                _warn_cap(p, len(full) - n_val)
            train_idx, val_idx = random_split(len(full), n_val, p["TRAIN_DATA_SEED"],
                                              n_train=n_train)
            val = full.subset(val_idx)
        elif p["EVALUATION"] == "speaker":
            train_idx, val_idx = speaker_split(self._speakers(full), p["SPEAKER_LEFT"])
            if not len(train_idx):
                raise ValueError(
                    f"SPEAKER_LEFT={p['SPEAKER_LEFT']} holds out every speaker of "
                    f"{self._file(p, 'train')} and leaves none to train on")
            val = full.subset(val_idx)
        else:
            train_idx, val = np.arange(len(full)), valid_file
        n_test = len(test) if p["N_TEST"] is None else min(p["N_TEST"], len(test))
        return self._prepare(p, _take(full, self._cap(p, train_idx)), val,
                             _take(test, np.arange(n_test)))

    @staticmethod
    def _file(p, split):
        """The file a split came from, for messages (data a subclass supplies
        by another route have none: the split is named instead)."""
        try:
            return find_hdf5(p["DATA_DIR"], p["DATASET"], split)
        except FileNotFoundError:
            return f"the {split} data"

    def _check_labels(self, p, full, others):
        """Every label of the test (and valid) file is a class of the training
        file: otherwise the network would get outputs no sample trains."""
        if not len(full.labels):
            raise DataError(f"{self._file(p, 'train')}: no samples")
        top = int(full.labels.max())
        missing = np.setdiff1d(np.arange(top + 1), full.labels)
        if len(missing):
            # one mistyped label would add as many never-trained outputs
            first = int(np.flatnonzero(full.labels == top)[0])
            warnings.warn(
                f"{self._file(p, 'train')}: labels run up to {top} (sample {first}), but "
                f"{len(missing)} of the classes 0..{top} have no training sample "
                f"({missing[:10].tolist()}{' ...' if len(missing) > 10 else ''}); the "
                f"network gets {top + 1} outputs. Check the labels, or train a subset "
                "with REDUCED_CLASSES", stacklevel=4)
        for split, ds in others.items():
            bad = np.flatnonzero(ds.labels > top)
            if len(bad):
                raise DataError(
                    f"{self._file(p, split)}: sample {int(bad[0])} has label "
                    f"{int(ds.labels[bad[0]])}, but the labels of the training file "
                    f"{self._file(p, 'train')} lie in 0..{top}; {len(bad)} {split} "
                    "sample(s) have labels the training data never show")

    @staticmethod
    def _speakers(ds):
        if ds.speakers is None:
            raise ValueError("the training file has no extra/speaker entry: speaker "
                             "splits and cross-validation need speaker ids")
        return ds.speakers

    @staticmethod
    def _cap(p, idx):
        """At most N_TRAIN of ``idx``, drawn at random (seed TRAIN_DATA_SEED)."""
        if len(idx) <= p["N_TRAIN"]:
            return idx
        _warn_cap(p, len(idx))
        pick = _rng(p["TRAIN_DATA_SEED"], _STREAM_N_TRAIN).choice(
            len(idx), p["N_TRAIN"], replace=False)
        return np.sort(idx[pick])

    def _prepare(self, p, train, val, test=None):
        """Steps 3 and 5 for the fixed splits; keep the raw training split
        where epochs are made from it afresh."""
        self.train_raw = train if self._per_epoch(p) else None
        self._epoch_cache = None
        if val is not None and p["BALANCE_EVAL_CLASSES"]:
            val = val.subset(balance_classes(
                val.labels, _rng(p["TRAIN_DATA_SEED"], _STREAM_BALANCE_EVAL)))
        if p["NORMALISE_SPIKE_NUMBER"]:
            target = int(train.counts().min()) if len(train) else 0
            rng = _rng(p["TEST_DATA_SEED"], _STREAM_NORMALISE_EVAL)
            val = None if val is None else normalise_spike_number(val, rng, target)
            test = None if test is None else normalise_spike_number(test, rng, target)
        delay = (p["N_INPUT_DELAY"], p["INPUT_DELAY"])
        return {"train": add_input_delays(train, *delay),
                "validation": None if val is None or not len(val)
                else add_input_delays(val, *delay),
                "test": None if test is None else add_input_delays(test, *delay)}

    def _per_epoch(self, p):
        return bool(p["AUGMENTATION"]) or p["BALANCE_TRAIN_CLASSES"] or \
            p["NORMALISE_SPIKE_NUMBER"]

    def data_reserve(self, p):
        # augmented epochs differ in size from the first upload (epoch 0's is
        # cached, so it is not made twice)
        if not self._per_epoch(p):
            return 1.0
        raw, ep0 = self.datasets["train"], self.training_data(p, 0)
        ratio = max(len(ep0) / max(1, len(raw)),
                    len(ep0.times) / max(1, len(raw.times)))
        return 1.5 * max(1.0, ratio)

    def training_data(self, p, epoch):
        """The training split of ``epoch``: balanced, thinned and augmented
        afresh (seeded by (TRAIN_DATA_SEED, epoch)) when asked, then delayed."""
        if not self._per_epoch(p):
            return self.datasets["train"]
        key = (epoch, json.dumps([p[k] for k in (
            "AUGMENTATION", "BALANCE_TRAIN_CLASSES", "NORMALISE_SPIKE_NUMBER",
            "N_TRAIN", "N_INPUT_DELAY", "INPUT_DELAY", "TRAIN_DATA_SEED")]))
        if self._epoch_cache is not None and self._epoch_cache[0] == key:
            return self._epoch_cache[1]
        ds = self.train_raw
        rng = _rng(p["TRAIN_DATA_SEED"], epoch, _STREAM_EPOCH_DATA)
        if p["BALANCE_TRAIN_CLASSES"]:
            ds = ds.subset(balance_classes(ds.labels, rng))
        if p["NORMALISE_SPIKE_NUMBER"]:
            ds = normalise_spike_number(ds, rng, int(self.train_raw.counts().min())
                                        if len(self.train_raw) else 0)
        if p["AUGMENTATION"]:
            ds = self.augment(ds, p, rng)
        ds = add_input_delays(ds, p["N_INPUT_DELAY"], p["INPUT_DELAY"])
        self._epoch_cache = (key, ds)
        return ds

    def augment(self, ds, p, rng):
        """AUGMENTATION applied to ``ds`` in its order (a subclass with data
        of another geometry supplies its own)."""
        return apply_augmentation(ds, p["AUGMENTATION"], rng, n_target=p["N_TRAIN"])

    # -- silent neurons ----------------------------------------------------
    def end_of_epoch(self, p, epoch, train_stats, row):
        """REWIRE_SILENT: hidden neurons that did not spike in the epoch's
        training pass get new incoming feed-forward weights drawn from the
        layer's initial distribution, or, if REWIRE_LIFT is not 0,
        REWIRE_LIFT added to their incoming weights."""
        if not p["REWIRE_SILENT"]:
            return
        rng = _rng(p["TRAIN_DATA_SEED"], epoch, _STREAM_REWIRE)
        for l, layer in enumerate(self.cfg.hidden):
            silent = train_stats.silent(l)
            row[f"hid{l}_rewired"] = int(silent.sum())
            if not silent.any():
                continue
            name = "w_in0" if l == 0 else f"w_ff{l - 1}"
            w = self.net.get(name).reshape(-1, layer.n)
            if p["REWIRE_LIFT"] != 0.0:
                w[:, silent] += p["REWIRE_LIFT"]
            else:
                w[:, silent] = rng.normal(layer.w_mean, layer.w_std,
                                          (w.shape[0], int(silent.sum())))
            self.net.set(name, w)

    # -- cross-validation --------------------------------------------------
    def cross_validate(self, p):
        """Leave-one-speaker-out cross-validation over the training file.

        One fold per speaker (sorted speaker order): fresh initial weights,
        N_EPOCHS of training on the other speakers, validation on the held-out
        one after every epoch (per-fold outputs are named NAME_fold{k}).
        Writes NAME_crossval.csv (one row per fold and epoch) and
        NAME_crossval_summary.json (mean/std of the final per-fold validation
        accuracy and loss).  Returns {"rows", "summary"}.  The model is left
        with its initial weights and the splits of load_data.

        CV_PARALLEL=True runs the folds as parallel tasks on Ray (through
        sweeps.tasks: this module does not know Ray), each in a model of its
        own built with these parameters and this model's MODEL_SEED, on
        N_THREADS CPUs (1 when None): the same files, rows and summary.
        """
        p = validate(p, self.benchmark)
        self._check_structure(p)
        if p["MODEL_SEED"] is None:     # every fold starts from this model's weights
            p["MODEL_SEED"] = self.p["MODEL_SEED"]
        full = self._load(p, "train")     # not kept after load_data: a cache read
        speakers = np.unique(self._speakers(full))
        folds = speaker_folds(self._speakers(full))
        t0 = time.perf_counter()
        if p["CV_PARALLEL"]:
            results = self._folds_in_parallel(p, len(folds))
        else:
            results = self._folds_here(p, full, folds, speakers)
        rows = [r for fold_rows, _ in results for r in fold_rows]
        finals = [final for _, final in results]
        accs = np.array([f["val_acc"] for f in finals if f is not None])
        losses = np.array([f["val_loss"] for f in finals if f is not None])
        summary = {"n_folds": len(folds), "speakers": speakers.tolist(),
                   "final_val_acc": accs.tolist(),
                   "mean_val_acc": float(accs.mean()) if len(accs) else None,
                   "std_val_acc": float(accs.std()) if len(accs) else None,
                   "mean_val_loss": float(losses.mean()) if len(losses) else None,
                   "std_val_loss": float(losses.std()) if len(losses) else None}
        if p["TIMING"]:
            summary["time_s"] = time.perf_counter() - t0
        if p["WRITE_TO_DISK"]:
            _write_rows(outputs._out(p, "_crossval.csv"), rows)
            outputs._atomic_write(outputs._out(p, "_crossval_summary.json"),
                                  lambda f: f.write_text(json.dumps(summary, indent=1)))
        return {"rows": rows, "summary": summary}

    def _folds_here(self, p, full, folds, speakers):
        """The folds one after another in this model; its splits restored after."""
        saved, saved_raw = self.datasets, self.train_raw
        try:
            return [self._fold(p, full, k, speakers[k], train_idx, val_idx,
                               saved["test"])
                    for k, (train_idx, val_idx) in enumerate(folds)]
        finally:
            self.datasets, self.train_raw = saved, saved_raw
            self._epoch_cache = None
            self._upload(saved)
            self._reset_learning(p)

    def _folds_in_parallel(self, p, n_folds):
        from sweeps.tasks import run_tasks
        cpus = p["N_THREADS"] or 1
        q = dict(p)
        q.update({"N_THREADS": cpus, "CV_PARALLEL": False})
        tasks = [{"p": q, "n_channels": self.n_channels, "fold": k}
                 for k in range(n_folds)]
        results = run_tasks(cross_validation_fold, tasks, cpus=cpus, use_ray=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res
        return results

    def _fold(self, p, full, k, speaker, train_idx, val_idx, test):
        """Train fold ``k`` from the initial weights; (rows, final row)."""
        self.datasets = self._prepare(p, full.subset(self._cap(p, train_idx)),
                                      full.subset(val_idx))
        self.datasets["test"] = test
        self._upload(self.datasets)
        self._reset_learning(p)
        q = p.copy()
        q.update({"NAME": f"{p['NAME']}_fold{k}", "LOAD_LAST": False,
                  "LOAD_BEST": False, "CHECKPOINT": False})
        res = self._train(q, eval_split="validation")
        rows = [{"fold": k, "speaker": int(speaker),
                 "n_train": len(self.datasets["train"]), "n_val": len(val_idx),
                 **{c: v for c, v in r.items() if np.isscalar(v)}}
                for r in res["history"]]
        return rows, res["final"]

    def _reset_learning(self, p):
        """Initial weights, Adam state, epoch, learning rate and schedule."""
        self.net.load_state_dict(self._initial_state)
        self.net.model.timestep = 0
        self.epoch = 0
        self.eta = p["ETA"]
        self.best = -1.0
        self.schedule = {"ema1": None, "ema2": None, "last_change": 0}


def cross_validation_fold(task):
    """Fold ``task["fold"]`` of SHDModel.cross_validate in a model of its own
    (a task of CV_PARALLEL): {"p", "n_channels", "fold"} -> (rows, final row)."""
    m = SHDModel(task["p"], n_channels=task["n_channels"])
    p, k = m.p, task["fold"]
    full = m._load(p, "train")
    speakers = np.unique(m._speakers(full))
    train_idx, val_idx = speaker_folds(m._speakers(full))[k]
    return m._fold(p, full, k, speakers[k], train_idx, val_idx, m.datasets["test"])


def _take(ds, idx):
    """``ds.subset(idx)``, without a copy when ``idx`` is every sample in order."""
    idx = np.asarray(idx)
    if len(idx) == len(ds) and np.array_equal(idx, np.arange(len(ds))):
        return ds
    return ds.subset(idx)


def _warn_cap(p, available):
    # e.g. SSC (75k training samples) with the SHD-sized default N_TRAIN
    warnings.warn(f"N_TRAIN={p['N_TRAIN']} uses {p['N_TRAIN']} of the {available} "
                  "available training samples", stacklevel=4)


def _write_rows(path, rows):
    cols = list(dict.fromkeys(c for r in rows for c in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
