"""Spiking sequential MNIST, read through tonic's SMNIST.

``SMNISTModel(p)`` reads DATA_DIR (tonic's save_to folder holding
smnist/ with the four MNIST IDX files; see simulators/datasets/smnist.py
for the spike code: 99 threshold-crossing channels, one pixel per
PIXEL_MS, each spike twice with DUPLICATE), caches the binned data and
builds the SHD network (simulators/shd.py) with 10 outputs: random
validation split, REDUCED_CLASSES, per-epoch augmentation, input delays,
rewiring of silent neurons (on by default, as in the original), confusion
matrices, recordings and checkpoints work as for SHD.  TAU_MEM_OUTPUT sets
the output neurons' membrane time constant.
"""
import os

from simulators.datasets.smnist import N_CLASSES, SMNIST_FILES, find_smnist, load_smnist
from simulators.shd import SHDModel


class SMNISTModel(SHDModel):
    """``SMNISTModel(p).train(p)`` with tonic's smnist folder under ``p["DATA_DIR"]``."""
    benchmark = "smnist"
    data_keys = ("DATA_DIR", "EVALUATION", "N_VALIDATE", "N_TRAIN", "N_TEST",
                 "REDUCED_CLASSES", "TRAIN_DATA_SEED", "TEST_DATA_SEED",
                 "BALANCE_EVAL_CLASSES", "NORMALISE_SPIKE_NUMBER", "INPUT_DELAY",
                 "DUPLICATE", "PIXEL_MS")
    n_neurons = 99      # tonic SMNIST's default num_neurons

    def __init__(self, p):
        super().__init__(p, n_channels=self.n_neurons)

    def _read(self, p, split):
        return load_smnist(p["DATA_DIR"], split, dt_ms=p["DT_MS"], trial_ms=p["TRIAL_MS"],
                           duplicate=p["DUPLICATE"], num_neurons=self.n_neurons,
                           pixel_ms=p["PIXEL_MS"], cache_dir=p["DATA_CACHE_DIR"],
                           progress=p["VERBOSE"])

    @staticmethod
    def _file(p, split):
        """``split``'s images file (named in data errors)."""
        return os.path.join(find_smnist(p["DATA_DIR"], split), SMNIST_FILES[split][0])

    def load_data(self, p):
        data = super().load_data(p)
        if not p["REDUCED_CLASSES"]:
            self.n_classes = N_CLASSES
        return data

    def config_kwargs(self, p):
        kw = super().config_kwargs(p)
        kw["out_tau_m"] = p["TAU_MEM_OUTPUT"]
        return kw

    def cross_validate(self, p):
        """Not offered: cross-validation folds are per speaker (user), and the
        MNIST files carry no writer ids."""
        raise ValueError("SMNIST has no speakers or writers to cross-validate over (the "
                         "MNIST files carry no writer ids); use EVALUATION=\"random\" "
                         "with N_VALIDATE, or train with other TRAIN_DATA_SEEDs")
