"""IBM DVS128 Gesture, read through tonic at 32 x 32 x 2 = 2048 channels.

``DVSGestureModel(p)`` reads DATA_DIR (tonic's save_to folder of
``tonic.datasets.DVSGesture``; see simulators/datasets/dvs_gesture.py for
the layout and the preprocessing), caches the binned data in
DATA_CACHE_DIR and builds a dense hidden layer (NUM_HIDDEN LIF neurons by
default) with 11 outputs; ``train``, ``test``, ``train_test`` and
``cross_validate`` run it.

It is the SHD simulator (simulators/shd.py) over these data, so the data
pipeline is the same (REDUCED_CLASSES, random or user splits, class
balancing, spike-number normalisation, per-epoch augmentation, input
delays, rewiring of silent neurons, confusion matrices, recordings,
checkpoints, leave-one-user-out cross-validation), with:

- users in place of speakers (EVALUATION "speaker", SPEAKER_LEFT and
  cross_validate's folds use DVS gesture's users);
- AUGMENTATION for images: "random_shift" translates by up to n pixels in
  x and y, "time_shift" shifts in time by up to n ms; "random_dilate" and
  "blend" as for SHD;
- TAU_MEM_OUTPUT sets the output neurons' membrane time constant;
- 11 outputs whatever labels the files hold (fewer with REDUCED_CLASSES).
"""
from simulators.datasets.augment import blend_dataset, random_dilate
from simulators.datasets.dvs_gesture import (N_CLASSES, N_UNITS, find_dvs_gesture,
                                             load_dvs_gesture, spatial_shift, time_shift)
from simulators.shd import SHDModel


class DVSGestureModel(SHDModel):
    """``DVSGestureModel(p).train(p)`` with tonic's DVSGesture folder in ``p["DATA_DIR"]``."""
    benchmark = "dvs_gesture"
    data_keys = ("DATA_DIR", "EVALUATION", "SPEAKER_LEFT", "N_VALIDATE", "N_TRAIN",
                 "N_TEST", "REDUCED_CLASSES", "TRAIN_DATA_SEED", "TEST_DATA_SEED",
                 "BALANCE_EVAL_CLASSES", "NORMALISE_SPIKE_NUMBER", "INPUT_DELAY")

    def __init__(self, p):
        super().__init__(p, n_channels=N_UNITS)

    def _read(self, p, split):
        return load_dvs_gesture(p["DATA_DIR"], split, dt_ms=p["DT_MS"],
                                trial_ms=p["TRIAL_MS"], cache_dir=p["DATA_CACHE_DIR"],
                                progress=p["VERBOSE"])

    @staticmethod
    def _file(p, split):
        """The folder of ``split``'s samples (named in data errors)."""
        return find_dvs_gesture(p["DATA_DIR"], split)

    def load_data(self, p):
        data = super().load_data(p)
        labels = [d.labels for d in data.values() if d is not None and len(d)]
        if not p["REDUCED_CLASSES"]:
            top = max((int(l.max()) for l in labels), default=0)
            if top >= N_CLASSES:
                raise ValueError(f"DVS gesture has classes 0-{N_CLASSES - 1}; the files "
                                 f"hold label {top}")
            self.n_classes = N_CLASSES
        return data

    def config_kwargs(self, p):
        kw = super().config_kwargs(p)
        kw["out_tau_m"] = p["TAU_MEM_OUTPUT"]
        return kw

    def augment(self, ds, p, rng):
        """AUGMENTATION in its order, on the 32 x 32 x 2 channel layout."""
        for name, arg in p["AUGMENTATION"].items():
            if name == "random_shift":
                ds = spatial_shift(ds, arg, rng)
            elif name == "time_shift":
                ds = time_shift(ds, arg, rng, dt_ms=p["DT_MS"])
            elif name == "random_dilate":
                ds = random_dilate(ds, arg[0], arg[1], rng)
            elif name == "blend":
                ds = blend_dataset(ds, arg, p["N_TRAIN"], rng)
            else:   # params refuse other names; keep the simulator honest too
                raise ValueError(f"unknown DVS gesture augmentation {name!r}")
        return ds
