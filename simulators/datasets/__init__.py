"""Data sets as flat spike arrays (numpy/h5py only, no model code).

- :mod:`.spikes`   SpikeDataset, the container every loader returns
- :mod:`.yinyang`  generated Yin-Yang data and its time-to-first-spike code
- :mod:`.mnist`    MNIST IDX files and latency coding
- :mod:`.shd`      SHD / SSC HDF5 files, binned and cached
- :mod:`.tonic_data`  tonic as the reader of event data sets, with a cache
- :mod:`.dvs_gesture` DVS128 Gesture via tonic (32 x 32 x 2 channels), image shifts
- :mod:`.smnist`   spiking sequential MNIST via tonic
- :mod:`.splits`   random / speaker splits, class balancing and reduction
- :mod:`.augment`  shift, dilate, ID jitter, blend, spike-number normalisation
"""

from .spikes import SpikeDataset, offsets_from_counts
from .yinyang import encode_yinyang, which_class, yinyang_data, yinyang_dataset
from .mnist import latency_encode, load_mnist, read_idx
from .shd import find_hdf5, load_shd
from .splits import (balance_classes, random_split, reduce_classes, speaker_folds,
                     speaker_split)
from .augment import (ID_jitter, apply_augmentation, blend, blend_dataset, id_jitter,
                      normalise_spike_number, random_dilate, random_shift)

__all__ = [
    "SpikeDataset", "offsets_from_counts",
    "encode_yinyang", "which_class", "yinyang_data", "yinyang_dataset",
    "latency_encode", "load_mnist", "read_idx",
    "find_hdf5", "load_shd",
    "balance_classes", "random_split", "reduce_classes", "speaker_folds", "speaker_split",
    "ID_jitter", "apply_augmentation", "blend", "blend_dataset", "id_jitter",
    "normalise_spike_number", "random_dilate", "random_shift",
]
