"""Per-sample time weightings for the "sum_weigh_input" loss (pure numpy).

The loss reads z_k = (1/T) sum_n g[s, n] int_{t_n}^{t_{n+1}} V_k dt (g[s, n]
weighs step n): outputs count more while the sample's input is active.
"""
import numpy as np

from .input_data import events_from_neuron_major


def input_activity_weighting(start, end, times, n_steps, dt, tau_acc=20.0):
    """g (n_samples, n_steps) from each sample's input spikes.

    ``start``/``end`` (n_samples, n_in) index ``times`` as in
    ``EventPropNetwork.set_data``; ``tau_acc`` is TAU_ACCUMULATOR (ms).
    For sample s with input spike times {t_j} (all channels together):

        a[s, n] = sum_{j: t_j <= t_{n+1}} exp(-(t_{n+1} - t_j) / tau_acc)
        g[s, n] = a[s, n] / mean_m a[s, m]

    so the mean of g over the trial is 1; a sample without input spikes in
    the trial (a = 0) gets g = 1 throughout. Spikes after t_N = n_steps dt
    are ignored.
    """
    # the flattening (and its shape checks) is the input layout's own
    t, _, offsets = events_from_neuron_major(start, end, times)
    return input_activity_weighting_events(t, offsets, n_steps, dt, tau_acc)


def input_activity_weighting_events(times, offsets, n_steps, dt,
                                    tau_acc=20.0):
    """``input_activity_weighting`` for data per sample in time order
    (a SpikeDataset's times and offsets)."""
    if tau_acc <= 0 or dt <= 0 or n_steps < 1:
        raise ValueError("tau_acc, dt and n_steps must be positive")
    offsets = np.asarray(offsets, np.int64)
    n_samples = len(offsets) - 1
    sample = np.repeat(np.arange(n_samples), np.diff(offsets))
    return _weighting(np.asarray(times, np.float64), sample, n_samples,
                      n_steps, dt, tau_acc)


def _weighting(t, sample, n_samples, n_steps, dt, tau_acc):
    # step n collects the spikes in (t_n, t_{n+1}] (t_j = 0 goes to step 0),
    # each decayed to t_{n+1}; then a[n] = a[n-1] e^{-dt/tau} + that
    n = np.maximum(np.ceil(t / dt - 1e-9).astype(np.int64) - 1, 0)
    keep = n < n_steps
    inc = np.zeros((n_samples, n_steps))
    np.add.at(inc, (sample[keep], n[keep]),
              np.exp(-((n[keep] + 1) * dt - t[keep]) / tau_acc))
    a = np.empty_like(inc)
    decay = np.exp(-dt / tau_acc)
    acc = np.zeros(n_samples)
    for k in range(n_steps):
        acc = acc * decay + inc[:, k]
        a[:, k] = acc
    mean = a.mean(axis=1, keepdims=True)
    return np.where(mean > 0, a / np.where(mean > 0, mean, 1.0), 1.0)
