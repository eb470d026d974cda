"""Default parameters of the SHD / SSC benchmarks (selected by DATASET).

Defaults follow the SHD/SSC table of the original genn_eventprop README.
Added keys (not in the table):

- DATASET ("SHD" or "SSC"), DATA_DIR ("data/shd"; the HDF5 files may also lie
  in its SHD/ or SSC/ subfolder, as tonic stores them) and DATA_CACHE_DIR
  (None = ~/.cache/eventprop) for the preprocessed-data cache;
- N_TEST (None = the whole test split), N_EPOCHS (300), ETA_DECAY (1.0);
- NU_LOWER, TAU_ACCUMULATOR (for the "sum_weigh_input" loss);
- N_INPUT_DELAY / INPUT_DELAY (delayed copies of the input channels),
  NORMALISE_SPIKE_NUMBER, BALANCE_TRAIN_CLASSES, BALANCE_EVAL_CLASSES.

EVALUATION also accepts "validation_set": use SSC's official valid split.

Defaults that differ from the table, so that SHD-like data (700 channels,
~9k spikes per sample) learn out of the box:

- INPUT_HIDDEN_MEAN 0.03, INPUT_HIDDEN_STD 0.01 (table: 0.078, 0.045, the
  Yin-Yang/MNIST values): with ~9k input spikes per sample the table's
  weights drive the hidden layer to ~110-120 spikes per neuron per trial and
  silence a third of it; 0.03/0.01 (the loss-shaping paper's and ml_genn's
  SHD initialisation) gives ~25-30 Hz;
- ETA 1e-3 (table: 5e-3): with weights of 0.03, Adam's steps of 5e-3 per
  mini-batch silence hidden neurons for good within a few epochs;
- HIDDEN_HIDDEN_MEAN 0.0, HIDDEN_HIDDEN_STD 0.02 (table: 0.2, 0.37): with
  RECURRENT the table's recurrent weights are as strong as the input and
  drive the layer into self-sustained firing;
- N_MAX_SPIKE None (table: 1500): a buffer of one trial's steps (1400 at
  the defaults) holds every spike however fast a neuron fires (consecutive
  trials fill it from opposite ends); at 1500 a neuron above ~530 Hz in two
  consecutive trials lost spikes from its gradient, and where many did
  (hetLIF with RECURRENT on the spoken-words set) training stayed at chance.
On a small data set (the spoken-words set: 960 samples) N_BATCH 8 gives four
times the Adam steps per epoch at the same cost per epoch (README, BENCHMARKS).
"""

from __future__ import annotations

from . import checks
from .base import Params, Spec, merge_specs, register
from .common import (ALL_LOSS_TYPES, AUGMENTATIONS, EXPERIMENT, GENERAL, HIDDEN_EXTRAS,
                     HIDDEN_NEURON_TYPES, LEARNING, LOSS, LR_SCHEDULE, MODEL, N_TEST,
                     N_VALIDATE, NETWORK, OUTPUT_NEURON_TYPES, RECORDING)

BENCHMARK = "shd"
DATASETS = ("SHD", "SSC")
EVALUATIONS = ("random", "speaker", "validation_set")

_EXP = "Experiment parameters"
_NET = "Network structure"
_MOD = "Model parameters"
_LRN = "Learning parameters"
_REC = "Recording controls"
_LOSS = "Loss types and parameters"

