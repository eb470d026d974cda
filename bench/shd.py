"""SHD training speed and memory on synthetic data of SHD's size (a benchmark, not a test).

    python bench/shd.py [--threads 1,2] [--n-train 8156] [--epochs 1]
                        [--hidden 256] [--dt 1.0] [--sweep] [KEY=VALUE ...]

Standard configuration: 700 inputs, 256 hidden LIF, 20 outputs, batch 32,
dt 1 ms, 1.4 s trials, loss sum_weigh_exp (other keys: the SHD table's
defaults). The data are generated in memory with SHD's statistics: 8156
training samples (7644 + 512), 20 classes, 10 speakers, ~10^4 input spikes
per sample in a few drifting frequency bands over a 0.4-1 s utterance.
Only the training pass is timed (no validation split).

Every configuration (threads x hidden x dt) runs in a fresh subprocess so
that peak memory (getrusage ru_maxrss) is its own. One JSON line per
configuration: build_s (compile + load), s_per_epoch (wall, mean over
epochs), cpu_s_per_epoch (CPU time of all threads),
s_per_trial, samples_per_s, s_per_shd_epoch (time for 8156 samples at the
measured rate), peak_rss_data_mb (after generating the data),
peak_rss_mb (at the end; both getrusage high-water marks), rss_end_mb (the
resident size at the end) and resident_bytes_per_event (every copy of the
data still held after training: data set arrays not handed to the engine
plus the engine's buffers). ``--sweep`` runs hidden 64..1024 at dt 1 ms
and dt 0.5/2 ms at 256 hidden.
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

SHD_TRAIN = 8156
N_CLASSES = 20
N_SPEAKERS = 10


def synthetic_shd(n, seed, trial_ms=1400.0, dt=1.0, n_units=700, mean_spikes=10000,
                  chunk=256):
    """A SpikeDataset with SHD-like statistics (binned to ``dt``, cropped).

    Generated in chunks of samples so that the float64 temporaries stay
    small next to the result (8 bytes per event).
    """
    from simulators.datasets import SpikeDataset, offsets_from_counts
    from simulators.datasets.shd import bin_events
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    speakers = rng.integers(0, N_SPEAKERS, n)
    # 3 bands per class whose centres drift linearly over the utterance
    cls = np.random.default_rng(1234).uniform(80, 620, (N_CLASSES, 3, 2))
    times, units, counts = [], [], []
    for lo in range(0, n, chunk):
        m = min(n, lo + chunk) - lo
        cnt = np.maximum(rng.normal(mean_spikes, 0.2 * mean_spikes, m), 100).astype(np.int64)
        ids = np.repeat(np.arange(m), cnt)
        start = rng.uniform(20.0, 150.0, m)
        dur = rng.uniform(400.0, 1000.0, m)
        phase = rng.random(ids.size)                    # position in the utterance
        lab, spk = labels[lo:lo + m][ids], speakers[lo:lo + m][ids]
        band = rng.integers(0, 3, ids.size)
        c0, c1 = cls[lab, band, 0], cls[lab, band, 1]
        centre = c0 + (c1 - c0) * phase + 10.0 * (spk - 4.5)
        u = np.rint(centre + rng.normal(0, 25.0, ids.size)).astype(np.int64)
        t, uu, c = bin_events(start[ids] + phase * dur[ids], u, ids, m, dt, trial_ms,
                              n_units)
        times.append(t)
        units.append(uu)
        counts.append(c)
    return SpikeDataset(np.concatenate(times), np.concatenate(units),
                        offsets_from_counts(np.concatenate(counts)), labels, n_units,
                        speakers, trial_ms)


def run_one(cfg):
    """One configuration in this process; returns the JSON record."""
    from params.shd import defaults
    from simulators.shd import SHDModel
    from train_scripts.cli import parse_value

    p = defaults()
    p.update({"NUM_HIDDEN": cfg["hidden"], "DT_MS": cfg["dt"], "TRIAL_MS": 1400.0,
              "N_BATCH": 32, "LOSS_TYPE": "sum_weigh_exp", "N_TRAIN": cfg["n_train"],
              "N_VALIDATE": 0, "N_EPOCHS": cfg["epochs"], "N_THREADS": cfg["threads"],
              "MODEL_SEED": 1, "WRITE_TO_DISK": False, "CHECKPOINT": False,
              "OUT_DIR": tempfile.mkdtemp(prefix="shd_bench_")})
    for kv in cfg["overrides"]:
        k, v = kv.split("=", 1)
        p[k] = parse_value(v)
    t0 = time.perf_counter()
    data = {"train": synthetic_shd(cfg["n_train"], 1, p["TRIAL_MS"], p["DT_MS"]),
            "test": synthetic_shd(p["N_BATCH"], 2, p["TRIAL_MS"], p["DT_MS"])}
    gen_s = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    class SyntheticSHD(SHDModel):
        def _load(self, p, split):
            return data.pop(split)      # handed over, as a file's data would be

    spikes_per_sample = float(data["train"].counts().mean())
    data_bpe = _bytes_per_event(data["train"])
    t0 = time.perf_counter()
    m = SyntheticSHD(p)
    build_s = time.perf_counter() - t0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    hist = m.train(p)["history"]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds of the whole train() (all threads): less sensitive than wall
    # time to other work on a shared machine
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    per_epoch = float(np.mean([r["time_s"] for r in hist]))
    n = hist[-1]["train_n"]
    trials = -(-n // p["N_BATCH"]) + 1          # + the closing trial
    return {"bench": "shd", "threads": p["N_THREADS"], "hidden": p["NUM_HIDDEN"],
            "dt_ms": p["DT_MS"], "n_train": n, "epochs": len(hist),
            "spikes_per_sample": spikes_per_sample,
            "gen_s": round(gen_s, 2), "build_s": round(build_s, 2),
            "s_per_epoch": round(per_epoch, 3),
            "cpu_s_per_epoch": round(cpu / len(hist), 3),
            "s_per_trial": round(per_epoch / trials, 4),
            "samples_per_s": round(n / per_epoch, 2),
            "s_per_shd_epoch": round(per_epoch / n * SHD_TRAIN, 1),
            "train_acc": round(hist[-1]["train_acc"], 4),
            "hid_rate": round(hist[-1]["train_hid0_rate"], 2),
            "data_bytes_per_event": round(data_bpe, 2),
            "engine_input_bytes_per_event": _engine_bytes_per_event(m),
            "resident_bytes_per_event": _resident_bytes_per_event(m),
            "rss_end_mb": round(_rss_now_mb(), 1),
            "peak_rss_data_mb": round(rss_data, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                 / 1024.0, 1),
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            **_gpu_record(p)}


def _bytes_per_event(ds):
    return (ds.times.nbytes + ds.units.nbytes) / max(ds.n_events, 1)


def _resident_bytes_per_event(m):
    """Bytes per event of every copy of the data still held after training:
    the data sets' event arrays that were not handed to the engine, plus
    the engine's own buffers."""
    seen, held = set(), 0
    sets = list(m.datasets.values()) + list(m.on_device.values()) + [m.train_raw]
    for ds in sets:
        if ds is None or not ds.held:
            continue
        for a in (ds.times, ds.units):
            base = a if a.base is None else a.base
            if id(base) not in seen:
                seen.add(id(base))
                held += base.nbytes
    n_ev = sum(ds.n_events for ds in m.on_device.values())
    engine = (_engine_bytes_per_event(m) or 0) * n_ev
    return round((held + engine) / max(n_ev, 1), 2)


