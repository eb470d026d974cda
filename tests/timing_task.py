"""A small SHD-format task whose classes differ only in spike timing.

Four blocks of channels are each active (Poisson spikes) for a window of the
trial; the windows follow one another with overlap, in an order set by the
class. Every channel fires at the same rate for the same time in every
class, so spike counts carry no class information: the classes differ in
which blocks are active together (and when). Speakers stretch time and move
the onset; every sample has noise spikes on all channels.
"""
import numpy as np

N_CH = 40
N_BLOCK = 4
# block order per class; the pairs active together differ between classes
ORDERS = ((0, 1, 2, 3), (0, 2, 1, 3), (1, 0, 3, 2), (2, 0, 3, 1))
N_CLASSES = len(ORDERS)


def make_samples(n_per, seed, n_speakers=4, trial_s=1.0, rate_hz=40.0, noise=30):
    """``n_per`` samples per class and speaker: (samples [(times s, units)],
    labels, speakers)."""
    rng = np.random.default_rng(seed)
    w = N_CH // N_BLOCK
    win = 0.3 * trial_s                     # each block's window
    step = 0.15 * trial_s                   # next window starts half-way through
    samples, labels, spk = [], [], []
    for s in range(n_speakers):
        stretch = 1.0 + 0.06 * (s - (n_speakers - 1) / 2) / n_speakers
        for c, order in enumerate(ORDERS):
            for _ in range(n_per):
                onset = rng.uniform(0.03, 0.08) * trial_s
                t, u = [], []
                for slot, block in enumerate(order):
                    t0 = onset + slot * step * stretch
                    for ch in range(block * w, (block + 1) * w):
                        k = rng.poisson(rate_hz * win * stretch)
                        t.append(t0 + rng.uniform(0, win * stretch, k))
                        u.append(np.full(k, ch))
                t.append(rng.uniform(0, trial_s, noise))
                u.append(rng.integers(0, N_CH, noise))
                samples.append((np.concatenate(t), np.concatenate(u)))
                labels.append(c)
                spk.append(s)
    return samples, np.array(labels), np.array(spk)

