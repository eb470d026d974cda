"""Default parameters of the Yin-Yang benchmark (Kriener et al. 2022).

Defaults follow the Yin-Yang table of the original genn_eventprop README.
N_TRAIN and N_TEST are given there as 1000 and 25 mini-batches of
N_BATCH=32, but the original's code draws N_TRAIN * N_CLASS samples (3000
and 75 mini-batches). Here they are plain sample counts set to what that
code trains and tests on, 96000 and 2400, and do not follow later changes
of N_BATCH.
"""

from __future__ import annotations

from .base import Params, merge_specs, register
from .common import (EXPERIMENT, GENERAL, LEARNING, LOSS, MODEL, N_TEST, NETWORK,
                     RECORDING)

BENCHMARK = "yinyang"

SPECS = register(BENCHMARK, merge_specs(
    GENERAL, EXPERIMENT, [N_TEST], NETWORK, MODEL, LEARNING, RECORDING, LOSS,
    overrides={
        "DT_MS": {"default": 0.1},
        "TRIAL_MS": {"default": 30.0},
        "N_MAX_SPIKE": {"default": 400},
        "N_TRAIN": {"default": 3 * 1000 * 32},
        "N_TEST": {"default": 3 * 25 * 32, "allow_none": False},
        "N_EPOCHS": {"default": 10},
        "NUM_HIDDEN": {"default": 200},
        "INPUT_HIDDEN_MEAN": {"default": 1.5},
        "INPUT_HIDDEN_STD": {"default": 0.78},
        "HIDDEN_OUTPUT_MEAN": {"default": 0.93},
        "HIDDEN_OUTPUT_STD": {"default": 0.1},
        "ETA_DECAY": {"default": 0.95},
        # Yin-Yang is trained on the time of the first output spike only.
        "LOSS_TYPE": {"default": "first_spike", "choices": ("first_spike", "first_spike_exp")},
    },
    # validation-set, class-reduction and regularisation keys have no use here
    drop=("EVALUATION", "AVG_SNSUM", "REDUCED_CLASSES"),
))


def defaults() -> Params:
    """A fresh :class:`Params` with every Yin-Yang key at its default."""
    return Params(BENCHMARK)
