"""DVS gesture and SMNIST: time per epoch and memory at the defaults (a benchmark, not a test).

    python bench/dvs_smnist.py [--which dvs,smnist,augment,shd_reader] [--threads 1]
                               [--n-train N] [--epochs 1] [KEY=VALUE ...]

Each run uses the benchmark's defaults (params/dvs_gesture.py,
params/smnist.py; KEY=VALUE overrides them) on synthetic data of the real
data sets' size and spike rates, in a fresh subprocess so that peak memory
(getrusage ru_maxrss) is its own; one JSON line each.  --n-train trains on
fewer samples and projects the epoch time to the full training split
(s_per_full_epoch: 1045 DVS gesture samples, 55000 SMNIST samples).

- dvs: 32 x 32 x 2 channels after Downsample(0.25); per sample a "hand"
  of ~20 x 20 sensor pixels moving over the 128 x 128 sensor, with
  --dvs-rate events per second (default 60000: DVS gesture's ~5 GB of
  8-byte events over its 122 recordings of ~11 gestures of ~6 s each gives
  ~60k events/s) plus 5 % background, binned and merged as the loader does;
  the first second of each sample (TRIAL_MS 1000).  The time to read
  samples of that size through tonic (.npy files in tonic's layout) is
  measured on 32 samples and projected to the 1341 of both splits.
- smnist: MNIST-like digits (2-4 anti-aliased strokes, grey edges, ~19 %
  lit pixels as in MNIST) written as IDX files and read through tonic's
  SMNIST, so the spike counts are those of its threshold code; also the
  one-off tonic read, projected to 70000 images.
- augment: one epoch of augmentation of the DVS training split (1045
  samples) by tonic's per-sample transforms on raw events (TimeSkew,
  SpatialJitter; then re-binned) against the package's vectorised ones on
  the compact data (random_dilate, spatial_shift), which is why the
  package keeps its own.
- shd_reader: an SHD file in tonic's folder (2048 samples of 9000 spikes
  by default) read by the package's HDF5 reader and by tonic's SHD reader
  through tonic_to_dataset (same result), uncached: why SHD/SSC keep theirs.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DVS_TRAIN, DVS_ALL = 1045, 1341
SMNIST_TRAIN, SMNIST_ALL = 55000, 70000


def dvs_raw_events(rng, rate=60000.0, dur_ms=1000.0, label=0):
    """(x, y, p, t_ms) of one synthetic 128 x 128 gesture recording."""
    n = rng.poisson(rate * dur_ms / 1000.0)
    t = np.sort(rng.uniform(0, dur_ms, n))
    n_bg = n // 20
    phase = 2 * np.pi * (t / (400.0 + 60 * label) + rng.random())
    cx = 64 + 35 * np.cos(phase)
    cy = 64 + 35 * np.sin(phase * (1 + label % 3))
    x = np.clip(np.rint(cx + rng.normal(0, 7, n)), 0, 127).astype(np.int64)
    y = np.clip(np.rint(cy + rng.normal(0, 7, n)), 0, 127).astype(np.int64)
    x[:n_bg] = rng.integers(0, 128, n_bg)
    y[:n_bg] = rng.integers(0, 128, n_bg)
    p = rng.integers(0, 2, n)
    return x, y, p, t


def synthetic_dvs(n, seed, trial_ms, dt_ms, rate):
    from simulators.datasets import SpikeDataset, offsets_from_counts
    from simulators.datasets.shd import bin_events
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 11, n)
    speakers = rng.integers(1, 24, n)
    times, units, counts = [], [], []
    for lo in range(0, n, 64):
        hi = min(n, lo + 64)
        ts, us, ids = [], [], []
        for i in range(lo, hi):
            x, y, p, t = dvs_raw_events(rng, rate, trial_ms, labels[i])
            ts.append(t)
            us.append(((y // 4) * 32 + x // 4) * 2 + p)
            ids.append(np.full(len(t), i - lo))
        t, u, c = bin_events(np.concatenate(ts), np.concatenate(us), np.concatenate(ids),
                             hi - lo, dt_ms, trial_ms, 2048)
        times.append(t)
        units.append(u)
        counts.append(c)
    return SpikeDataset(np.concatenate(times), np.concatenate(units),
                        offsets_from_counts(np.concatenate(counts)), labels, 2048,
                        speakers, trial_ms)


def mnist_like(n, rng):
    """uint8 28 x 28 images of 2-4 thick anti-aliased strokes."""
    yy, xx = np.mgrid[0:28, 0:28].astype(float)
    img = np.zeros((n, 28, 28))
    for k in range(n):
        for _ in range(rng.integers(2, 5)):
            a, b = rng.uniform(6, 22, 2), rng.uniform(6, 22, 2)
            d = b - a
            s = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / (d @ d + 1e-9), 0, 1)
            dist = np.hypot(xx - a[0] - s * d[0], yy - a[1] - s * d[1])
            img[k] = np.maximum(img[k], np.clip(2.0 - dist / 1.2, 0, 1))
    return (img * 255).astype(np.uint8)


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _train(model_cls, p, data):
    class Synthetic(model_cls):
        def _load(self, p, split):
            return data[split]
    t0 = time.perf_counter()
    m = Synthetic(p)
    build_s = time.perf_counter() - t0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    hist = m.train(p)["history"]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    per_epoch = float(np.mean([r["time_s"] for r in hist]))
    return m, hist, build_s, per_epoch, cpu / len(hist)


def _params(defaults, cfg, prefix):
    from train_scripts.cli import parse_value
    p = defaults()
    p.update({"N_TRAIN": cfg["n_train"], "N_VALIDATE": 0, "N_EPOCHS": cfg["epochs"],
              "N_THREADS": cfg["threads"], "MODEL_SEED": 1, "WRITE_TO_DISK": False,
              "CHECKPOINT": False, "OUT_DIR": tempfile.mkdtemp(prefix=prefix)})
    for kv in cfg["overrides"]:
        k, v = kv.split("=", 1)
        p[k] = parse_value(v)
    return p


def run_dvs(cfg):
    from params.dvs_gesture import defaults
    from simulators.dvs_gesture import DVSGestureModel
    from simulators.datasets.dvs_gesture import load_dvs_gesture
    p = _params(defaults, cfg, "dvs_bench_")
    t0 = time.perf_counter()
    data = {"train": synthetic_dvs(cfg["n_train"], 1, p["TRIAL_MS"], p["DT_MS"],
                                   cfg["dvs_rate"]),
            "test": synthetic_dvs(p["N_BATCH"], 2, p["TRIAL_MS"], p["DT_MS"],
                                  cfg["dvs_rate"])}
    gen_s = time.perf_counter() - t0
    rss_data = _rss_mb()
    m, hist, build_s, per_epoch, cpu = _train(DVSGestureModel, p, data)
    # one-off read through tonic: 32 samples of ~6 s in tonic's layout
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as d:
        for i in range(32):
            x, y, pol, t = dvs_raw_events(rng, cfg["dvs_rate"], 6000.0, i % 11)
            f = os.path.join(d, "DVSGesture", "ibmGestureTrain", f"user{i // 11 + 1:02d}_led",
                             f"{i % 11}.npy")
            os.makedirs(os.path.dirname(f), exist_ok=True)
            np.save(f, np.stack([x, y, pol, np.rint(t)], 1).astype(np.int64))
        import tonic.datasets  # noqa: F401  (its import is not part of the read)
        t0 = time.perf_counter()
        load_dvs_gesture(d, "train", p["DT_MS"], p["TRIAL_MS"], use_cache=False)
        read_s = time.perf_counter() - t0
    n = hist[-1]["train_n"]
    return {"bench": "dvs_gesture", "threads": p["N_THREADS"], "hidden": p["NUM_HIDDEN"],
            "dt_ms": p["DT_MS"], "trial_ms": p["TRIAL_MS"], "n_batch": p["N_BATCH"],
            "n_train": n, "epochs": len(hist), "raw_events_per_s": cfg["dvs_rate"],
            "spikes_per_sample": round(float(data["train"].counts().mean()), 1),
            "gen_s": round(gen_s, 2), "build_s": round(build_s, 2),
            "s_per_epoch": round(per_epoch, 2), "cpu_s_per_epoch": round(cpu, 2),
            "s_per_full_epoch": round(per_epoch / n * DVS_TRAIN, 1),
            "hid_rate": round(hist[-1]["train_hid0_rate"], 2),
            "input_overflow": int(getattr(m.net, "overflow_count", 0)),
            "tonic_read_s_per_sample": round(read_s / 32, 3),
            "tonic_read_s_all": round(read_s / 32 * DVS_ALL, 1),
            "peak_rss_data_mb": round(rss_data, 1), "peak_rss_mb": round(_rss_mb(), 1),
            "machine": f"{platform.machine()} {os.cpu_count()} cores"}


def run_smnist(cfg):
    from params.smnist import defaults
    from simulators.smnist import SMNISTModel
    from simulators.datasets.smnist import load_smnist
    sys.path.insert(0, ROOT)
    from tests.tonic_files import write_idx
    p = _params(defaults, cfg, "smnist_bench_")
    rng = np.random.default_rng(1)
    n_test = p["N_BATCH"]
    with tempfile.TemporaryDirectory() as d:
        sm = os.path.join(d, "smnist")
        os.makedirs(sm)
        from pathlib import Path
        for prefix, n in (("train", cfg["n_train"]), ("t10k", n_test)):
            write_idx(Path(sm, f"{prefix}-images-idx3-ubyte"), mnist_like(n, rng))
            write_idx(Path(sm, f"{prefix}-labels-idx1-ubyte"), rng.integers(0, 10, n))
        import tonic.datasets  # noqa: F401  (its import is not part of the read)
        t0 = time.perf_counter()
        kw = dict(dt_ms=p["DT_MS"], trial_ms=p["TRIAL_MS"], duplicate=p["DUPLICATE"],
                  pixel_ms=p["PIXEL_MS"], use_cache=False)
        data = {"train": load_smnist(d, "train", **kw), "test": load_smnist(d, "test", **kw)}
        read_s = time.perf_counter() - t0
    rss_data = _rss_mb()
    m, hist, build_s, per_epoch, cpu = _train(SMNISTModel, p, data)
    n = hist[-1]["train_n"]
    return {"bench": "smnist", "threads": p["N_THREADS"], "hidden": p["NUM_HIDDEN"],
            "dt_ms": p["DT_MS"], "trial_ms": p["TRIAL_MS"], "duplicate": p["DUPLICATE"],
            "n_batch": p["N_BATCH"], "n_train": n, "epochs": len(hist),
            "spikes_per_sample": round(float(data["train"].counts().mean()), 1),
            "build_s": round(build_s, 2), "s_per_epoch": round(per_epoch, 2),
            "cpu_s_per_epoch": round(cpu, 2),
            "s_per_full_epoch": round(per_epoch / n * SMNIST_TRAIN, 1),
            "hid_rate": round(hist[-1]["train_hid0_rate"], 2),
            "tonic_read_s_all": round(read_s / (n + n_test) * SMNIST_ALL, 1),
            "peak_rss_data_mb": round(rss_data, 1), "peak_rss_mb": round(_rss_mb(), 1),
            "machine": f"{platform.machine()} {os.cpu_count()} cores"}


def run_augment(cfg):
    """Augmenting one DVS training epoch: tonic's transforms vs the package's."""
    import tonic.transforms as T
    from simulators.datasets.augment import random_dilate
    from simulators.datasets.dvs_gesture import spatial_shift
    from simulators.datasets.shd import bin_events
    n = min(cfg["n_train"], DVS_TRAIN)
    rng = np.random.default_rng(5)
    dtype = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
    raw = []
    for i in range(n):
        x, y, p, t = dvs_raw_events(rng, cfg["dvs_rate"], 1000.0, i % 11)
        ev = np.zeros(len(t), dtype)
        ev["x"], ev["y"], ev["p"], ev["t"] = x // 4, y // 4, p, np.rint(t * 1000)
        raw.append(ev)
    transform = T.Compose([T.TimeSkew(coefficient=(0.9, 1.1)),
                           T.SpatialJitter(sensor_size=(32, 32, 2), var_x=1, var_y=1,
                                           clip_outliers=True)])
    t0 = time.perf_counter()
    ts, us, ids = [], [], []
    for i, ev in enumerate(raw):
        e = transform(ev)
        ts.append(e["t"] / 1000.0)
        us.append((e["y"].astype(np.int64) * 32 + e["x"]) * 2 + e["p"])
        ids.append(np.full(len(e), i))
    bin_events(np.concatenate(ts), np.concatenate(us), np.concatenate(ids), n, 1.0, 1000.0,
               2048)
    tonic_s = time.perf_counter() - t0
    ds = synthetic_dvs(n, 1, 1000.0, 1.0, cfg["dvs_rate"])
    t0 = time.perf_counter()
    spatial_shift(random_dilate(ds, 0.9, 1.1, rng), 2, rng)
    ours_s = time.perf_counter() - t0
    return {"bench": "dvs_augment_epoch", "n_samples": n,
            "tonic_transforms_s": round(tonic_s, 2), "package_s": round(ours_s, 2),
            "raw_events": int(sum(len(r) for r in raw)), "binned_spikes": ds.n_events,
            "peak_rss_mb": round(_rss_mb(), 1),
            "machine": f"{platform.machine()} {os.cpu_count()} cores"}


def run_shd_reader(cfg):
    """Reading an SHD file of tonic's folder: the package's HDF5 reader
    against tonic.datasets.SHD through tonic_to_dataset (both uncached)."""
    import tonic
    from simulators.datasets.shd import load_shd
    from simulators.datasets.tonic_data import tonic_to_dataset
    from pathlib import Path
    from tests.tonic_files import write_tonic_shd
    n = min(cfg["n_train"], 8156)
    rng = np.random.default_rng(7)
    samples = [(np.sort(rng.uniform(0, 1.0, 9000)), rng.integers(0, 700, 9000))
               for _ in range(n)]
    with tempfile.TemporaryDirectory() as d:
        write_tonic_shd(Path(d), "train", samples, rng.integers(0, 20, n),
                        rng.integers(0, 10, n))
        t0 = time.perf_counter()
        ours = load_shd(d, "SHD", "train", 1.0, 1400.0, use_cache=False)
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reader = tonic.datasets.SHD(save_to=d, train=True)
        theirs = tonic_to_dataset(reader, 700, 1.0, 1400.0, speakers=reader.speaker)
        tonic_s = time.perf_counter() - t0
    # tonic truncates times to whole microseconds before binning: an event a
    # hair below a bin edge in seconds may land one bin lower
    same = ours.n_events == theirs.n_events and np.array_equal(ours.offsets, theirs.offsets)
    differ = int(np.sum((ours.times != theirs.times) | (ours.units != theirs.units))) \
        if same else None
    return {"bench": "shd_reader", "n_samples": n, "package_hdf5_s": round(ours_s, 2),
            "tonic_s": round(tonic_s, 2), "events": ours.n_events,
            "events_in_another_bin": differ,
            "machine": f"{platform.machine()} {os.cpu_count()} cores"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--which", default="dvs,smnist,augment,shd_reader")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts")
    ap.add_argument("--n-train", type=int, default=None,
                    help="training samples (default: the full split); fewer for a quick "
                         "run, the epoch time is projected to the full split")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dvs-rate", type=float, default=60000.0,
                    help="raw DVS events per second (128 x 128 sensor)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_args()
    runners = {"dvs": run_dvs, "smnist": run_smnist, "augment": run_augment,
               "shd_reader": run_shd_reader}
    if a.child:
        cfg = json.loads(a.child)
        print(json.dumps(runners[cfg["which"]](cfg)), flush=True)
        return 0
    rc = 0
    for which in a.which.split(","):
        full = {"dvs": DVS_TRAIN, "smnist": SMNIST_TRAIN, "augment": DVS_TRAIN,
                "shd_reader": 2048}[which]
        for th in (int(x) for x in a.threads.split(",")):
            cfg = {"which": which, "threads": th, "n_train": a.n_train or full,
                   "epochs": a.epochs, "dvs_rate": a.dvs_rate, "overrides": a.overrides}
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                                json.dumps(cfg)], capture_output=True, text=True)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
            if r.returncode or not lines:
                rc = 1
                print(json.dumps({**cfg, "error": r.stderr[-2000:]}), flush=True)
            else:
                print(lines[-1], flush=True)
            if which in ("augment", "shd_reader"):
                break
    return rc


if __name__ == "__main__":
    sys.exit(main())
