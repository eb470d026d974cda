"""genn_engine against analytic results and numpy."""
import numpy as np
import pytest

from genn_engine import (CustomUpdateVarAccess, GeNNModel, VarAccess,
                         VarAccessMode, create_custom_update_model,
                         create_neuron_model, create_var_ref,
                         create_weight_update_model, create_wu_var_ref,
                         init_postsynaptic, init_sparse_connectivity,
                         init_var, init_weight_update)

# Exactly integrated leaky integrator with a constant drive.
lif_const = create_neuron_model(
    "lif_const", params=["tau_m", "V_th", "I"],
    derived_params=[("alpha", lambda p, dt: np.exp(-dt / p["tau_m"]))],
    vars=[("V", "scalar")],
    sim_code="V = I + (V - I) * alpha;",
    threshold_condition_code="V >= V_th", reset_code="V = 0.0;")

# Records its input current each step.
probe = create_neuron_model("probe", vars=[("x", "scalar")],
                            sim_code="x = Isyn;")


def spike_source(model, name, times_per_batch, n):
    """SpikeSourceArray with per-batch spike times: list (batch) of lists (neuron)."""
    B = len(times_per_batch)
    start = np.zeros((B, n), np.uint32)
    end = np.zeros((B, n), np.uint32)
    flat = []
    for b, per_neuron in enumerate(times_per_batch):
        for i in range(n):
            ts = sorted(per_neuron[i])
            start[b, i] = len(flat)
            flat += ts
            end[b, i] = len(flat)
    pop = model.add_neuron_population(name, n, "SpikeSourceArray", {},
                                      {"startSpike": start, "endSpike": end})
    pop.extra_global_params["spikeTimes"].set_init_values(
        np.array(flat, dtype=np.float64))
    return pop


