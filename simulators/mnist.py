"""MNIST from standard IDX files, latency coded (one spike per bright pixel)."""
import numpy as np

from simulators.base import Simulator, _rng
from simulators.datasets.augment import image_shift
from simulators.datasets.mnist import latency_encode, load_mnist
from simulators.datasets.splits import random_split, reduce_classes


_STREAM_AUGMENT = 1      # keeps augmentation draws apart from shuffling


class MNISTModel(Simulator):
    """``MNISTModel(p).train(p)`` with the IDX files in ``p["DATA_DIR"]``."""
    benchmark = "mnist"

    def n_inputs(self, p):
        return 28 * 28

    def n_outputs(self, p):
        classes = p["REDUCED_CLASSES"]
        return len(classes) if classes else 10

    def load_data(self, p):
        images, labels = load_mnist(p["DATA_DIR"], "train")
        test_images, test_labels = load_mnist(p["DATA_DIR"], "test")
        kw = {"trial_ms": p["TRIAL_MS"], "dt_ms": p["DT_MS"]}
        full = latency_encode(images, labels=labels, **kw)
        test = latency_encode(test_images, labels=test_labels, **kw)
        if p["REDUCED_CLASSES"]:
            full = reduce_classes(full, p["REDUCED_CLASSES"])
            test = reduce_classes(test, p["REDUCED_CLASSES"])
        if p["N_VALIDATE"] >= len(full):
            raise ValueError(
                f"N_VALIDATE={p['N_VALIDATE']} takes all {len(full)} training samples"
                f"{' of REDUCED_CLASSES' if p['REDUCED_CLASSES'] else ''} of "
                f"{p['DATA_DIR']} for validation and leaves none to train on; set "
                f"N_VALIDATE below {len(full)} (or 0 for no validation split)")
        n_val = p["N_VALIDATE"]
        n_train = min(p["N_TRAIN"], len(full) - n_val)
        train_idx, val_idx = random_split(len(full), n_val,
                                          p["TRAIN_DATA_SEED"], n_train=n_train)
        n_test = len(test) if p["N_TEST"] is None else min(p["N_TEST"], len(test))
        return {"train": full.subset(train_idx),
                "validation": full.subset(val_idx) if n_val else None,
                "test": test.subset(np.arange(n_test))}

    def data_reserve(self, p):
        # the first upload holds epoch 0's shifted images; a shift loses the
        # pixels it moves out and never adds any: room for the unshifted split
        if not p["AUGMENTATION"].get("random_shift", 0):
            return 1.0
        raw, ep0 = self.datasets["train"], self.training_data(p, 0)
        return max(1.0, raw.n_events / max(1, ep0.n_events))

    def training_data(self, p, epoch):
        """With AUGMENTATION, the training images shifted afresh each epoch,
        seeded by (TRAIN_DATA_SEED, epoch) so a resumed run sees the same."""
        shift = p["AUGMENTATION"].get("random_shift", 0)
        if not shift:
            return self.datasets["train"]
        rng = _rng(p["TRAIN_DATA_SEED"], epoch, _STREAM_AUGMENT)
        return image_shift(self.datasets["train"], shift, 28, rng)
