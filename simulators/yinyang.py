"""Yin-Yang (Kriener et al. 2022): 5 input spike times, 3 classes, first-spike loss."""
from simulators.base import Simulator
from simulators.datasets.yinyang import yinyang_dataset


class YinYangModel(Simulator):
    """``YinYangModel(p).train(p)``: the dataset is generated from the seeds in ``p``."""
    benchmark = "yinyang"
    n_classes = 3

    def n_inputs(self, p):
        return 5

    def load_data(self, p):
        kw = {"trial_ms": p["TRIAL_MS"], "dt_ms": p["DT_MS"]}
        return {"train": yinyang_dataset(p["N_TRAIN"], p["TRAIN_DATA_SEED"], **kw),
                "test": yinyang_dataset(p["N_TEST"], p["TEST_DATA_SEED"], **kw)}
