"""Default parameters of the spiking sequential MNIST benchmark (SMNISTModel).

The original README has no table for this (experimental) benchmark; the
keys and starting values are those of genn_eventprop's simulator_SMNIST.py,
on the SHD/SSC key set (see params/event_common.py).  Added keys:
DATA_DIR ("data": tonic's ``SMNIST(save_to=...)`` folder, holding
smnist/train-images-idx3-ubyte ...), DATA_CACHE_DIR, and tonic's encoding
options DUPLICATE (each spike emitted twice, in two successive steps) and
PIXEL_MS (time per pixel).

Defaults that differ from the original's dict, so that an epoch runs on a
laptop CPU (see README "DVS gesture and sequential MNIST" for the
measured time per epoch):

- DT_MS 1.0 (original 0.1): one step per pixel instead of ten;
- DUPLICATE False (tonic's default, which the original used, is True) and
  TRIAL_MS 784.0 (original 1500.0): with duplicates a sequence takes 1568
  steps and the original cropped its last 68; without, the whole image is
  784 steps at 1 ms per pixel, half the cost, and no pixel is cropped;
- INPUT_HIDDEN_MEAN 0.1, INPUT_HIDDEN_STD 0.05 (original 0.02, 0.01): an
  image gives ~2,000 input spikes (in bursts: a stroke edge crosses many
  thresholds at once); the original's weights leave the hidden layer
  nearly silent (~0.04 Hz on MNIST-like digits, bench/dvs_smnist.py),
  0.1 drives it at ~25 Hz;
- NU_LOWER stays 0.1 (original 5): the key has no effect in this package
  (params.describe("NU_LOWER")), so only its default is accepted;
- N_MAX_SPIKE None (original 1500): one trial's steps (784), which no
  spike train can overflow (params/shd.py);
- N_EPOCHS 100 as the original (its key N_EPOCH is now N_EPOCHS).

"speaker" evaluation does not apply (MNIST has no writer ids in its files).
AUGMENTATION takes the SHD augmentations ("random_shift" of the threshold
channels, "random_dilate" of time, "ID_jitter", "blend").
"""

from __future__ import annotations

from . import checks
from .base import Params, Spec, register
from .event_common import event_specs

BENCHMARK = "smnist"

DATA = [
    Spec("DATA_DIR", "data", "(added) tonic's save_to folder holding smnist/ with the four "
         "uncompressed MNIST IDX files", group="Experiment parameters"),
    Spec("DATA_CACHE_DIR", None, "(added) Where preprocessed data are cached; None = "
         "~/.cache/eventprop", group="Experiment parameters", kind="str"),
    Spec("DUPLICATE", False, "(added) tonic SMNIST's duplicate: emit every spike twice, in "
         "two successive steps (doubles the sequence length)",
         group="Experiment parameters"),
    Spec("PIXEL_MS", 1.0, "(added) Time per pixel of the sequence in ms (tonic SMNIST's dt "
         "/ 1000)", group="Experiment parameters", check=checks.positive),
]

SPECS = register(BENCHMARK, event_specs(DATA, overrides={
    "TRIAL_MS": {"default": 784.0},
    "N_MAX_SPIKE": {"default": None},
    "N_TRAIN": {"default": 55000},
    "N_VALIDATE": {"default": 5000},
    "INPUT_HIDDEN_MEAN": {"default": 0.1},
    "INPUT_HIDDEN_STD": {"default": 0.05},
    "REWIRE_SILENT": {"default": True},
    "EVALUATION": {"choices": ("random",), "description": "How to form a validation set: "
                   "\"random\" (N_VALIDATE samples of the training file)"},
}))


def defaults() -> Params:
    """A fresh :class:`Params` with every SMNIST key at its default."""
    return Params(BENCHMARK)