def test_lif_constant_current_spikes_at_analytic_times():
    m = GeNNModel("double", "lif_analytic")
    m.dt = 0.1
    tau, vth, current = 20.0, 1.0, 1.5
    pop = m.add_neuron_population("n", 1, lif_const,
                                  {"tau_m": tau, "V_th": vth, "I": current},
                                  {"V": 0.0})
    pop.spike_recording_enabled = True
    m.build()
    m.load(num_recording_timesteps=1000)
    m.run_steps(1000)
    times, ids = pop.spike_recording_data[0]
    period = tau * np.log(current / (current - vth))
    steps = int(np.ceil(period / m.dt - 1e-9))
    # A crossing inside step n is seen at its end and recorded at t_n.
    expected = np.arange(1, len(times) + 1) * steps * m.dt - m.dt
    assert len(times) == int(100.0 // (steps * m.dt))
    np.testing.assert_allclose(times, expected, atol=1e-9)
    k = np.arange(1, len(times) + 1)
    assert np.all(np.abs(times + m.dt - k * period) <= k * m.dt)
    assert np.all(ids == 0)


def _many_lif(name, reset_code, batch=2, n=601, steps=300):
    """n LIF neurons with their own constant drive (spanning blocks of the
    CPU target's two-pass neuron loop, with a ragged tail), their spikes
    recorded and summed into a probe through weights that identify them."""
    lif_var = create_neuron_model(
        name, params=["tau_m", "V_th"],
        derived_params=[("alpha", lambda p, dt: np.exp(-dt / p["tau_m"]))],
        vars=[("V", "scalar"), ("I", "scalar", VarAccess.READ_ONLY)],
        sim_code="V = I + (V - I) * alpha;",
        threshold_condition_code="V >= V_th", reset_code=reset_code)
    m = GeNNModel("double", name)
    m.dt = 0.5
    m.batch_size = batch
    drive = 1.05 + 0.004 * np.arange(n)
    pop = m.add_neuron_population("n", n, lif_var, {"tau_m": 20.0, "V_th": 1.0},
                                  {"V": 0.0, "I": drive})
    pop.spike_recording_enabled = True
    post = m.add_neuron_population("post", 1, probe, {}, {"x": 0.0})
    g = (1.0 + np.arange(n)).reshape(n, 1) ** 0.5
    m.add_synapse_population(
        "syn", "DENSE", pop, post,
        init_weight_update("StaticPulse", {}, {"g": g.ravel()}),
        init_postsynaptic("DeltaCurr", {}))
    m.build()
    m.load(num_recording_timesteps=steps)
    xs = []
    for _ in range(steps):
        m.step_time()
        post.vars["x"].pull_from_device()
        xs.append(post.vars["x"].view.copy().ravel())
    return pop.spike_recording_data, np.array(xs), drive, g.ravel(), m.dt


def test_many_neurons_spike_at_analytic_times_in_order():
    # a reset with a random draw (times zero) keeps the one-pass loop: both
    # loops must give the same spikes, in the same order, bit for bit
    rec, xs, drive, g, dt = _many_lif("lif_two_pass", "V = 0.0;")
    rec1, xs1, _, _, _ = _many_lif("lif_one_pass",
                                   "V = 0.0 * gennrand_uniform();")
    np.testing.assert_array_equal(xs, xs1)
    steps = len(xs)
    period = 20.0 * np.log(drive / (drive - 1.0))
    k = np.ceil(period / dt - 1e-9).astype(int)        # steps per spike
    for b, ((times, ids), (t1, i1)) in enumerate(zip(rec, rec1)):
        np.testing.assert_array_equal(times, t1)
        np.testing.assert_array_equal(ids, i1)
        for i in (0, 255, 256, 257, 511, 512, 600):
            mine = times[ids == i]
            want = np.arange(1, steps // k[i] + 1) * k[i] * dt - dt
            np.testing.assert_allclose(mine, want, atol=1e-9)
        # the probe sums, one step later, the weights of who fired
        step = np.rint(times / dt).astype(int)
        expect = np.zeros(steps)
        np.add.at(expect, step[step + 1 < steps] + 1, g[ids[step + 1 < steps]])
        np.testing.assert_allclose(xs[:, b], expect, rtol=1e-12)
    assert len(rec[0][0]) > 2000


# GeNN's Poisson with a loop that does nothing: keeps the one-pass loop
poisson_one_pass = create_neuron_model(
    "poisson_one_pass", params=["rate"], vars=[("timeStepToSpike", "scalar")],
    derived_params=[("isi", lambda p, dt: 1000.0 / (p["rate"] * dt))],
    sim_code="""
    for (int k = 0; k < 1; k++) {}
    if (timeStepToSpike <= 0.0) {
        timeStepToSpike += isi * gennrand_exponential();
    }
    timeStepToSpike -= 1.0;
    """,
    threshold_condition_code="timeStepToSpike <= 0.0")


@pytest.mark.parametrize("rate", [5.0, 150.0])
def test_poisson_speculative_blocks_equal_one_pass(rate):
    """The built-in Poisson runs in speculative vector blocks (redone where
    a neuron draws): spikes and state bit-equal to the one-pass loop, at
    rates where few and where most blocks are redone."""
    def run(model):
        m = GeNNModel("float", "poisson_blocks")
        m.dt = 1.0
        m.batch_size = 2
        m.seed = 4
        pop = m.add_neuron_population("p", 601, model, {"rate": rate},
                                      {"timeStepToSpike": 0.0})
        pop.spike_recording_enabled = True
        m.build()
        m.load(num_recording_timesteps=400)
        m.run_steps(400)
        pop.vars["timeStepToSpike"].pull_from_device()
        return pop.spike_recording_data, pop.vars["timeStepToSpike"].view.copy()

    (rec, tts), (rec1, tts1) = run("Poisson"), run(poisson_one_pass)
    np.testing.assert_array_equal(tts, tts1)
    n = 0
    for (t, i), (t1, i1) in zip(rec, rec1):
        np.testing.assert_array_equal(t, t1)
        np.testing.assert_array_equal(i, i1)
        n += len(t)
    expected = 2 * 601 * 0.4 * rate
    assert abs(n - expected) < 5 * np.sqrt(expected)


def test_exponential_synapse_decays_with_tau():
    m = GeNNModel("double", "exp_decay")
    m.dt = 0.1
    src = spike_source(m, "src", [[[1.0]]], 1)
    post = m.add_neuron_population("post", 1, probe, {}, {"x": 0.0})
    tau, w = 5.0, 0.7
    m.add_synapse_population(
        "syn", "DENSE", src, post,
        init_weight_update("StaticPulse", {}, {"g": w}),
        init_postsynaptic("ExpCurr", {"tau": tau}))
    m.build()
    m.load()
    xs = []
    for _ in range(200):
        m.step_time()
        xs.append(float(post.vars["x"].view[0]))
    xs = np.array(xs)
    # spike emitted in step 10 (t = 1.0), delivered in step 11, applied in step 11
    first = int(np.argmax(xs > 0))
    assert first == 11
    init = tau * (1 - np.exp(-m.dt / tau)) / m.dt
    n = np.arange(len(xs) - first)
    np.testing.assert_allclose(xs[first:], init * w * np.exp(-n * m.dt / tau),
                               rtol=1e-12)
    assert np.all(xs[:first] == 0)


def test_dense_propagation_is_a_matrix_product_per_batch():
    rng = np.random.default_rng(1)
    n_pre, n_post, B = 7, 5, 3
    active = rng.random((B, n_pre)) < 0.5
    times = [[[0.0] if active[b, i] else [] for i in range(n_pre)]
             for b in range(B)]
    W = rng.normal(size=(n_pre, n_post))
    m = GeNNModel("double", "dense_prop")
    m.dt = 1.0
    m.batch_size = B
    src = spike_source(m, "src", times, n_pre)
    post = m.add_neuron_population("post", n_post, probe, {}, {"x": 0.0})
    m.add_synapse_population("syn", "DENSE", src, post,
                             init_weight_update("StaticPulse", {},
                                                {"g": W.ravel()}),
                             init_postsynaptic("DeltaCurr"))
    m.build()
    m.load()
    m.run_steps(2)
    np.testing.assert_allclose(post.vars["x"].view, active @ W, rtol=1e-12)


def test_sparse_fixed_probability_propagation_matches_numpy():
    n_pre, n_post, B = 30, 20, 2
    m = GeNNModel("double", "sparse_prop")
    m.dt = 1.0
    m.batch_size = B
    m.seed = 5
    times = [[[0.0]] * n_pre, [[0.0] if i % 2 else [] for i in range(n_pre)]]
    src = spike_source(m, "src", times, n_pre)
    post = m.add_neuron_population("post", n_post, probe, {}, {"x": 0.0})
    sg = m.add_synapse_population(
        "syn", "SPARSE", src, post,
        init_weight_update("StaticPulse", {},
                           {"g": init_var("Uniform", {"min": 0.0, "max": 1.0})}),
        init_postsynaptic("DeltaCurr"),
        init_sparse_connectivity("FixedProbability", {"prob": 0.3}))
    m.build()
    m.load()
    m.run_steps(2)
    pre, postj = sg.get_sparse_pre_inds(), sg.get_sparse_post_inds()
    assert 0.15 < len(pre) / (n_pre * n_post) < 0.45
    W = np.zeros((n_pre, n_post))
    W[pre, postj] = sg.vars["g"].view
    active = np.array([[1] * n_pre, [i % 2 for i in range(n_pre)]], float)
    np.testing.assert_allclose(post.vars["x"].view, active @ W, rtol=1e-12)


def test_spike_like_events_and_add_to_pre():
    """Events on a presynaptic variable carry w * v_post back with addToPre."""
    n_pre, n_post, B = 6, 4, 2
    rng = np.random.default_rng(3)
    u = rng.random((B, n_pre))
    v = rng.normal(size=(B, n_post))
    W = rng.normal(size=(n_pre, n_post))
    pre_model = create_neuron_model(
        "pre_u", vars=[("u", "scalar"), ("back", "scalar")],
        sim_code="back = Isyn;")
    post_model = create_neuron_model("post_v", vars=[("v", "scalar")])
    wu = create_weight_update_model(
        "backward", vars=[("w", "scalar", VarAccess.READ_ONLY)],
        pre_neuron_var_refs=[("u_pre", "scalar", VarAccessMode.READ_ONLY)],
        post_neuron_var_refs=[("v_post", "scalar", VarAccessMode.READ_ONLY)],
        pre_event_threshold_condition_code="u_pre > 0.5",
        pre_event_syn_code="addToPre(w * v_post);")
    m = GeNNModel("double", "events")
    m.batch_size = B
    pre = m.add_neuron_population("pre", n_pre, pre_model, {},
                                  {"u": u, "back": 0.0})
    post = m.add_neuron_population("post", n_post, post_model, {}, {"v": v})
    m.add_synapse_population(
        "syn", "DENSE", pre, post,
        init_weight_update(wu, {}, {"w": W.ravel()},
                           pre_var_refs={"u_pre": create_var_ref(pre, "u")},
                           post_var_refs={"v_post": create_var_ref(post, "v")}),
        init_postsynaptic("DeltaCurr"))
    m.build()
    m.load()
    m.run_steps(2)   # events in step 0, delivered in step 1
    expected = (u > 0.5) * (v @ W.T)
    np.testing.assert_allclose(pre.vars["back"].view, expected, rtol=1e-12)


def _reduction_model(B, n):
    m = GeNNModel("double", f"reduce_b{B}")
    m.batch_size = B
    holder = create_neuron_model(
        "holder", vars=[("V", "scalar"), ("Max", "scalar",
                                          VarAccess.READ_ONLY_SHARED_NEURON),
                        ("Sum", "scalar", VarAccess.READ_ONLY_SHARED_NEURON),
                        ("Soft", "scalar")])
    return m, holder


def test_batch_and_neuron_reductions_equal_numpy():
    B, n = 4, 9
    rng = np.random.default_rng(7)
    V = rng.normal(size=(B, n))
    m, holder = _reduction_model(B, n)
    pop = m.add_neuron_population("pop", n, holder, {},
                                  {"V": V, "Max": 0.0, "Sum": 0.0,
                                   "Soft": 0.0})
    shared = create_neuron_model("shared", vars=[
        ("S", "scalar", VarAccess.READ_ONLY), ("M", "scalar",
                                               VarAccess.READ_ONLY)])
    tgt = m.add_neuron_population("tgt", n, shared, {}, {"S": 0.0, "M": 0.0})
    batch_red = create_custom_update_model(
        "batch_red", var_refs=[("X", "scalar", VarAccessMode.READ_ONLY),
                               ("S", "scalar", VarAccessMode.REDUCE_SUM),
                               ("M", "scalar", VarAccessMode.REDUCE_MAX)],
        update_code="S = X; M = X;")
    m.add_custom_update("br", "BatchReduce", batch_red, {}, {},
                        {"X": create_var_ref(pop, "V"),
                         "S": create_var_ref(tgt, "S"),
                         "M": create_var_ref(tgt, "M")})
    sm1 = create_custom_update_model(
        "sm1", var_refs=[("V", "scalar", VarAccessMode.READ_ONLY),
                         ("Max", "scalar", VarAccessMode.REDUCE_MAX)],
        update_code="Max = V;")
    sm2 = create_custom_update_model(
        "sm2", var_refs=[("V", "scalar", VarAccessMode.READ_ONLY),
                         ("Max", "scalar", VarAccessMode.READ_ONLY),
                         ("Sum", "scalar", VarAccessMode.REDUCE_SUM)],
        update_code="Sum = exp(V - Max);")
    sm3 = create_custom_update_model(
        "sm3", var_refs=[("V", "scalar", VarAccessMode.READ_ONLY),
                         ("Max", "scalar", VarAccessMode.READ_ONLY),
                         ("Sum", "scalar", VarAccessMode.READ_ONLY),
                         ("Soft", "scalar", VarAccessMode.READ_WRITE)],
        update_code="Soft = exp(V - Max) / Sum;")
    refs = {k: create_var_ref(pop, k) for k in ("V", "Max", "Sum", "Soft")}
    m.add_custom_update("s1", "Softmax1", sm1, {}, {},
                        {k: refs[k] for k in ("V", "Max")})
    m.add_custom_update("s2", "Softmax2", sm2, {}, {},
                        {k: refs[k] for k in ("V", "Max", "Sum")})
    m.add_custom_update("s3", "Softmax3", sm3, {}, {}, refs)
    m.build()
    m.load()
    m.custom_update("BatchReduce")
    np.testing.assert_allclose(tgt.vars["S"].view, V.sum(0), rtol=1e-12)
    np.testing.assert_allclose(tgt.vars["M"].view, V.max(0), rtol=1e-12)
    for g in ("Softmax1", "Softmax2", "Softmax3"):
        m.custom_update(g)
    np.testing.assert_allclose(pop.vars["Max"].view.ravel(), V.max(1))
    e = np.exp(V - V.max(1, keepdims=True))
    np.testing.assert_allclose(pop.vars["Sum"].view.ravel(), e.sum(1))
    np.testing.assert_allclose(pop.vars["Soft"].view,
                               e / e.sum(1, keepdims=True), rtol=1e-12)


def test_custom_update_vars_reduce_and_weight_updates():
    """Gradient reduction of a batched WU var into a shared one, then a step."""
    n_pre, n_post, B = 3, 4, 5
    rng = np.random.default_rng(11)
    G = rng.normal(size=(B, n_pre * n_post))
    wu = create_weight_update_model(
        "grad_syn", vars=[("w", "scalar", VarAccess.READ_ONLY),
                          ("dw", "scalar")])
    m = GeNNModel("double", "grad_reduce")
    m.batch_size = B
    a = m.add_neuron_population("a", n_pre, probe, {}, {"x": 0.0})
    b = m.add_neuron_population("b", n_post, probe, {}, {"x": 0.0})
    sg = m.add_synapse_population("s", "DENSE", a, b,
                                  init_weight_update(wu, {}, {"w": 1.0,
                                                              "dw": G}),
                                  init_postsynaptic("DeltaCurr"))
    red = create_custom_update_model(
        "red", vars=[("R", "scalar", CustomUpdateVarAccess.REDUCE_BATCH_SUM)],
        var_refs=[("g", "scalar", VarAccessMode.READ_WRITE)],
        update_code="R = g; g = 0.0;")
    cu = m.add_custom_update("reduce", "Reduce", red, {}, {"R": 0.0},
                             {"g": create_wu_var_ref(sg, "dw")})
    sgd = create_custom_update_model(
        "sgd", params=["eta"],
        var_refs=[("R", "scalar", VarAccessMode.READ_ONLY),
                  ("w", "scalar", VarAccessMode.READ_WRITE)],
        update_code="w -= eta * R;")
    m.add_custom_update("learn", "Learn", sgd, {"eta": 0.1}, {},
                        {"R": create_wu_var_ref(cu, "R"),
                         "w": create_wu_var_ref(sg, "w")})
    m.build()
    m.load()
    m.custom_update("Reduce")
    np.testing.assert_allclose(cu.vars["R"].view, G.sum(0), rtol=1e-12)
    assert np.all(sg.vars["dw"].view == 0)
    m.custom_update("Learn")
    np.testing.assert_allclose(sg.vars["w"].view, 1 - 0.1 * G.sum(0),
                               rtol=1e-12)


def test_dynamic_parameter_takes_effect():
    m = GeNNModel("double", "dynparam")
    pop = m.add_neuron_population("n", 1, lif_const,
                                  {"tau_m": 10.0, "V_th": 1e9, "I": 1.0},
                                  {"V": 0.0})
    pop.set_param_dynamic("I")
    m.build()
    m.load()
    m.run_steps(1000)          # V -> 1
    assert abs(pop.vars["V"].view[0] - 1.0) < 1e-3
    pop.set_dynamic_param_value("I", 3.0)
    m.run_steps(2000)
    assert abs(pop.vars["V"].view[0] - 3.0) < 1e-3
    with pytest.raises(ValueError, match="not dynamic"):
        pop.set_dynamic_param_value("tau_m", 5.0)


def test_rng_moments_and_reproducibility():
    rnd = create_neuron_model(
        "rnd", vars=[("u", "scalar"), ("z", "scalar"), ("e", "scalar")],
        sim_code="u = gennrand_uniform(); z = gennrand_normal(); "
                 "e = gennrand_exponential();")

    def draw(seed):
        m = GeNNModel("double", "rng")
        m.batch_size = 2
        m.seed = seed
        pop = m.add_neuron_population("r", 20000, rnd, {},
                                      {"u": 0.0, "z": 0.0, "e": 0.0})
        m.build()
        m.load()
        m.step_time()
        return {k: pop.vars[k].values for k in ("u", "z", "e")}

    a, b, c = draw(1), draw(1), draw(2)
    u, z, e = a["u"].ravel(), a["z"].ravel(), a["e"].ravel()
    n = len(u)
    assert np.all((u > 0) & (u <= 1))
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 0.003
    assert abs(z.mean()) < 4 / np.sqrt(n) and abs(z.std() - 1) < 0.02
    assert abs(e.mean() - 1) < 4 / np.sqrt(n) and abs(e.var() - 1) < 0.05
    assert np.all(e > 0)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.array_equal(a[k], c[k])
    assert not np.array_equal(a["u"][0], a["u"][1])   # batch slots differ


def test_init_var_snippets():
    m = GeNNModel("double", "initvars")
    m.seed = 3
    v = create_neuron_model("v", vars=[("a", "scalar"), ("b", "scalar"),
                                       ("c", "scalar"), ("d", "scalar")])
    pop = m.add_neuron_population(
        "p", 50000, v, {},
        {"a": init_var("Normal", {"mean": 2.0, "sd": 0.5}),
         "b": init_var("NormalClipped", {"mean": 0.0, "sd": 1.0,
                                         "min": -0.5, "max": 2.0}),
         "c": init_var("Gamma", {"a": 2.0, "b": 3.0}),
         "d": init_var("Exponential", {"lambda": 4.0})})
    m.build()
    m.load()
    a, b, c, d = (pop.vars[k].view for k in "abcd")
    assert abs(a.mean() - 2) < 0.01 and abs(a.std() - 0.5) < 0.01
    assert b.min() >= -0.5 and b.max() <= 2.0
    assert abs(c.mean() - 6) < 0.1
    assert abs(d.mean() - 0.25) < 0.01


def test_recording_and_run_steps_match_step_time():
    def run(chunked):
        m = GeNNModel("double", "rec")
        m.batch_size = 3
        m.seed = 9
        m.dt = 1.0
        pop = m.add_neuron_population("p", 40, "Poisson", {"rate": 50.0},
                                      {"timeStepToSpike": 0.0})
        pop.spike_recording_enabled = True
        m.build()
        m.load(num_recording_timesteps=100)
        if chunked:
            m.run_steps(60)
            m.run_steps(40)
        else:
            for _ in range(100):
                m.step_time()
            if m._target.name == "cpu":     # the lean one-step call ran
                assert m._step1 is not None
        return pop.spike_recording_data

    a, b = run(True), run(False)
    assert len(a) == 3
    total = 0
    for (ta, ia), (tb, ib) in zip(a, b):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(ia, ib)
        assert ta.min() >= 0 and ta.max() < 100 and ia.max() < 40
        total += len(ta)
    # 3 x 40 neurons x 0.1 s x 50 Hz = 600 expected spikes
    assert 450 < total < 750


def test_custom_updates_inside_the_step_loop_match_python_calls():
    leak = create_neuron_model("leak", vars=[("V", "scalar")],
                               sim_code="V = V * 0.9 + 1.0;")
    scale = create_custom_update_model(
        "scale", var_refs=[("V", "scalar", VarAccessMode.READ_WRITE)],
        update_code="V = V * 0.5;")

    def run(inside):
        m = GeNNModel("double", "stepcu")
        m.batch_size = 2
        pop = m.add_neuron_population("p", 3, leak, {}, {"V": 0.0})
        m.add_custom_update("c", "Halve", scale, {}, {},
                            {"V": create_var_ref(pop, "V")})
        m.build()
        m.load()
        if inside:
            m.run_steps(5, step_custom_updates=["Halve"])
        else:
            for _ in range(5):
                m.step_time()
                m.custom_update("Halve")
        return pop.vars["V"].values

    np.testing.assert_allclose(run(True), run(False), rtol=1e-15)


def test_second_build_is_a_cache_hit():
    def make():
        m = GeNNModel("float", "cachetest")
        m.add_neuron_population("n", 4, lif_const,
                                {"tau_m": 10.0, "V_th": 1.0, "I": 2.0},
                                {"V": 0.0})
        return m

    a = make()
    a.build()
    b = make()
    b.build()
    assert b.build_cache_hit is True
    b.load()
    b.run_steps(3)
    # parameters are not part of the source: changing one still hits the cache
    c = GeNNModel("float", "cachetest")
    c.add_neuron_population("n", 4, lif_const,
                            {"tau_m": 5.0, "V_th": 1.0, "I": 2.0}, {"V": 0.0})
    c.build()
    assert c.build_cache_hit is True


def test_models_of_one_structure_keep_their_own_state():
    """Two loaded models built from the same source do not share memory."""
    import gc

    def make(current):
        m = GeNNModel("double", "twins")
        pop = m.add_neuron_population("n", 2, lif_const,
                                      {"tau_m": 10.0, "V_th": 1e9,
                                       "I": current}, {"V": 0.0})
        m.build()
        m.load()
        return m, pop

    a, pa = make(1.0)
    b, pb = make(3.0)
    assert b.build_cache_hit
    a.run_steps(2000)
    assert np.allclose(pa.vars["V"].view, 1.0, atol=1e-3)
    assert np.all(pb.vars["V"].view == 0.0)       # untouched by a's run
    del b, pb
    gc.collect()
    a.run_steps(10)                                # a still runs on its arrays
    assert np.allclose(pa.vars["V"].view, 1.0, atol=1e-3)
