"""Default parameters of the DVS128 Gesture benchmark (DVSGestureModel).

The original README has no table for this (experimental) benchmark; the
keys and starting values are those of genn_eventprop's
simulator_DVS_gesture.py, on the SHD/SSC key set (see params/event_common.py:
DATASET is dropped, TAU_MEM_OUTPUT, HIDDEN_NOISE and DOWNLOAD_SHD added).
Added keys: DATA_DIR ("data": the folder tonic's
``DVSGesture(save_to=...)`` downloaded to, holding DVSGesture/ibmGestureTrain
and ibmGestureTest; or that DVSGesture folder itself), DATA_CACHE_DIR.

Defaults that differ from the original's dict, so that an epoch runs on a
laptop CPU (about a minute on one core, see README "DVS gesture and
sequential MNIST"):

- DT_MS 1.0 (original 0.1) and TRIAL_MS 1000.0 (original 18000.0): the
  original fed tonic's microsecond times in as milliseconds and ran 180,000
  steps per sample; here times are in ms and a trial is the first second of
  each gesture (the gestures repeat a movement of about 1 s; the recordings
  last about 6 s), 1,000 steps;
- N_MAX_SPIKE 500 (original 3000): on real GeNN the input channels share
  the size of the spike buffer (2048 channels x N_BATCH x N_MAX_SPIKE
  floats: 131 MB at 500, 786 MB at 3000; the engine's event-driven input
  sizes its own); 500 holds a neuron's spikes at up to 500 Hz sustained over
  consecutive 1 s trials, more than twice the busiest channel of synthetic
  data at DVS gesture's event rate (bench/dvs_smnist.py); a neuron beyond
  that loses spikes from its gradient, which is counted and warned about
  (None: 1000, which nothing can overflow);
- INPUT_HIDDEN_MEAN 0.006, INPUT_HIDDEN_STD 0.003 (original 0.02, 0.01):
  after downsampling a sample has ~44,000 input spikes per second (at
  ~60,000 events/s on the 128 x 128 sensor), seven times SHD's rate; the
  original's weights drive the hidden layer to ~150 Hz, 0.006 to ~20-40 Hz
  on synthetic data of that rate.  With fewer (more) input spikes per
  trial, raise (lower) it in proportion;
- N_EPOCHS 100 as the original (its key N_EPOCH is now N_EPOCHS).

"speaker" evaluation and cross_validate use DVS gesture's users: SPEAKER_LEFT
holds ordinal indices into the sorted training users (23 in tonic's
training split, so 0-22).

AUGMENTATION (drawn afresh every epoch, seeded by (TRAIN_DATA_SEED, epoch)):
{"random_shift": n} translates each sample by up to n pixels in x and y
(tonic has no translation); {"time_shift": ms} shifts each sample in time
(tonic's TimeSkew with offset, per sample); {"random_dilate": [a, b]}
stretches time (tonic's TimeSkew coefficient); {"blend": [p1, ...]} mixes
samples of a class.  They work on the cached compact data, vectorised,
rather than through tonic's per-sample transforms: see README for why.
"""

from __future__ import annotations

import numbers
from typing import Any

from . import checks
from .base import Params, Spec, register
from .event_common import event_specs

BENCHMARK = "dvs_gesture"
AUGMENTATIONS = ("random_shift", "time_shift", "random_dilate", "blend")


def _augmentation(name: str, value: Any) -> None:
    checks.augmentation(name, {k: v for k, v in value.items() if k != "time_shift"})
    if "random_shift" in value and not (isinstance(value["random_shift"], numbers.Integral)
                                        and not isinstance(value["random_shift"], bool)):
        raise ValueError(f"{name}['random_shift'] is a number of pixels (an int >= 0), "
                         f"got {value['random_shift']!r}")
    v = value.get("time_shift", 0)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
        raise ValueError(f"{name}['time_shift'] must be a number of ms >= 0, got {v!r}")


def _users_left(name: str, value: Any) -> None:
    checks.int_list(name, value)
    bad = [v for v in value if v > 28]
    if bad:
        raise ValueError(f"parameter {name!r} holds ordinal user indices (0-22 for the 23 "
                         f"users of the training split), got {bad}")


DATA = [
    Spec("DATA_DIR", "data", "(added) tonic's save_to folder holding "
         "DVSGesture/ibmGestureTrain and ibmGestureTest (or the DVSGesture folder)",
         group="Experiment parameters"),
    Spec("DATA_CACHE_DIR", None, "(added) Where preprocessed data are cached; None = "
         "~/.cache/eventprop", group="Experiment parameters", kind="str"),
]

SPECS = register(BENCHMARK, event_specs(DATA, overrides={
    "TRIAL_MS": {"default": 1000.0},
    "N_MAX_SPIKE": {"default": 500},
    "N_TRAIN": {"default": 1045},
    "N_VALIDATE": {"default": 32},
    "INPUT_HIDDEN_MEAN": {"default": 0.006},
    "INPUT_HIDDEN_STD": {"default": 0.003},
    "EVALUATION": {"choices": ("random", "speaker"), "description": "How to form a "
                   "validation set: \"random\" or \"speaker\" (hold out the SPEAKER_LEFT "
                   "users)"},
    "SPEAKER_LEFT": {"description": "List of users to leave out (ordinal numbers in the "
                     "sorted list of training users, not user ids)",
                     "check": _users_left},
    "AUGMENTATION": {"description": "Dictionary of augmentations to apply to the training "
                     "data: {\"random_shift\": pixels}, {\"time_shift\": ms}, "
                     "{\"random_dilate\": [f0, f1]}, {\"blend\": [p1, p2, ...]}",
                     "choices": AUGMENTATIONS, "check": _augmentation},
}))


def defaults() -> Params:
    """A fresh :class:`Params` with every DVS gesture key at its default."""
    return Params(BENCHMARK)