def _rss_now_mb():
    # freed heap memory that malloc keeps is not the program's: hand it back
    # first (glibc), so the figure is what is live
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _engine_bytes_per_event(m):
    """Bytes per event of the engine's own input buffers (None on backends
    without the event-driven input)."""
    inp = getattr(m.net, "inp", None)
    egps = getattr(inp, "extra_global_params", {})
    if "eventStep" not in egps:
        return None
    return sum(np.dtype(egps[k].view.dtype).itemsize for k in ("eventStep", "eventUnit"))


def _gpu_record(p):
    """GPU name and device memory in use at the end (backend cuda)."""
    if p.get("BACKEND") != "cuda":
        return {}
    from genn_engine.targets import cuda_runtime
    return {"backend": "cuda", **cuda_runtime.gpu_description(),
            "gpu_mem_used_mb": cuda_runtime.gpu_memory_used_mb()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--n-train", type=int, default=SHD_TRAIN,
                    help="training samples (SHD: 8156); fewer for a quick run")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", default="256", help="comma-separated hidden sizes")
    ap.add_argument("--dt", default="1.0", help="comma-separated time steps (ms)")
    ap.add_argument("--sweep", action="store_true",
                    help="hidden 64,128,256,512,1024 at dt 1; dt 0.5,2 at hidden 256")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_one(json.loads(a.child))), flush=True)
        return 0
    threads = [int(x) for x in a.threads.split(",")]
    if a.sweep:
        shapes = [(h, 1.0) for h in (64, 128, 256, 512, 1024)] + [(256, 0.5), (256, 2.0)]
    else:
        shapes = [(int(h), float(d)) for h in a.hidden.split(",") for d in a.dt.split(",")]
    rc = 0
    for th in threads:
        for h, d in shapes:
            cfg = {"threads": th, "hidden": h, "dt": d, "n_train": a.n_train,
                   "epochs": a.epochs, "overrides": a.overrides}
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                                json.dumps(cfg)], capture_output=True, text=True)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
            if r.returncode or not lines:
                rc = 1
                print(json.dumps({"bench": "shd", **cfg, "error": r.stderr[-2000:]}),
                      flush=True)
            else:
                print(lines[-1], flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
