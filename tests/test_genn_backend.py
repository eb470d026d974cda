"""The same definitions on real GeNN (pygenn 5) and on genn_engine, side by side.

Skipped without pygenn. Real GeNN's CPU backend runs batch size 1, so every
comparison here is at batch 1, from the same initial state: equal forward
spikes, gradients equal to double-precision rounding, equal training
metrics. Paths that draw random numbers (dropout, RNG in threshold code)
differ stream by stream and are compared by their statistics.
"""
import dataclasses

import numpy as np
import pytest

pygenn = pytest.importorskip("pygenn")

import genn_engine as ge  # noqa: E402
from genn_models.network import (EventPropNetwork, HiddenLayer,  # noqa: E402
                                 NetworkConfig)
from genn_models.neurons import LOSS_TYPES  # noqa: E402
from tests.eventprop_harness import Case, to_neuron_major  # noqa: E402

N_IN, N_H, N_OUT, T, DT = 4, 6, 3, 25.0, 0.1
_rng = np.random.default_rng(5)
SAMPLE = [sorted(_rng.uniform(0, 18, _rng.integers(2, 5))) for _ in range(N_IN)]


def _weights(first_spike=False, rec=False, two_layers=False, seed=0):
    rng = np.random.default_rng(seed)
    w = {"w_in0": rng.normal(2.5, 1.0, (N_IN, N_H))}
    if two_layers:
        w["w_ff0"] = rng.normal(2.0, 1.0, (N_H, N_H))
    if rec:
        w["w_rec0"] = rng.normal(0.0, 0.5, (N_H, N_H))
    w["w_out"] = rng.normal(3.0 if first_spike else 1.0, 1.0, (N_H, N_OUT))
    return w


def _run(case, backend, trials=2, g=None):
    """Gradients, results and hidden spikes of ``trials`` trials of one sample."""
    cfg = dataclasses.replace(case.cfg, backend=backend, record_spikes=("hidden0",),
                              spk_rec_steps=int(round(T / DT)))
    net = EventPropNetwork(cfg).build()
    net.set_data(*to_neuron_major(case.samples, N_IN), case.labels)
    if g is not None:
        net.set_input_weighting(g)
    net.load()
    for name, w in case.weights.items():
        net.set(name, np.asarray(w).ravel())
    net.set_order([0] * (trials - 1) + [-1])
    spikes, results = [], []
    for k in range(trials):
        res = net.run_trial(k)
        results.append(res)
        spikes.append(net.spikes("hidden0")[0])
    return net.reduce_gradients(), results, spikes