EXTRA = [
    Spec("DATASET", "SHD", "(added) Which data set to train: \"SHD\" or \"SSC\"",
         group=_EXP, choices=DATASETS),
    Spec("DATA_DIR", "data/shd", "(added) Directory holding the HDF5 files (or its SHD/ or "
         "SSC/ subfolder)", group=_EXP),
    Spec("DATA_CACHE_DIR", None, "(added) Where preprocessed data are cached; None = "
         "~/.cache/eventprop", group=_EXP, kind="str"),
    Spec("N_INPUT_DELAY", 0, "(added) Number of delayed copies of the input channels",
         group=_EXP, check=checks.non_negative),
    Spec("INPUT_DELAY", 30.0, "(added) Delay between successive input copies in ms",
         group=_EXP, check=checks.non_negative),
    Spec("NORMALISE_SPIKE_NUMBER", False, "(added) Whether to subsample every input to the "
         "smallest spike count in the training set", group=_EXP),
    Spec("BALANCE_TRAIN_CLASSES", False, "(added) Whether to subsample the training set to "
         "equal class counts", group=_EXP),
    Spec("BALANCE_EVAL_CLASSES", False, "(added) Whether to subsample the validation set to "
         "equal class counts", group=_EXP),
    Spec("RECURRENT", False, "Whether to include recurrent connections", group=_NET),
    Spec("N_HID_LAYER", 1, "Number of hidden layers", group=_NET, check=checks.positive),
    Spec("HIDDEN_NEURON_TYPE", "LIF", "Hidden neuron type (\"hetLIF\": per-neuron taus "
         "drawn around TAU_MEM/TAU_SYN, sd tau/sqrt(3), at least MIN_TAU_M/MIN_TAU_SYN)",
         group=_MOD, choices=HIDDEN_NEURON_TYPES),
    Spec("OUTPUT_NEURON_TYPE", "LI", "Output neuron type (\"hetLI\": per-neuron taus "
         "drawn as for hetLIF)", group=_MOD, choices=OUTPUT_NEURON_TYPES),
    Spec("TAU_B", 100.0, "Timescale of adaptation of ALIF neurons", group=_MOD,
         check=checks.positive),
    Spec("B_INCR", 0.1, "Increment of the spike rate adaptation variable B upon a spike",
         group=_MOD),
    Spec("B_INIT", 0.0, "Initial value of the spike rate adaptation variable B", group=_MOD),
    Spec("HIDDEN_HIDDENFWD_MEAN", 0.02, "Mean synaptic weight of forward synapses between "
         "multiple hidden layers", group=_MOD),
    Spec("HIDDEN_HIDDENFWD_STD", 0.01, "Standard deviation of weights of forward synapses "
         "between multiple hidden layers", group=_MOD, check=checks.non_negative),
    Spec("REWIRE_SILENT", False, "Whether to rewire silent hidden neurons", group=_MOD),
    Spec("REWIRE_LIFT", 0.0, "Whether and how much to uplift incoming synapse weights of "
         "silent hidden neurons (if not zero, this replaces rewiring)", group=_MOD),
    Spec("TRAIN_TAU", False, "Whether to train tau values", group=_LRN),
    Spec("MIN_TAU_M", 3.0, "Lower bound for the value of tau_m (hidden and output "
         "neurons, drawn or trained)", group=_LRN,
         check=checks.positive),
    Spec("MIN_TAU_SYN", 1.0, "Lower bound for the value of tau_syn (hidden and output "
         "neurons, drawn or trained)", group=_LRN,
         check=checks.positive),
    Spec("TRAIN_TAU_OUTPUT", False, "Whether to train the timescale of the output neurons",
         group=_LRN),
    Spec("TRAIN_W", True, "Whether to train synaptic weights", group=_LRN),
    Spec("TRAIN_W_OUTPUT", True, "Whether to train the synaptic weights towards the output "
         "neurons", group=_LRN),
    Spec("TAU_OUTPUT_EPOCH_TRIAL", [], "List of 2-entry lists [epoch,trial] at which to save "
         "tau values", group=_REC, check=checks.epoch_trial_list),
    Spec("SPEAKER_LEFT", [0], "List of speakers to leave out (ordinal number in the list of "
         "speakers not speaker IDs - values 0-9 allowed)", group=_LOSS,
         # the original code took a bare int; keep accepting it as [int]
         kind=("list", "int"), normalise=lambda v: [v] if isinstance(v, int) else v,
         check=checks.speaker_left),
    Spec("AUGMENTATION", {}, "Dictionary of augmentations to apply to the training data: "
         "{\"random_shift\": x}, {\"random_dilate\": [y0, y1]}, {\"ID_jitter\": z}, "
         "{\"blend\": [p1, p2, ...]}", group=_LOSS, choices=AUGMENTATIONS,
         check=checks.augmentation),
    Spec("CV_PARALLEL", False, "(added) Whether cross_validate runs its folds as parallel "
         "Ray tasks (each declares N_THREADS CPUs, 1 when N_THREADS is None; Ray is "
         "started on this machine unless RAY_ADDRESS names a cluster); needs the [ray] "
         "extra", group=_LOSS),
    Spec("TAU_ACCUMULATOR", 20.0, "(added) Time constant in ms of the input accumulator used "
         "by the \"sum_weigh_input\" loss", group=_LOSS, check=checks.positive),
]

SPECS = register(BENCHMARK, merge_specs(
    GENERAL, EXPERIMENT, [N_VALIDATE, N_TEST], NETWORK, MODEL, HIDDEN_EXTRAS, LEARNING,
    LR_SCHEDULE, RECORDING, LOSS, EXTRA,
    overrides={
        "DT_MS": {"default": 1.0},
        "TRIAL_MS": {"default": 1400.0},
        "N_MAX_SPIKE": {"default": None},
        "N_TRAIN": {"default": 7644},
        "N_VALIDATE": {"default": 512},
        "N_TEST": {"default": None, "description": "(added) Number of examples of the test "
                   "split to use; None = all"},
        "N_EPOCHS": {"default": 300},
        "NUM_HIDDEN": {"default": 256},
        "LOSS_TYPE": {"default": "sum_weigh_exp", "choices": ALL_LOSS_TYPES},
        "EVALUATION": {"choices": EVALUATIONS, "description": "How to form a validation set, "
                       "values \"random\", \"speaker\" or \"validation_set\" (SSC's valid "
                       "split)"},
        "TAU_0": {"default": 1.0},
        "TAU_1": {"default": 100.0},
        "ALPHA": {"default": 5e-5},
        "INPUT_HIDDEN_MEAN": {"default": 0.03},
        "INPUT_HIDDEN_STD": {"default": 0.01},
        "ETA": {"default": 1e-3},
        "HIDDEN_HIDDEN_MEAN": {"default": 0.0},
        "HIDDEN_HIDDEN_STD": {"default": 0.02},
    },
))


def defaults() -> Params:
    """A fresh :class:`Params` with every SHD/SSC key at its default."""
    return Params(BENCHMARK)
