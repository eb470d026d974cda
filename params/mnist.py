"""Default parameters of the MNIST benchmark.

Defaults follow the MNIST table of the original genn_eventprop README.
Added keys: N_BATCH (32), N_EPOCHS (50), ETA_DECAY (1.0 = no decay), the
learning-rate schedule keys (EMA_ALPHA1, EMA_ALPHA2, ETA_FAC,
MIN_EPOCH_ETA_FIXED), NU_LOWER, AUGMENTATION (image shifts) and DATA_DIR,
where the four IDX files (train-images-idx3-ubyte[.gz], ...) are read from.
"""

from __future__ import annotations

from . import checks
from .base import Params, Spec, merge_specs, register
from .common import (EXPERIMENT, GENERAL, HIDDEN_EXTRAS, LEARNING, LOSS, LR_SCHEDULE,
                     MODEL, N_TEST, N_VALIDATE, NETWORK, RECORDING)

BENCHMARK = "mnist"

MNIST_LOSS_TYPES = ("first_spike", "first_spike_exp", "max", "sum", "avg_xentropy")

DATA = [
    Spec("DATA_DIR", "data/mnist", "(added) Directory holding the MNIST IDX files "
         "(plain or .gz)", group="Experiment parameters"),
]

AUGMENT = [
    Spec("AUGMENTATION", {}, "(added) Augmentations of the training images, drawn afresh "
         "each epoch: {\"random_shift\": x} translates each image by up to x pixels "
         "horizontally and vertically", group="Loss types and parameters",
         choices=("random_shift",), check=checks.augmentation),
]

RECURRENT = [
    Spec("RECURRENT", False, "Whether to include recurrent connections",
         group="Network structure"),
]

SPECS = register(BENCHMARK, merge_specs(
    GENERAL, EXPERIMENT, [N_VALIDATE, N_TEST], DATA, NETWORK, RECURRENT, MODEL,
    HIDDEN_EXTRAS, LEARNING, LR_SCHEDULE, RECORDING, LOSS, AUGMENT,
    overrides={
        "DT_MS": {"default": 1.0},
        "TRIAL_MS": {"default": 20.0},
        "N_MAX_SPIKE": {"default": 50},
        "N_TRAIN": {"default": 55000},
        "N_VALIDATE": {"default": 5000},
        "N_TEST": {"default": 10000, "allow_none": False},
        "N_EPOCHS": {"default": 50},
        "NUM_HIDDEN": {"default": 128},
        "LOSS_TYPE": {"default": "avg_xentropy", "choices": MNIST_LOSS_TYPES},
    },
))


def defaults() -> Params:
    """A fresh :class:`Params` with every MNIST key at its default."""
    return Params(BENCHMARK)