def _assert_same(case, trials=2, g=None):
    ga, ra, sa = _run(case, "cpu", trials, g)
    gb, rb, sb = _run(case, "genn_cpu", trials, g)
    n_spikes = sum(len(t) for t, _ in sa)
    assert n_spikes > 0, "no hidden spikes: the comparison would be empty"
    for (ta, ia), (tb, ib) in zip(sa, sb):
        # within a step, the order of ids is the backend's
        oa, ob = np.lexsort((ia, np.round(ta, 6))), np.lexsort((ib, np.round(tb, 6)))
        np.testing.assert_array_equal(ia[oa], ib[ob])
        np.testing.assert_allclose(ta[oa], tb[ob], atol=1e-9)
    for a, b in zip(ra[1:], rb[1:]):
        np.testing.assert_allclose(a["z"], b["z"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-9, atol=1e-12)
    assert set(ga) == set(gb)
    assert any(np.abs(v).max() > 0 for v in ga.values())
    for k in ga:
        scale = np.abs(ga[k]).max() + 1e-12
        np.testing.assert_allclose(gb[k], ga[k], rtol=1e-8, atol=1e-9 * scale,
                                   err_msg=k)
    return ga


def _case(loss, layers, w, **kw):
    return Case(N_IN, layers, N_OUT, loss, T, DT, w, [SAMPLE], [1],
                loss_params={"tau0": 2.0, "tau1": 6.4, "alpha": 3e-3},
                batch_size=1, name=f"evp_genn_{loss}", **kw)


@pytest.mark.parametrize("loss", [x for x in LOSS_TYPES if x != "sum_weigh_input"])
def test_every_loss_matches_real_genn(loss):
    first = loss.startswith("first_spike")
    _assert_same(_case(loss, [HiddenLayer(N_H)], _weights(first_spike=first)))


def test_sum_weigh_input_matches_real_genn():
    case = _case("sum_weigh_input", [HiddenLayer(N_H)], _weights())
    g = np.linspace(0.2, 1.5, int(round(T / DT)))[None, :]
    _assert_same(case, g=g)


def test_het_trained_taus_recurrence_regulariser_match_real_genn():
    w = _weights(rec=True, seed=1)
    w["tau_m0"] = np.array([20.0, 15.0, 25.0, 18.0, 22.0, 12.0])
    w["tau_syn0"] = np.array([5.0, 6.0, 4.0, 5.5, 3.0, 7.0])
    layer = HiddenLayer(N_H, kind="hetLIF", train_tau=True, recurrent=True,
                        reg="simple", lbd_upper=1e-3, lbd_lower=1e-2,
                        nu_upper=1.0)
    g = _assert_same(_case("sum", [layer], w, train_tau_out=True), trials=3)
    assert {"tau_m0", "tau_syn0", "tau_m_out", "w_rec0"} <= set(g)


def test_alif_two_layers_avg_regulariser_match_real_genn():
    layers = [HiddenLayer(N_H, kind="ALIF", b_incr=0.3, tau_b=30.0, reg="avg",
                          lbd_lower=1e-2),
              HiddenLayer(N_H)]
    g = _assert_same(_case("sum_weigh_exp", layers,
                           _weights(two_layers=True, seed=2)), trials=3)
    assert "w_ff0" in g


def test_layer_regulariser_matches_real_genn():
    layer = HiddenLayer(N_H, reg="Thomas1", glb_upper=1e-3, rho_upper=1.0)
    _assert_same(_case("max", [layer], _weights(seed=3)), trials=3)


# -- engine models: the pygenn API on both ------------------------------------

def _spiking_net(api, backend):
    """SpikeSourceArray -> DENSE StaticPulse -> ExpCurr -> LIF, recorded;
    a neuron reduction of V; and a presynaptic variable given by name."""
    kw = {"backend": backend}
    if api is pygenn:
        kw["time_precision"] = "double"
    m = api.GeNNModel("double", f"side_{api.__name__}", **kw)
    m.dt = 0.1
    times = [[1.0, 4.0, 9.0], [2.0, 2.5], [6.0]]
    start = np.cumsum([0] + [len(t) for t in times[:-1]])
    end = start + [len(t) for t in times]
    src = m.add_neuron_population("src", 3, "SpikeSourceArray", {},
                                  {"startSpike": start, "endSpike": end})
    src.extra_global_params["spikeTimes"].set_init_values(np.concatenate(times))
    lif = m.add_neuron_population(
        "lif", 2, "LIF", {"C": 1.0, "TauM": 10.0, "Vrest": 0.0, "Vreset": 0.0,
                          "Vthresh": 1.0, "Ioffset": 0.05, "TauRefrac": 2.0},
        {"V": 0.0, "RefracTime": 0.0})
    lif.spike_recording_enabled = True
    g = np.array([[3.0, 1.0], [2.0, 4.0], [5.0, 0.5]])
    m.add_synapse_population("syn", "DENSE", src, lif,
                             api.init_weight_update("StaticPulse", {}, {"g": g.ravel()}),
                             api.init_postsynaptic("ExpCurr", {"tau": 2.0}))
    # a weight update reading the target's V through a reference given by name
    gated = api.create_weight_update_model(
        "gated", vars=[("seen", "scalar")],
        post_neuron_var_refs=[("V_ref", "scalar", api.VarAccessMode.READ_ONLY)],
        pre_spike_syn_code="seen += V_ref;")
    m.add_synapse_population("gate", "DENSE", src, lif,
                             api.init_weight_update(gated, {}, {"seen": 0.0},
                                                    post_var_refs={"V_ref": "V"}),
                             api.init_postsynaptic("DeltaCurr"))
    total = api.create_custom_update_model(
        "total", vars=[("sum", "scalar", api.CustomUpdateVarAccess.REDUCE_NEURON_SUM)],
        var_refs=[("V", "scalar", api.VarAccessMode.READ_ONLY)],
        update_code="sum = V;")
    red = m.add_custom_update("vsum", "Reduce", total, {}, {"sum": 0.0},
                              {"V": api.create_var_ref(lif, "V")})
    return m, lif, red


def test_engine_model_matches_real_genn(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)      # pygenn writes its code where it runs
    out = {}
    for api, backend in ((ge, "cpu"), (pygenn, "single_threaded_cpu")):
        m, lif, red = _spiking_net(api, backend)
        m.build()
        m.load(num_recording_timesteps=150)
        vs, sums = [], []
        for _ in range(150):
            m.step_time()
            lif.vars["V"].pull_from_device()
            vs.append(np.array(lif.vars["V"].view).ravel())
            m.custom_update("Reduce")
            red.vars["sum"].pull_from_device()
            sums.append(float(np.ravel(red.vars["sum"].view)[0]))
        m.pull_recording_buffers_from_device()
        t, i = lif.spike_recording_data[0]
        seen = m.synapse_populations["gate"].vars["seen"]
        seen.pull_from_device()
        out[backend] = (np.array(vs), np.array(sums), t, i,
                        np.array(seen.view).ravel())
    a, b = out["cpu"], out["single_threaded_cpu"]
    assert len(a[2]) >= 3, "the LIF neurons should spike"
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a[1], a[0].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-12)
    oa, ob = np.lexsort((a[3], np.round(a[2], 6))), np.lexsort((b[3], np.round(b[2], 6)))
    np.testing.assert_array_equal(a[3][oa], b[3][ob])
    np.testing.assert_allclose(a[2][oa], b[2][ob], atol=1e-9)
    assert np.abs(a[4]).max() > 0
    np.testing.assert_allclose(a[4], b[4], rtol=1e-12, atol=1e-12)


