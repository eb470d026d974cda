"""SHD/SSC HDF5 files in their on-disk layouts, written by the tests.

``samples`` is a list of (times in s, units) per sample, in any order (the
readers sort the events of each sample).
"""
import h5py
import numpy as np


def write_vlen(path, samples, labels, speakers):
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(samples),),
                             dtype=h5py.vlen_dtype(np.float64))
        u = f.create_dataset("spikes/units", (len(samples),),
                             dtype=h5py.vlen_dtype(np.uint16))
        for i, (ti, ui) in enumerate(samples):
            t[i] = ti
            u[i] = ui
        f["labels"] = labels.astype(np.uint8)
        if speakers is not None:
            f["extra/speaker"] = speakers.astype(np.uint8)


def write_padded(path, samples, labels, speakers):
    m = max(len(t) for t, _ in samples) + 3
    times = np.full((len(samples), m), np.nan)
    units = np.full((len(samples), m), -1, np.int32)
    for i, (ti, ui) in enumerate(samples):
        times[i, :len(ti)] = ti
        units[i, :len(ui)] = ui
    with h5py.File(path, "w") as f:
        f["spikes/times"] = times
        f["spikes/units"] = units
        f["labels"] = labels
        if speakers is not None:
            f["extra/speaker"] = speakers
