"""The few built-in GeNN models that can be named by string, in our own dialect."""
import numpy as np

from .enums import VarAccess
from .errors import DefinitionError
from .event_source import create_event_source_model
from .snippets import (Model, create_neuron_model, create_postsynaptic_model,
                       create_weight_update_model)


def _builtins():
    return {
        ("neuron", "LIF"): create_neuron_model(
            "LIF",
            params=["C", "TauM", "Vrest", "Vreset", "Vthresh", "Ioffset",
                    "TauRefrac"],
            derived_params=[("ExpTC", lambda p, dt: np.exp(-dt / p["TauM"])),
                            ("Rmembrane", lambda p, dt: p["TauM"] / p["C"])],
            vars=[("V", "scalar"), ("RefracTime", "scalar")],
            sim_code="""
            if (RefracTime <= 0.0) {
                scalar alpha = ((Isyn + Ioffset) * Rmembrane) + Vrest;
                V = alpha - (ExpTC * (alpha - V));
            }
            else {
                RefracTime -= dt;
            }
            """,
            threshold_condition_code="RefracTime <= 0.0 && V >= Vthresh",
            reset_code="V = Vreset; RefracTime = TauRefrac;"),
        ("neuron", "SpikeSourceArray"): create_neuron_model(
            "SpikeSourceArray",
            vars=[("startSpike", "unsigned int"), ("endSpike", "unsigned int",
                                                    VarAccess.READ_ONLY_DUPLICATE)],
            extra_global_params=[("spikeTimes", "scalar*")],
            threshold_condition_code=(
                "startSpike != endSpike && t >= spikeTimes[startSpike]"),
            reset_code="startSpike++;"),
        # engine only: an event-driven SpikeSourceArray (event_source.py)
        ("neuron", "EventSourceArray"): create_event_source_model(),
        ("neuron", "Poisson"): create_neuron_model(
            "Poisson",
            params=["rate"],
            vars=[("timeStepToSpike", "scalar")],
            derived_params=[("isi", lambda p, dt: 1000.0 / (p["rate"] * dt))],
            sim_code="""
            if (timeStepToSpike <= 0.0) {
                timeStepToSpike += isi * gennrand_exponential();
            }
            timeStepToSpike -= 1.0;
            """,
            threshold_condition_code="timeStepToSpike <= 0.0"),
        ("weight_update", "StaticPulse"): create_weight_update_model(
            "StaticPulse", vars=[("g", "scalar", VarAccess.READ_ONLY)],
            pre_spike_syn_code="addToPost(g);"),
        ("weight_update", "StaticPulseConstantWeight"): create_weight_update_model(
            "StaticPulseConstantWeight", params=["g"],
            pre_spike_syn_code="addToPost(g);"),
        ("postsynaptic", "DeltaCurr"): create_postsynaptic_model(
            "DeltaCurr", sim_code="injectCurrent(inSyn);\ninSyn = 0.0;"),
        ("postsynaptic", "ExpCurr"): create_postsynaptic_model(
            "ExpCurr", params=["tau"],
            derived_params=[("expDecay", lambda p, dt: np.exp(-dt / p["tau"])),
                            ("init", lambda p, dt: (p["tau"] * (1.0 - np.exp(
                                -dt / p["tau"]))) * (1.0 / dt))],
            sim_code="injectCurrent(init * inSyn);\ninSyn *= expDecay;"),
    }


# GeNN 4's name of GeNN 5's Poisson
_ALIASES = {("neuron", "PoissonNew"): ("neuron", "Poisson")}
_BUILTINS = None


def resolve(model, kind):
    """A Model object, or the built-in of that kind named by a string."""
    global _BUILTINS
    if isinstance(model, Model):
        if model.kind != kind:
            raise DefinitionError(f"expected a {kind} model, got a "
                                  f"{model.kind} model", model=model.class_name)
        return model
    if isinstance(model, str):
        if _BUILTINS is None:
            _BUILTINS = _builtins()
            _BUILTINS.update({k: _BUILTINS[v] for k, v in _ALIASES.items()})
        try:
            return _BUILTINS[(kind, model)]
        except KeyError:
            known = sorted(n for k, n in _BUILTINS if k == kind)
            raise DefinitionError(f"unknown built-in {kind} model '{model}'; "
                                  f"built-ins: {known}") from None
    raise DefinitionError(f"expected a {kind} model, got {model!r}")