def test_rng_in_threshold_code_fires_at_the_same_rate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p, n, steps = 0.2, 200, 100
    rates = {}
    for api, backend in ((ge, "cpu"), (pygenn, "single_threaded_cpu")):
        model = api.create_neuron_model(
            "coin", params=["p"], vars=[("n", "unsigned int")],
            sim_code="const scalar half = 0.5 * p;",
            threshold_condition_code="gennrand_uniform() < half + half",
            reset_code="n++;")
        m = api.GeNNModel("float", f"coin_{api.__name__}", backend=backend)
        m.dt = 1.0
        pop = m.add_neuron_population("c", n, model, {"p": p}, {"n": 0})
        m.build()
        m.load()
        for _ in range(steps):
            m.step_time()
        pop.vars["n"].pull_from_device()
        rates[backend] = np.asarray(pop.vars["n"].view).sum() / (n * steps)
    sd = np.sqrt(p * (1 - p) / (n * steps))
    for r in rates.values():
        assert abs(r - p) < 5 * sd, rates


def test_input_dropout_statistics_match_real_genn():
    n_in, n_spk = 50, 8
    rng = np.random.default_rng(0)
    sample = [sorted(rng.uniform(0, 18, n_spk)) for _ in range(n_in)]
    frac = {}
    for backend in ("cpu", "genn_cpu"):
        cfg = NetworkConfig(n_in=n_in, hidden=[HiddenLayer(4)], n_out=2,
                            loss="sum", trial_ms=T, dt=DT, batch_size=1,
                            precision="double", pdrop_in=0.3, backend=backend,
                            record_spikes=("input",), n_max_spike_in=2 * n_spk,
                            model_name="evp_genn_drop", seed=4)
        net = EventPropNetwork(cfg).build()
        net.set_data(*to_neuron_major([sample], n_in), [0])
        net.load()
        net.set_order([0] * 6)
        kept = 0
        for k in range(6):
            net.run_trial(k)
            kept += len(net.spikes("input")[0][0])
        frac[backend] = 1 - kept / (6 * n_in * n_spk)
    sd = np.sqrt(0.3 * 0.7 / (6 * n_in * n_spk))
    for f in frac.values():
        assert abs(f - 0.3) < 5 * sd, frac


