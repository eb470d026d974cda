"""Keys the tonic-read event benchmarks (DVS gesture, SMNIST) share.

Their simulators are the SHD simulator over another data source, so they
take the SHD/SSC keys (splits, augmentation, neuron types, delays,
rewiring, learning-rate schedule) less DATASET, plus the keys that
genn_eventprop's simulator_DVS_gesture.py / simulator_SMNIST.py had beyond
the SHD table:

- TAU_MEM_OUTPUT: membrane time constant of the output neurons;
- HIDDEN_NOISE: Gaussian noise on the hidden membranes (0 = none; no other
  value is implemented here, so others are refused rather than ignored);
- DOWNLOAD_SHD: the original's download switch; nothing is downloaded here
  (tonic does that with download=True on a machine with internet), so only
  False is accepted.
"""

from __future__ import annotations

from typing import Any

from . import checks
from .base import Spec, merge_specs
from .common import (ALL_LOSS_TYPES, EXPERIMENT, GENERAL, HIDDEN_EXTRAS, LEARNING, LOSS,
                     LR_SCHEDULE, MODEL, N_TEST, N_VALIDATE, NETWORK, RECORDING)
from . import shd as _shd

__all__ = ["ORIGINAL_EXTRAS", "event_specs", "only"]


def only(allowed: Any, why: str):
    """A check that accepts just ``allowed`` (a key kept for the original's
    parameter dicts whose other values this package does not implement)."""
    def check(name: str, value: Any) -> None:
        if value != allowed:
            raise ValueError(f"parameter {name!r} can only be {allowed!r} here: {why}")
    return check


ORIGINAL_EXTRAS = [
    Spec("TAU_MEM_OUTPUT", 20.0, "Membrane time constant of the output neurons in "
         "milliseconds", group="Model parameters", check=checks.positive),
    Spec("HIDDEN_NOISE", 0.0, "Gaussian noise on hidden neurons' membrane potential "
         "(only 0.0, no noise, is implemented)", group="Model parameters",
         check=only(0.0, "membrane noise is not implemented by this package")),
    Spec("DOWNLOAD_SHD", False, "Whether to download the data (only False: download once "
         "with tonic's download=True on a machine with internet and set DATA_DIR)",
         group="Experiment parameters",
         check=only(False, "nothing is downloaded; run tonic's download=True on a machine "
                    "with internet and point DATA_DIR at its save_to folder")),
]


# defaults both of genn_eventprop's event simulators used (where they differ
# from the SHD table); each benchmark's ``overrides`` add its own
EVENT_DEFAULTS = {
    "LOSS_TYPE": {"default": "sum_weigh_exp", "choices": ALL_LOSS_TYPES},
    "DT_MS": {"default": 1.0},
    "N_BATCH": {"default": 32},
    "N_TEST": {"default": None, "description": "(added) Number of examples of the test "
               "split to use; None = all"},
    "N_EPOCHS": {"default": 100},
    "NUM_HIDDEN": {"default": 256},
    "HIDDEN_OUTPUT_MEAN": {"default": 0.0},
    "HIDDEN_OUTPUT_STD": {"default": 0.3},
    "HIDDEN_HIDDEN_MEAN": {"default": 0.0},
    "HIDDEN_HIDDEN_STD": {"default": 0.02},
    "PDROP_INPUT": {"default": 0.1},
    "LBD_UPPER": {"default": 2e-9},
    "LBD_LOWER": {"default": 2e-9},
    "NU_UPPER": {"default": 14.0},
    "RHO_UPPER": {"default": 10000.0},
    "GLB_UPPER": {"default": 1e-8},
    "ETA": {"default": 1e-3},
}


def event_specs(data_specs, overrides, extra=(), drop=()):
    """The SHD table less DATASET (and ``drop``), plus ORIGINAL_EXTRAS,
    ``data_specs`` and ``extra``, with EVENT_DEFAULTS and then ``overrides``."""
    shd_extra = [s for s in _shd.EXTRA if s.name not in ("DATASET", "DATA_DIR",
                                                          "DATA_CACHE_DIR")]
    return merge_specs(
        GENERAL, EXPERIMENT, [N_VALIDATE, N_TEST], NETWORK, MODEL, HIDDEN_EXTRAS, LEARNING,
        LR_SCHEDULE, RECORDING, LOSS, shd_extra, ORIGINAL_EXTRAS, data_specs, list(extra),
        overrides={**EVENT_DEFAULTS, **overrides},
        drop=drop)
