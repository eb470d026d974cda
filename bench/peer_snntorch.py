"""This package against snnTorch BPTT on the SHD-sized network, back to back
(a benchmark, not a test; needs the [bench] extra: torch and snntorch).

    python bench/peer_snntorch.py [--n-train 128] [--threads 1] [--hidden 256]

Same network and data for both: 700 inputs, 256 hidden LIF (tau_m 20 ms,
tau_syn 5 ms, threshold 1, reset to 0), 20 leaky-integrator outputs, batch
32, dt 1 ms, 1.4 s trials, Adam (lr 1e-3), the synthetic SHD-like data of
bench/shd.py. The package trains with EventProp (loss sum_weigh_exp);
snnTorch with BPTT through snn.Synaptic neurons (fast-sigmoid surrogate), a
cross-entropy on the exponentially weighted time sum of the output membrane
potential (the same readout). Each side runs in its own subprocess with the
same thread count, so CPU seconds and peak memory are its own. Printed: one
JSON line per side (CPU s and wall s per sample, peak RSS, RSS of the data
held before training, the model's own memory = peak - data), then the ratios.
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
sys.path.insert(0, os.path.join(ROOT, "bench"))

T_MS, DT, BATCH = 1400.0, 1.0, 32


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _data(n):
    from shd import synthetic_shd
    return synthetic_shd(n, 1, T_MS, DT)


def run_package(cfg):
    from params.shd import defaults
    from simulators.shd import SHDModel
    ds = _data(cfg["n_train"])
    rss_data = _rss_mb()
    p = defaults()
    p.update({"NUM_HIDDEN": cfg["hidden"], "DT_MS": DT, "TRIAL_MS": T_MS,
              "N_BATCH": BATCH, "LOSS_TYPE": "sum_weigh_exp",
              "N_TRAIN": cfg["n_train"], "N_VALIDATE": 0, "N_EPOCHS": 1,
              "N_THREADS": cfg["threads"], "MODEL_SEED": 1, "PDROP_INPUT": 0.0,
              "WRITE_TO_DISK": False, "CHECKPOINT": False,
              "OUT_DIR": tempfile.mkdtemp(prefix="peer_bench_")})

    class Synthetic(SHDModel):
        def _load(self, p, split):
            return ds if split == "train" else ds.subset(np.arange(BATCH))

    m = Synthetic(p)            # builds (cached) and uploads the data
    c0, t0 = _cpu(), time.perf_counter()
    hist = m.train(p)["history"]
    cpu, wall = _cpu() - c0, time.perf_counter() - t0
    n = hist[-1]["train_n"]
    return {"side": "eventprop (this package)", "n": n, "cpu_s": cpu,
            "wall_s": wall, "peak_rss_mb": _rss_mb(), "data_rss_mb": rss_data,
            "train_acc": hist[-1]["train_acc"]}


def run_snntorch(cfg):
    import torch
    import snntorch as snn
    from snntorch import surrogate
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(1)
    ds = _data(cfg["n_train"])
    rss_data = _rss_mb()
    n_steps = int(round(T_MS / DT))
    alpha, beta = float(np.exp(-DT / 5.0)), float(np.exp(-DT / 20.0))
    H = cfg["hidden"]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(700, H, bias=False)
            self.fc2 = torch.nn.Linear(H, 20, bias=False)
            self.lif = snn.Synaptic(alpha=alpha, beta=beta, threshold=1.0,
                                    reset_mechanism="zero",
                                    spike_grad=surrogate.fast_sigmoid())
            self.li = snn.Synaptic(alpha=alpha, beta=beta, threshold=1e9,
                                   reset_mechanism="none")

        def forward(self, x):
            syn1, mem1 = self.lif.init_synaptic()
            syn2, mem2 = self.li.init_synaptic()
            w = torch.exp(-torch.arange(n_steps, dtype=torch.float32) / T_MS)
            z = 0.0
            for k in range(n_steps):
                spk1, syn1, mem1 = self.lif(self.fc1(x[k]), syn1, mem1)
                _, syn2, mem2 = self.li(self.fc2(spk1), syn2, mem2)
                z = z + w[k] * mem2
            return z * DT / T_MS

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    labels = torch.as_tensor(ds.labels, dtype=torch.long)
    n = len(ds)
    c0, t0 = _cpu(), time.perf_counter()
    correct = 0
    for lo in range(0, n, BATCH):
        idx = np.arange(lo, min(n, lo + BATCH))
        x = torch.zeros(n_steps, len(idx), 700)       # dense input, as BPTT needs
        for j, s in enumerate(idx):
            t, u = ds.sample(s) if hasattr(ds, "sample") else _events(ds, s)
            k = np.minimum((np.asarray(t) / DT).astype(np.int64), n_steps - 1)
            x[k, j, np.asarray(u, np.int64)] = 1.0
        z = net(x)
        loss = torch.nn.functional.cross_entropy(z, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += int((z.argmax(1) == labels[idx]).sum())
    cpu, wall = _cpu() - c0, time.perf_counter() - t0
    return {"side": "snntorch BPTT", "n": n, "cpu_s": cpu, "wall_s": wall,
            "peak_rss_mb": _rss_mb(), "data_rss_mb": rss_data,
            "train_acc": correct / n}


def _events(ds, s):
    a, b = ds.offsets[s], ds.offsets[s + 1]
    return ds.times[a:b], ds.units[a:b]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        cfg = json.loads(a.child)
        fn = run_package if cfg["side"] == "package" else run_snntorch
        print(json.dumps(fn(cfg)), flush=True)
        return 0
    out = {}
    for side in ("package", "snntorch"):
        cfg = {"side": side, "n_train": a.n_train, "threads": a.threads,
               "hidden": a.hidden}
        load0 = os.getloadavg()[0]
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                            json.dumps(cfg)], capture_output=True, text=True)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if r.returncode or not lines:
            print(json.dumps({"side": side, "error": r.stderr[-3000:]}))
            return 1
        rec = json.loads(lines[-1])
        rec.update(threads=a.threads, load_avg_before=round(load0, 2),
                   cpu_s_per_sample=round(rec["cpu_s"] / rec["n"], 4),
                   wall_s_per_sample=round(rec["wall_s"] / rec["n"], 4),
                   model_mb=round(rec["peak_rss_mb"] - rec["data_rss_mb"], 1),
                   machine=f"{platform.machine()} {os.cpu_count()} cores")
        out[side] = rec
        print(json.dumps(rec), flush=True)
    p, s = out["package"], out["snntorch"]
    print(json.dumps({
        "speedup_per_cpu_s": round(s["cpu_s_per_sample"] / p["cpu_s_per_sample"], 2),
        "speedup_wall": round(s["wall_s_per_sample"] / p["wall_s_per_sample"], 2),
        # with many samples the data set's own build can be the high-water
        # mark (peak == data): the model's memory is then not visible
        "model_memory_ratio": round(s["model_mb"] / p["model_mb"], 2)
        if p["model_mb"] > 0 else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