def test_batch_above_one_on_genn_cpu_is_refused_first():
    cfg = NetworkConfig(n_in=2, hidden=[HiddenLayer(3)], n_out=2, batch_size=4,
                        backend="genn_cpu", model_name="evp_genn_batch")
    with pytest.raises(ValueError, match="batch size 1 only.*N_BATCH=1"):
        EventPropNetwork(cfg)


# -- simulators ----------------------------------------------------------------

def _train_both(model_cls, p):
    """Train the same model on both backends from the engine's initial state."""
    from copy import deepcopy
    q = deepcopy(p)
    q["NAME"] = "engine"
    a = model_cls(q)
    init = a.net.state_dict()
    res_a = a.train_test(q)
    r = deepcopy(p)
    r.update(NAME="genn", BACKEND="genn_cpu")
    b = model_cls(r)
    b.net.load_state_dict(init)
    res_b = b.train_test(r)
    return (a, res_a), (b, res_b)


def _assert_same_training(a, b):
    (ma, ra), (mb, rb) = a, b
    assert len(ra["history"]) == len(rb["history"])
    for x, y in zip(ra["history"], rb["history"]):
        for k in x:
            if k.endswith(("_acc", "_loss")):
                np.testing.assert_allclose(y[k], x[k], rtol=1e-6, atol=1e-9,
                                           err_msg=k)
    sa, sb = ma.net.state_dict(), mb.net.state_dict()
    for k in sa:
        np.testing.assert_allclose(np.asarray(sb[k], float),
                                   np.asarray(sa[k], float), rtol=1e-4,
                                   atol=1e-4, err_msg=k)


def test_yinyang_training_on_real_genn_equals_engine(tmp_path):
    from params.yinyang import defaults
    from simulators.yinyang import YinYangModel
    p = defaults()
    # with weight decay: the AdamW update runs on real GeNN too
    p.update(N_TRAIN=60, N_TEST=20, N_EPOCHS=2, OUT_DIR=str(tmp_path),
             MODEL_SEED=7, N_BATCH=1, W_REPORT_INTERVAL=1000, WEIGHT_DECAY=0.05)
    a, b = _train_both(YinYangModel, p)
    assert a[1]["history"][-1]["train_acc"] > 0.4
    _assert_same_training(a, b)


def test_shd_training_on_real_genn_equals_engine(tmp_path):
    from tests.shd_files import write_vlen
    from tests.test_shd import make_samples, params
    from simulators.shd import SHDModel
    d = tmp_path / "data"
    d.mkdir()
    write_vlen(d / "shd_train.h5", *make_samples(2, seed=0))
    write_vlen(d / "shd_test.h5", *make_samples(1, seed=1))
    p = params(d, tmp_path / "out", N_BATCH=1, N_VALIDATE=4, NUM_HIDDEN=12,
               AUGMENTATION={"random_shift": 2}, PDROP_INPUT=0.0, N_THREADS=1)

    class Small(SHDModel):
        def __init__(self, p):
            super().__init__(p, n_channels=40)
    a, b = _train_both(Small, p)
    _assert_same_training(a, b)


def test_mnist_training_on_real_genn_equals_engine(tmp_path):
    from params.mnist import defaults
    from simulators.mnist import MNISTModel
    from tests.test_simulators import fake_mnist
    fake_mnist(tmp_path / "data", n_train=200, n_test=40)
    p = defaults()
    p.update(DATA_DIR=str(tmp_path / "data"), OUT_DIR=str(tmp_path / "out"),
             N_TRAIN=40, N_VALIDATE=10, N_TEST=10, N_EPOCHS=1, NUM_HIDDEN=16,
             N_BATCH=1, REDUCED_CLASSES=[1, 7], LOSS_TYPE="avg_xentropy",
             MODEL_SEED=3, PDROP_INPUT=0.0, PDROP_HIDDEN=0.0, REG_TYPE="simple")
    _assert_same_training(*_train_both(MNISTModel, p))
