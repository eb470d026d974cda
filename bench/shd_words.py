"""SHD training on spoken words with held-out speakers (a benchmark, not a test).

    python bench/shd_words.py DATA_DIR [--seeds 1,2] [--baseline-only] [--baseline-grid] [--peers]
                              [--bptt EPOCHS] [--normalise-duration MS] [--ensemble]
                              [KEY=VALUE ...]

DATA_DIR holds shd_train.h5 / shd_test.h5 in SHD's layout, e.g. the
spoken-words development set written by the project's data tool
(`make_spoken_words.py OUT_DIR`: 20 words, 12 synthetic speakers, 4 of them
only in the test file). SHD itself works the same way.

Prints one JSON line per run:
- the non-spiking floor: softmax regression on spike counts binned into 35
  channel bands x 10 time bins (each sample's active span cut into ten),
  fitted on the training file and tested on the test file; with
  --baseline-grid, for a grid of band / bin counts and L2 strengths, and
  fitted on 2 .. all of the training speakers;
- with --peers, non-spiking temporal models without that normalisation (a
  GRU, and a temporal CNN read out by the mean or the max over time);
- with --bptt EPOCHS, the SNN of the README's best settings (delayed input
  copies, recurrent LIF layer, sum_weigh_exp readout, channel shifts)
  trained by BPTT with a surrogate gradient in torch (batch 32, Adam 2e-3):
  the field's standard training of the same network;
- the SNN (``SHDModel(p).train(p)``, then ``test`` of the last and of the best
  validation epoch) for each seed, with the SHD defaults unless overridden
  by KEY=VALUE (values as on the command line of train_scripts);
- with --ensemble, the seeds' networks as one ensemble
  (``simulators.ensemble``: class probabilities averaged per test sample).
``--normalise-duration MS`` runs everything on a copy of the files with each
sample's spikes stretched onto MS milliseconds (the floor's normalisation,
given to the SNN too). Records: test accuracy (overall and per test speaker), best validation
accuracy, epochs, s/epoch (wall) and CPU s/epoch, load average, the last
epoch's hidden rate and fraction of hidden neurons silent all epoch, and how
many spikes overflowed the spike buffers over the run.
"""
import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

N_BANDS, N_BINS = 35, 10


def binned_counts(ds, n_bands=N_BANDS, n_bins=N_BINS):
    """(n_samples, n_bands * n_bins) spike counts, time bins spanning each
    sample's first to last spike (duration-normalised), log-compressed."""
    ids = ds.sample_ids()
    t = ds.times.astype(np.float64)
    first = np.full(len(ds), np.inf)
    last = np.full(len(ds), -np.inf)
    np.minimum.at(first, ids, t)
    np.maximum.at(last, ids, t)
    span = np.maximum(last - first, 1e-9)
    tb = np.clip(((t - first[ids]) / span[ids] * n_bins).astype(np.int64), 0, n_bins - 1)
    band = (ds.units.astype(np.int64) * n_bands) // ds.n_units
    x = np.zeros((len(ds), n_bands * n_bins))
    np.add.at(x, (ids, band * n_bins + tb), 1.0)
    return np.log1p(x)


