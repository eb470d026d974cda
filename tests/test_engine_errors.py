"""Definition errors are Python exceptions naming model, population and line."""
import numpy as np
import pytest

import genn_engine
from genn_engine import (CompilerError, CustomUpdateVarAccess,
                         DefinitionError, GeNNModel, VarAccess, VarAccessMode,
                         create_custom_update_model, create_neuron_model,
                         create_var_ref, create_weight_update_model,
                         create_wu_var_ref, init_postsynaptic, init_var,
                         init_weight_update)

leaky = create_neuron_model("leaky", params=["tau"], vars=[("V", "scalar")],
                            sim_code="V += (Isyn - V) * dt / tau;")


def test_unknown_identifier_names_model_population_and_line():
    bad = create_neuron_model(
        "typo_model", params=["tau"], vars=[("V", "scalar")],
        sim_code="scalar a = 1.0;\nV += (Isyn - V) * dt / tua;")
    m = GeNNModel("float", "err_ident")
    m.add_neuron_population("hidden", 2, bad, {"tau": 1.0}, {"V": 0.0})
    with pytest.raises(DefinitionError) as e:
        m.build()
    msg = str(e.value)
    assert "typo_model" in msg and "hidden" in msg and "line 2" in msg
    assert "'tua'" in msg and "did you mean 'tau'" in msg
    assert "V += (Isyn - V) * dt / tua;" in msg


def test_unknown_function_and_uncalled_function():
    bad = create_neuron_model("f", vars=[("V", "scalar")],
                              sim_code="V = expp(V);")
    m = GeNNModel("float", "err_func")
    m.add_neuron_population("p", 1, bad, {}, {"V": 0.0})
    with pytest.raises(DefinitionError, match="unknown identifier 'expp'"):
        m.build()


def test_writing_a_read_only_variable_is_an_error():
    bad = create_neuron_model(
        "ro", vars=[("V", "scalar"), ("C", "scalar", VarAccess.READ_ONLY)],
        sim_code="V = C;\nC = 2.0;")
    m = GeNNModel("float", "err_ro")
    m.add_neuron_population("p", 1, bad, {}, {"V": 0.0, "C": 1.0})
    with pytest.raises(DefinitionError, match=r"line 2.*\n.*C = 2.0"):
        m.build()


def test_missing_extra_and_misspelt_params_and_vars():
    m = GeNNModel("float", "err_pv")
    with pytest.raises(DefinitionError, match=r"missing parameter.*\['tau'\]"):
        m.add_neuron_population("a", 1, leaky, {}, {"V": 0.0})
    with pytest.raises(DefinitionError,
                       match="unknown parameter 'tua'.*did you mean 'tau'"):
        m.add_neuron_population("b", 1, leaky, {"tua": 1.0}, {"V": 0.0})
    with pytest.raises(DefinitionError, match="missing variable initial"):
        m.add_neuron_population("c", 1, leaky, {"tau": 1.0}, {})
    with pytest.raises(DefinitionError, match="unknown variable initial"):
        m.add_neuron_population("d", 1, leaky, {"tau": 1.0},
                                {"V": 0.0, "W": 1.0})
    with pytest.raises(DefinitionError, match="shape"):
        m.add_neuron_population("e", 3, leaky, {"tau": 1.0},
                                {"V": np.zeros(5)})
    with pytest.raises(DefinitionError, match="needs params"):
        init_var("Uniform", {"min": 0.0})


def test_malformed_definitions():
    with pytest.raises(DefinitionError, match="not a valid identifier"):
        create_neuron_model("m", vars=[("1V", "scalar")])
    with pytest.raises(DefinitionError, match="unknown type"):
        create_neuron_model("m", vars=[("V", "quaternion")])
    with pytest.raises(DefinitionError, match="defined twice"):
        create_neuron_model("m", params=["V"], vars=[("V", "scalar")])
    with pytest.raises(DefinitionError, match="pointer types"):
        create_neuron_model("m", extra_global_params=[("x", "scalar")])
    with pytest.raises(DefinitionError, match="unknown built-in"):
        GeNNModel("float", "x").add_neuron_population("p", 1, "LIFF", {}, {})


