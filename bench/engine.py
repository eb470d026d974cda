"""Engine throughput: 700-256-20 dense LIF network, exponential synapses.

Batch 32, dt 1 ms, Poisson input at RATE_HZ per channel. Prints one JSON line
per thread count with neuron updates/s and synaptic events/s.

    python bench/engine.py [--steps 2000] [--threads 1,0]   (0 = all cores)
"""
import argparse
import json
import os
import platform
import time

import numpy as np

from genn_engine import (GeNNModel, create_neuron_model, init_postsynaptic,
                         init_var, init_weight_update)

lif = create_neuron_model(
    "bench_lif", params=["tau_m", "V_th"],
    derived_params=[("alpha", lambda p, dt: np.exp(-dt / p["tau_m"]))],
    vars=[("V", "scalar")],
    sim_code="V = Isyn + (V - Isyn) * alpha;",
    threshold_condition_code="V >= V_th", reset_code="V = 0.0;")


def build(threads, rate_hz):
    m = GeNNModel("float", "bench_engine", num_threads=threads)
    m.dt = 1.0
    m.batch_size = 32
    m.seed = 1
    inp = m.add_neuron_population("inp", 700, "PoissonNew", {"rate": rate_hz},
                                  {"timeStepToSpike": 0.0})
    hid = m.add_neuron_population("hid", 256, lif, {"tau_m": 20.0, "V_th": 1.0},
                                  {"V": 0.0})
    out = m.add_neuron_population("out", 20, lif, {"tau_m": 20.0, "V_th": 1.0},
                                  {"V": 0.0})
    for name, pre, post, mean in (("in_hid", inp, hid, 0.08),
                                  ("hid_out", hid, out, 0.2)):
        m.add_synapse_population(
            name, "DENSE", pre, post,
            init_weight_update("StaticPulse", {}, {"g": init_var(
                "Normal", {"mean": mean, "sd": 0.05})}),
            init_postsynaptic("ExpCurr", {"tau": 5.0}))
    for p in (inp, hid, out):
        p.spike_recording_enabled = True
    m.build()
    return m, (inp, hid, out)


def run(threads, steps, rate_hz):
    m, pops = build(threads, rate_hz)
    m.load(num_recording_timesteps=steps)
    m.run_steps(50)                      # warm up threads and caches
    t0 = time.perf_counter()
    for _ in range(200):
        m.step_time()
    per_call = (time.perf_counter() - t0) / 200
    m.timestep = 0
    t0 = time.perf_counter()
    m.run_steps(steps)
    wall = time.perf_counter() - t0
    n_spk = [sum(len(t) for t, _ in p.spike_recording_data) for p in pops]
    syn_events = n_spk[0] * 256 + n_spk[1] * 20
    neurons = (700 + 256 + 20) * 32 * steps
    return {"bench": "engine", "threads": m.num_threads, "batch": 32,
            "steps": steps, "wall_s": round(wall, 4),
            "neuron_updates_per_s": round(neurons / wall),
            "syn_events_per_s": round(syn_events / wall),
            "us_per_step": round(1e6 * wall / steps, 2),
            "us_per_step_time_call": round(1e6 * per_call, 2),
            "spikes": {"input": n_spk[0], "hidden": n_spk[1],
                       "output": n_spk[2]},
            "machine": f"{platform.processor() or platform.machine()} "
                       f"{os.cpu_count()} cores"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", default="1,0")
    ap.add_argument("--rate", type=float, default=5.0)
    a = ap.parse_args()
    for th in a.threads.split(","):
        th = int(th) or os.cpu_count()
        print(json.dumps(run(th, a.steps, a.rate)))


if __name__ == "__main__":
    main()