def softmax_regression(x, y, n_classes, l2=1e-3):
    """Multinomial logistic regression by L-BFGS; returns (W, b, mean, std)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = (x - mu) / sd
    n, d = xs.shape
    onehot = np.eye(n_classes)[y]

    def f(theta):
        W = theta[:d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes:]
        z = xs @ W + b
        lse = logsumexp(z, axis=1)
        loss = np.mean(lse - (z * onehot).sum(axis=1)) + 0.5 * l2 * np.sum(W * W)
        p = np.exp(z - lse[:, None])
        g = (p - onehot) / n
        return loss, np.concatenate([(xs.T @ g + l2 * W).ravel(), g.sum(axis=0)])

    theta = np.zeros(d * n_classes + n_classes)
    res = minimize(f, theta, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    W = res.x[:d * n_classes].reshape(d, n_classes)
    return W, res.x[d * n_classes:], mu, sd


def split_files(data_dir, trial_ms):
    """The training and test files at dt 1 ms (read once for every
    non-spiking model and peer) and the number of classes."""
    from simulators.datasets import load_shd
    tr = load_shd(data_dir, "SHD", "train", dt_ms=1.0, trial_ms=trial_ms)
    te = load_shd(data_dir, "SHD", "test", dt_ms=1.0, trial_ms=trial_ms)
    return tr, te, int(max(tr.labels.max(), te.labels.max())) + 1


def baseline(files, n_bands=N_BANDS, n_bins=N_BINS, l2=1e-3):
    tr, te, n_classes = files
    t0 = time.perf_counter()
    W, b, mu, sd = softmax_regression(binned_counts(tr, n_bands, n_bins),
                                      tr.labels, n_classes, l2=l2)
    pred = np.argmax(((binned_counts(te, n_bands, n_bins) - mu) / sd) @ W + b,
                     axis=1)
    rows = np.stack([np.arange(len(te)), te.labels, pred], 1)
    return {"bench": "shd_words", "model": "softmax_regression_binned_counts",
            "features": f"{n_bands} bands x {n_bins} time bins", "l2": l2,
            "n_train": len(tr), "n_test": len(te),
            "test_acc": round(float(np.mean(pred == te.labels)), 4),
            "test_acc_per_speaker": per_speaker(rows, te),
            "fit_s": round(time.perf_counter() - t0, 2)}


def baseline_by_speakers(files, draws=4, seed=0):
    """The floor (35 x 10, L2 1e-3) fitted on k of the training speakers,
    k = 2 .. all, ``draws`` random choices of speakers per k: whether more
    voices of the same kind would carry it further."""
    tr, te, n_classes = files
    if tr.speakers is None:
        raise ValueError("the training file names no speakers")
    xtr, xte = binned_counts(tr), binned_counts(te)
    speakers = np.unique(tr.speakers)
    rng = np.random.default_rng(seed)
    for k in range(2, len(speakers) + 1):
        accs = []
        for _ in range(draws if k < len(speakers) else 1):
            keep = np.isin(tr.speakers, rng.choice(speakers, k, replace=False))
            W, b, mu, sd = softmax_regression(xtr[keep], tr.labels[keep], n_classes)
            accs.append(float(np.mean(np.argmax(((xte - mu) / sd) @ W + b, axis=1)
                                      == te.labels)))
        yield {"bench": "shd_words", "model": "softmax_regression_binned_counts",
               "features": f"{N_BANDS} bands x {N_BINS} time bins",
               "n_train_speakers": k, "test_acc": round(float(np.mean(accs)), 4),
               "test_acc_draws": [round(x, 4) for x in accs]}


# the floor's features and L2 varied around the 35 x 10: how far a
# tuned non-spiking model of this kind gets on the held-out voices
BASELINE_GRID = [(b, t, l2) for l2 in (1e-3, 1e-2, 1e-1) for b, t in
                 ((20, 10), (35, 5), (35, 10), (35, 15), (50, 10), (70, 10))]


def temporal_peers(files, trial_ms, seed=1, epochs=40):
    """Non-spiking temporal models on log spike counts (35 channel bands x
    10 ms bins, absolute time): a GRU (128 units, time-averaged readout) and
    a 2-layer temporal CNN (64 channels, kernels of 5 bins) read out through
    the mean or the max over time. They show how far models without the
    floor's duration normalisation get on the held-out voices. Needs torch
    (the [bench] extra)."""
    import torch
    from torch import nn
    torch.set_num_threads(1)
    tr, te, n_classes = files
    n_bins = int(np.ceil(trial_ms / 10.0))

    def dense(ds):
        x = np.zeros((len(ds), n_bins, N_BANDS), np.float32)
        tb = np.minimum((ds.times / 10.0).astype(np.int64), n_bins - 1)
        band = ds.units.astype(np.int64) * N_BANDS // ds.n_units
        np.add.at(x, (ds.sample_ids(), tb, band), 1.0)
        return torch.from_numpy(np.log1p(x))

    class GRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.out = nn.GRU(N_BANDS, 128, batch_first=True), nn.Linear(128, n_classes)

        def forward(self, x):
            return self.out(self.rnn(x)[0]).mean(1)

    class CNN(nn.Module):
        def __init__(self, pool):
            super().__init__()
            self.pool = pool
            self.conv = nn.Sequential(nn.Conv1d(N_BANDS, 64, 5, padding=2), nn.ReLU(),
                                      nn.MaxPool1d(2), nn.Conv1d(64, 64, 5, padding=2),
                                      nn.ReLU())
            self.out = nn.Linear(64, n_classes)

        def forward(self, x):
            h = self.conv(x.transpose(1, 2))
            return self.out(h.max(2).values if self.pool == "max" else h.mean(2))

    xtr, xte = dense(tr), dense(te)
    ytr, yte = torch.from_numpy(tr.labels.astype(np.int64)), torch.from_numpy(te.labels.astype(np.int64))
    out = []
    for name, make in (("gru_mean", GRU), ("cnn_mean", lambda: CNN("mean")),
                       ("cnn_max", lambda: CNN("max"))):
        torch.manual_seed(seed)
        net = make()
        opt = torch.optim.Adam(net.parameters(), 2e-3)
        t0 = time.perf_counter()
        for _ in range(epochs):
            net.train()
            for b in torch.randperm(len(xtr)).split(32):
                loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            pred = net(xte).argmax(1).numpy()
        rows = np.stack([np.arange(len(te)), te.labels, pred], 1)
        out.append({"bench": "shd_words", "model": name, "seed": seed, "epochs": epochs,
                    "features": f"{N_BANDS} bands x 10 ms bins",
                    "test_acc": round(float(np.mean(pred == te.labels)), 4),
                    "test_acc_per_speaker": per_speaker(rows, te),
                    "fit_s": round(time.perf_counter() - t0, 1)})
    return out


def bptt_peer(files, trial_ms, seed=1, epochs=40, batch=32, lr=2e-3, hidden=256,
              n_delay=2, delay_ms=100.0, max_shift=40):
    """The SNN of the best settings trained by BPTT with a surrogate gradient
    instead of EventProp: 700 channels plus ``n_delay`` copies delayed by
    multiples of ``delay_ms``, ``hidden`` recurrent LIF neurons (tau_m 20 ms,
    tau_syn 5 ms, threshold 1, reset to 0, the package's exact-step update
    and weight initialisation), 20 leaky-integrator outputs read out by the
    ``sum_weigh_exp`` time sum, cross-entropy, Adam, channel shifts of up to
    ``max_shift``; dt 1 ms. A fast-sigmoid surrogate (slope 10) stands in
    for the spike's derivative and the reset is not differentiated, as is
    usual. It shows what the field's standard training of the same network
    reaches on the held-out voices. Needs torch (the [bench] extra)."""
    import torch
    from simulators.datasets import random_shift
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dt, tau_m, tau_s = 1.0, 20.0, 5.0
    am, as_ = float(np.exp(-dt / tau_m)), float(np.exp(-dt / tau_s))
    cvi = tau_s / (tau_m - tau_s) * (am - as_)
    tr, te, n_classes = files
    n_steps, n_ch = int(round(trial_ms / dt)), tr.n_units
    g = torch.exp(-(torch.arange(n_steps, dtype=torch.float32) + 0.5) * dt / trial_ms)
    d_steps = int(round(delay_ms / dt))

    def dense(ds, idx):
        x = np.zeros((n_steps, len(idx), n_ch * (1 + n_delay)), np.float32)
        for j, s in enumerate(idx):
            a, b = ds.offsets[s], ds.offsets[s + 1]
            k = np.minimum((ds.times[a:b] / dt).astype(np.int64), n_steps - 1)
            u = ds.units[a:b].astype(np.int64)
            for d in range(1 + n_delay):
                kd = k + d * d_steps
                ok = kd < n_steps
                np.add.at(x, (kd[ok], j, u[ok] + d * n_ch), 1.0)
        return torch.from_numpy(x)

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v >= 0.0).float()

        @staticmethod
        def backward(ctx, grad):
            v, = ctx.saved_tensors
            return grad / (10.0 * v.abs() + 1.0) ** 2

    w_in = torch.nn.Parameter(0.03 + 0.01 * torch.randn(n_ch * (1 + n_delay), hidden))
    w_rec = torch.nn.Parameter(0.02 * torch.randn(hidden, hidden))
    w_out = torch.nn.Parameter(0.03 * torch.randn(hidden, n_classes))

    def forward(x):
        # unbind: indexing a (T, B, H) tensor step by step would make its
        # backward add T full-size zero tensors
        inp = (x.reshape(-1, x.shape[-1]) @ w_in).reshape(
            n_steps, x.shape[1], hidden).unbind(0)
        B = x.shape[1]
        v, i, s = (torch.zeros(B, hidden) for _ in range(3))
        vo, io = torch.zeros(B, n_classes), torch.zeros(B, n_classes)
        z, n_spk = torch.zeros(B, n_classes), 0.0
        for k in range(n_steps):
            i = i + inp[k] + s @ w_rec
            v = v * am + i * cvi
            i = i * as_
            s = Spike.apply(v - 1.0)
            v = v * (1.0 - s.detach())
            io = io + s @ w_out
            vo = vo * am + io * cvi
            io = io * as_
            z = z + g[k] * vo
            n_spk += float(s.detach().sum())
        return z * dt / trial_ms, n_spk / (B * hidden * trial_ms * 1e-3)

    opt = torch.optim.Adam([w_in, w_rec, w_out], lr)
    y_tr = torch.from_numpy(tr.labels.astype(np.int64))
    t0 = time.perf_counter()
    for ep in range(epochs):
        ds = random_shift(tr, max_shift, rng) if max_shift else tr
        correct, rate = 0, []
        for b in np.array_split(rng.permutation(len(ds)), max(1, len(ds) // batch)):
            z, r = forward(dense(ds, b))
            loss = torch.nn.functional.cross_entropy(z, y_tr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((z.argmax(1) == y_tr[b]).sum())
            rate.append(r)
        print(f"bptt epoch {ep}: train {correct / len(ds):.3f}, hidden "
              f"{np.mean(rate):.1f} Hz, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
    pred = np.empty(len(te), np.int64)
    with torch.no_grad():
        for b in np.array_split(np.arange(len(te)), max(1, len(te) // 64)):
            pred[b] = forward(dense(te, b))[0].argmax(1).numpy()
    rows = np.stack([np.arange(len(te)), te.labels, pred], 1)
    return {"bench": "shd_words", "model": "snn_bptt", "seed": seed, "epochs": epochs,
            "settings": {"hidden": hidden, "batch": batch, "lr": lr, "n_delay": n_delay,
                         "delay_ms": delay_ms, "max_shift": max_shift},
            "train_acc": round(correct / len(tr), 4),
            "test_acc": round(float(np.mean(pred == te.labels)), 4),
            "test_acc_per_speaker": per_speaker(rows, te),
            "s_per_epoch": round((time.perf_counter() - t0) / epochs, 1)}


def per_speaker(preds, ds):
    """{speaker: accuracy} of (sample, label, prediction) rows."""
    if ds.speakers is None or not len(preds):
        return {}
    spk = ds.speakers[preds[:, 0]]
    return {int(s): round(float(np.mean(preds[spk == s, 1] == preds[spk == s, 2])), 4)
            for s in np.unique(spk)}


def snn(data_dir, seed, overrides, members=None):
    from params.shd import defaults
    from simulators.shd import SHDModel
    from train_scripts.cli import parse_value
    p = defaults()
    p.update({"DATA_DIR": data_dir, "OUT_DIR": tempfile.mkdtemp(prefix="shd_words_"),
              "NAME": f"seed{seed}", "MODEL_SEED": seed, "N_THREADS": 1})
    for kv in overrides:
        k, v = kv.split("=", 1)
        p[k] = parse_value(v)
    m = SHDModel(p)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    hist = m.train(p)["history"]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    q = dict(p)
    q["REC_PREDICTIONS"] = True
    last = m.test(q)
    out = {"bench": "shd_words", "model": "snn", "seed": seed,
           "overrides": overrides, "epochs": len(hist),
           "n_train": hist[-1]["train_n"], "n_val": hist[-1].get("val_n", 0),
           "train_acc": round(hist[-1]["train_acc"], 4),
           "val_acc_best": round(max(h.get("val_acc", 0.0) for h in hist), 4),
           "test_acc": round(last["acc"], 4),
           "test_acc_per_speaker": per_speaker(last["predictions"], m.datasets["test"]),
           "hid_rate": round(hist[-1]["train_hid0_rate"], 2),
           "hid_silent": round(hist[-1]["train_hid0_silent"], 3),
           "spikes_overflowed": int(getattr(m.net, "overflow_count", 0)),
           "s_per_epoch": round(float(np.mean([h["time_s"] for h in hist])), 2),
           "cpu_s_per_epoch": round(cpu / len(hist), 2),
           "load_avg": round(os.getloadavg()[0], 2),
           "machine": f"{platform.machine()} {os.cpu_count()} cores"}
    if p["CHECKPOINT"] and p["N_VALIDATE"]:
        q = dict(p)
        q["LOAD_BEST"] = q["REC_PREDICTIONS"] = True
        best = m.test(q)
        out["test_acc_best_val"] = round(best["acc"], 4)
        out["test_acc_best_val_per_speaker"] = per_speaker(best["predictions"],
                                                           m.datasets["test"])
    if members is not None:
        members.setdefault("last", []).append(_member(last))
        if p["CHECKPOINT"] and p["N_VALIDATE"]:
            members.setdefault("best_val", []).append(_member(best))
        members["test"] = m.datasets["test"]
    return out


def _member(res):
    pr = res["predictions"]
    return pr[:, 0], pr[:, 1], res["scores"]


def ensemble_rows(members, seeds):
    """The seeds' networks as one ensemble (class probabilities averaged per
    test sample), for the last and the best-validation epochs."""
    from simulators.ensemble import combine
    out = {"bench": "shd_words", "model": "snn_ensemble", "seeds": seeds}
    for kind in ("last", "best_val"):
        if kind not in members:
            continue
        res = combine(members[kind])
        rows = np.stack([res["ids"], res["labels"], res["pred"]], 1)
        key = "test_acc" if kind == "last" else "test_acc_best_val"
        out[key] = round(res["acc"], 4)
        out[key + "_per_speaker"] = per_speaker(rows, members["test"])
        out[key + "_members"] = [round(x, 4) for x in res["member_acc"]]
    return out


def duration_normalised_copy(data_dir, span_ms):
    """A copy of the SHD-layout files in a temporary folder with every
    sample's spikes mapped linearly from its first..last spike onto
    50 ms .. 50 + span_ms ms (the floor's duration normalisation, given to
    every model)."""
    import h5py
    out = tempfile.mkdtemp(prefix="shd_words_normalised_")
    for name in ("shd_train.h5", "shd_test.h5"):
        with h5py.File(os.path.join(data_dir, name)) as f, \
                h5py.File(os.path.join(out, name), "w") as g:
            times = f["spikes"]["times"]
            new = []
            for t in times:
                t = np.asarray(t)
                lo, hi = (t.min(), t.max()) if t.size else (0.0, 1.0)
                new.append((0.05 + (t - lo) / max(hi - lo, 1e-6) * (span_ms / 1000.0))
                           .astype(t.dtype))
            sp = g.create_group("spikes")
            sp.create_dataset("times", (len(new),), data=new,
                              dtype=h5py.vlen_dtype(times[0].dtype))
            units = f["spikes"]["units"]
            sp.create_dataset("units", (len(units),), data=list(units),
                              dtype=h5py.vlen_dtype(units[0].dtype))
            g.create_dataset("labels", data=f["labels"][:])
            ex = g.create_group("extra")
            for k in f["extra"]:
                ex.create_dataset(k, data=f["extra"][k][:])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--baseline-only", action="store_true")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--peers", action="store_true",
                    help="also the non-spiking temporal models (needs torch: [bench] extra)")
    ap.add_argument("--bptt", type=int, metavar="EPOCHS",
                    help="also the same SNN trained by BPTT with a surrogate gradient "
                    "for EPOCHS epochs (needs torch: [bench] extra)")
    ap.add_argument("--normalise-duration", type=float, metavar="MS",
                    help="run on a copy with every sample stretched to MS "
                    "(first to last spike), as the floor's bins are")
    ap.add_argument("--baseline-grid", action="store_true",
                    help="the floor for several band / bin counts and L2 "
                    "strengths instead of the one of 35 x 10, L2 1e-3, and "
                    "fitted on 2 .. all training speakers")
    ap.add_argument("--ensemble", action="store_true",
                    help="also the seeds' networks as one ensemble (mean class "
                    "probabilities per test sample)")
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_intermixed_args()
    if a.normalise_duration:
        a.data_dir = duration_normalised_copy(a.data_dir, a.normalise_duration)
    trial = [kv.split("=", 1)[1] for kv in a.overrides if kv.startswith("TRIAL_MS=")]
    trial_ms = float(trial[-1]) if trial else 1400.0
    if not a.no_baseline or a.peers or a.bptt:
        files = split_files(a.data_dir, trial_ms)
    if not a.no_baseline:
        grid = BASELINE_GRID if a.baseline_grid else [(N_BANDS, N_BINS, 1e-3)]
        for b, t, l2 in grid:
            print(json.dumps(baseline(files, b, t, l2)), flush=True)
        if a.baseline_grid:
            for row in baseline_by_speakers(files):
                print(json.dumps(row), flush=True)
    if a.peers:
        for r in temporal_peers(files, trial_ms):
            print(json.dumps(r), flush=True)
    if a.bptt:
        print(json.dumps(bptt_peer(files, trial_ms, epochs=a.bptt)), flush=True)
    if a.baseline_only:
        return 0
    members = {} if a.ensemble else None
    seeds = [int(s) for s in a.seeds.split(",")]
    for s in seeds:
        print(json.dumps(snn(a.data_dir, s, a.overrides, members)), flush=True)
    if a.ensemble:
        print(json.dumps(ensemble_rows(members, seeds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