def test_var_ref_type_and_reduction_errors():
    m = GeNNModel("float", "err_refs")
    m.batch_size = 2
    counter = create_neuron_model("counter", vars=[("n", "int"),
                                                   ("V", "scalar")])
    pop = m.add_neuron_population("pop", 3, counter, {}, {"n": 0, "V": 0.0})
    cu_model = create_custom_update_model(
        "needs_scalar", var_refs=[("X", "scalar", VarAccessMode.READ_WRITE)],
        update_code="X = 0.0;")
    with pytest.raises(DefinitionError, match="declared 'scalar'.*'int'"):
        m.add_custom_update("c1", "G", cu_model, {}, {},
                            {"X": create_var_ref(pop, "n")})
    red = create_custom_update_model(
        "bad_red", var_refs=[("X", "scalar", VarAccessMode.READ_ONLY),
                             ("Y", "scalar", VarAccessMode.REDUCE_SUM)],
        update_code="Y = X;")
    with pytest.raises(DefinitionError, match="duplicated per batch"):
        m.add_custom_update("c2", "G", red, {}, {},
                            {"X": create_var_ref(pop, "V"),
                             "Y": create_var_ref(pop, "V")})
    with pytest.raises(DefinitionError, match="has no variable 'VV'"):
        create_var_ref(pop, "VV")
    wu = create_weight_update_model(
        "red_in_wu", pre_neuron_var_refs=[("V", "scalar",
                                           VarAccessMode.REDUCE_SUM)])
    with pytest.raises(DefinitionError, match="only allowed in custom updates"):
        m.add_synapse_population(
            "s", "DENSE", pop, pop,
            init_weight_update(wu, pre_var_refs={"V": create_var_ref(pop,
                                                                     "V")}),
            init_postsynaptic("DeltaCurr"))
    other = m.add_neuron_population("other", 3, counter, {}, {"n": 0,
                                                              "V": 0.0})
    wu2 = create_weight_update_model(
        "pre_ref", pre_neuron_var_refs=[("V", "scalar",
                                         VarAccessMode.READ_ONLY)])
    with pytest.raises(DefinitionError, match="must point to population 'pop'"):
        m.add_synapse_population(
            "s2", "DENSE", pop, other,
            init_weight_update(wu2, pre_var_refs={"V": create_var_ref(other,
                                                                      "V")}),
            init_postsynaptic("DeltaCurr"))
    neuron_red_on_syn = create_custom_update_model(
        "nrs", vars=[("S", "scalar", CustomUpdateVarAccess.REDUCE_NEURON_SUM)],
        var_refs=[("g", "scalar", VarAccessMode.READ_ONLY)],
        update_code="S = g;")
    sg = m.add_synapse_population(
        "s3", "DENSE", pop, other,
        init_weight_update("StaticPulse", {}, {"g": 1.0}),
        init_postsynaptic("DeltaCurr"))
    with pytest.raises(DefinitionError, match="neuron custom update"):
        m.add_custom_update("c3", "G", neuron_red_on_syn, {}, {"S": 0.0},
                            {"g": create_wu_var_ref(sg, "g")})


def test_batch_reduction_cannot_run_inside_the_step_loop():
    m = GeNNModel("float", "err_steploop")
    m.batch_size = 2
    pop = m.add_neuron_population("p", 2, leaky, {"tau": 1.0}, {"V": 0.0})
    sh = create_neuron_model("sh", vars=[("S", "scalar", VarAccess.READ_ONLY)])
    tgt = m.add_neuron_population("t", 2, sh, {}, {"S": 0.0})
    red = create_custom_update_model(
        "r", var_refs=[("X", "scalar", VarAccessMode.READ_ONLY),
                       ("S", "scalar", VarAccessMode.REDUCE_SUM)],
        update_code="S = X;")
    m.add_custom_update("r", "Reduce", red, {}, {},
                        {"X": create_var_ref(pop, "V"),
                         "S": create_var_ref(tgt, "S")})
    m.build()
    m.load()
    with pytest.raises(DefinitionError, match="cannot run inside"):
        m.run_steps(3, step_custom_updates=["Reduce"])
    with pytest.raises(KeyError, match="no custom update group 'Nope'"):
        m.custom_update("Nope")


def test_compiler_failure_shows_snippet_and_keeps_source():
    # valid for our checker (a declared local), rejected by the C++ compiler
    bad = create_neuron_model("cc_fail", vars=[("V", "scalar")],
                              sim_code="scalar a = 1.0;\nV = a[2];")
    m = GeNNModel("float", "err_compile")
    m.add_neuron_population("pop", 1, bad, {}, {"V": 0.0})
    with pytest.raises(CompilerError) as e:
        m.build()
    msg = str(e.value)
    assert "pop/sim_code line 2" in msg and "V = a[2];" in msg
    import os
    assert os.path.exists(e.value.source_path)


def test_running_before_load_and_missing_egp_values():
    m = GeNNModel("float", "err_state")
    pop = m.add_neuron_population("src", 1, "SpikeSourceArray", {},
                                  {"startSpike": 0, "endSpike": 0})
    with pytest.raises(RuntimeError, match="load"):
        m.step_time()
    m.build()
    m.load()
    with pytest.raises(RuntimeError, match="spikeTimes.*set_init_values"):
        m.step_time()
    # GeNN allocates extra global parameters in load(): not settable later
    with pytest.raises(RuntimeError, match="after load"):
        pop.extra_global_params["spikeTimes"].set_init_values([])
    m.unload()
    pop.extra_global_params["spikeTimes"].set_init_values([])
    m.load()
    m.step_time()


def test_genn_backend_is_optional():
    try:
        import pygenn  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pygenn"):
            genn_engine.get_backend("genn")
    else:   # pragma: no cover - only where real GeNN is installed
        assert genn_engine.get_backend("genn").GeNNModel is not None
