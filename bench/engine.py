"""Engine throughput: 700-256-20 dense LIF network, exponential synapses.

dt 1 ms, Poisson input at RATE_HZ per channel. Prints one JSON line per run
with sample-steps/s (one sample advanced one time step), neuron updates/s,
synaptic events/s and CPU seconds, so runs on a busy machine can be compared.

    python bench/engine.py [--steps 2000] [--threads 1,0] [--batch 32]
    python bench/engine.py --genn      # also real pygenn, side by side

``--genn`` adds, in the same invocation, real GeNN (pygenn, CPU backend,
optimised build; batch 1, the only batch size GeNN's CPU backend runs) and
the engine at batch 1 driven the same way (one ``step_time()`` per step)
and in one ``run_steps`` call.
"""
import argparse
import json
import os
import platform
import resource
import tempfile
import time

import numpy as np

import genn_engine


def _lif(api):
    return api.create_neuron_model(
        "bench_lif", params=["tau_m", "V_th"],
        derived_params=[("alpha", lambda p, dt: np.exp(-dt / p["tau_m"]))],
        vars=[("V", "scalar")],
        sim_code="V = Isyn + (V - Isyn) * alpha;",
        threshold_condition_code="V >= V_th", reset_code="V = 0.0;")


def build(api, batch, rate_hz, threads=None):
    if api is genn_engine:
        m = api.GeNNModel("float", "bench_engine", num_threads=threads)
    else:   # real pygenn: optimised, double time as the engine keeps it
        m = api.GeNNModel("float", "bench_genn", backend="single_threaded_cpu",
                          time_precision="double", optimize_code=True)
    m.dt = 1.0
    m.batch_size = batch
    m.seed = 1
    lif = _lif(api)
    inp = m.add_neuron_population("inp", 700, "Poisson", {"rate": rate_hz},
                                  {"timeStepToSpike": 0.0})
    hid = m.add_neuron_population("hid", 256, lif, {"tau_m": 20.0, "V_th": 1.0},
                                  {"V": 0.0})
    out = m.add_neuron_population("out", 20, lif, {"tau_m": 20.0, "V_th": 1.0},
                                  {"V": 0.0})
    for name, pre, post, mean in (("in_hid", inp, hid, 0.08),
                                  ("hid_out", hid, out, 0.2)):
        m.add_synapse_population(
            name, "DENSE", pre, post,
            api.init_weight_update("StaticPulse", {}, {"g": api.init_var(
                "Normal", {"mean": mean, "sd": 0.05})}),
            api.init_postsynaptic("ExpCurr", {"tau": 5.0}))
    for p in (inp, hid, out):
        p.spike_recording_enabled = True
    if api is genn_engine:
        m.build()
    else:
        d = tempfile.mkdtemp(prefix="bench_genn_")
        m.build(path_to_model=d)
    return m, (inp, hid, out)


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(api, batch, steps, rate_hz, threads=None, stepwise=False):
    m, pops = build(api, batch, rate_hz, threads)
    m.load(num_recording_timesteps=steps)
    step = m.step_time if stepwise or api is not genn_engine else None
    for _ in range(50):                  # warm up threads and caches
        m.step_time()
    m.pull_recording_buffers_from_device()
    c0, t0 = _cpu(), time.perf_counter()
    if step is None:
        m.run_steps(steps)
    else:
        for _ in range(steps):
            step()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    m.pull_recording_buffers_from_device()
    data = [p.spike_recording_data for p in pops]
    n_spk = [sum(len(t) for t, _ in d) for d in data]
    samples = batch * steps
    name = "engine" if api is genn_engine else "genn"
    return {"bench": name, "driven_by": "step_time" if step else "run_steps",
            "threads": min(m.num_threads, batch) if api is genn_engine else 1,
            "batch": batch, "steps": steps, "wall_s": round(wall, 4),
            "cpu_s": round(cpu, 4),
            "sample_steps_per_s": round(samples / wall),
            "sample_steps_per_cpu_s": round(samples / max(cpu, 1e-9)),
            "neuron_updates_per_s": round((700 + 256 + 20) * samples / wall),
            "syn_events_per_s": round((n_spk[0] * 256 + n_spk[1] * 20) / wall),
            "spikes_per_sample_step": {
                k: round(n / samples, 2)
                for k, n in zip(("input", "hidden", "output"), n_spk)},
            "load_avg": round(os.getloadavg()[0], 2),
            "machine": f"{platform.processor() or platform.machine()} "
                       f"{os.cpu_count()} cores"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", default="1,0", help="engine thread counts "
                    "for the batched runs (0 = all cores)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--genn", action="store_true",
                    help="also real pygenn and the engine at batch 1")
    a = ap.parse_args()
    for th in a.threads.split(","):
        th = int(th) or os.cpu_count()
        print(json.dumps(run(genn_engine, a.batch, a.steps, a.rate, th)),
              flush=True)
    if a.genn:
        pygenn = genn_engine.get_backend("genn")
        print(json.dumps(run(pygenn, 1, a.steps, a.rate)), flush=True)
        print(json.dumps(run(genn_engine, 1, a.steps, a.rate, stepwise=True)),
              flush=True)
        print(json.dumps(run(genn_engine, 1, a.steps, a.rate)), flush=True)


if __name__ == "__main__":
    main()
