"""Compose model definitions from parts (dynamics, adjoint, loss, regulariser).

A part is plain data: the params, vars, EGPs and code fragments it adds, and
the values its vars take at a trial reset. ``compose_neuron`` concatenates
fragments section by section, so a new variant is a new list of parts.
"""
from dataclasses import dataclass, field

# Order in which code sections of all parts are emitted in sim_code.
# "backward_source" follows the decay: loss sources integrated exactly over the step
SECTIONS = ("prelude", "backward", "backward_decay", "backward_source",
            "backward_flag", "forward", "forward_after")


@dataclass
class Part:
    params: list = field(default_factory=list)         # names
    derived: list = field(default_factory=list)        # (name, fn(p, dt))
    vars: list = field(default_factory=list)           # (name, type[, access])
    egps: list = field(default_factory=list)           # (name, type)
    inputs: list = field(default_factory=list)         # additional input vars
    code: dict = field(default_factory=dict)           # section -> code
    threshold: str = None
    reset: str = ""                                    # spike reset code
    trial_reset: dict = field(default_factory=dict)    # var -> expression
    trial_reset_code: str = ""                         # extra reset statements
    trial_reset_params: list = field(default_factory=list)
    trial_reset_egps: list = field(default_factory=list)


def merge(*parts):
    """One Part holding everything of ``parts`` (sections concatenated)."""
    out = Part()
    seen = set()
    for p in parts:
        if p is None:
            continue
        for attr in ("params", "derived", "vars", "egps", "inputs",
                     "trial_reset_params", "trial_reset_egps"):
            for item in getattr(p, attr):
                key = (attr, item if isinstance(item, str) else item[0])
                if key not in seen:
                    seen.add(key)
                    getattr(out, attr).append(item)
        for sec, code in p.code.items():
            out.code[sec] = out.code.get(sec, "") + code
        if p.threshold:
            if out.threshold:
                raise ValueError("two parts define a threshold condition")
            out.threshold = p.threshold
        out.reset += p.reset
        out.trial_reset.update(p.trial_reset)
        out.trial_reset_code += p.trial_reset_code
    return out


def sim_code(part):
    return "".join(part.code.get(s, "") for s in SECTIONS)


def compose_neuron(api, name, *parts):
    """(neuron model, merged part) for the given parts.

    ``api`` is the module providing pygenn's names (genn_engine or pygenn).
    """
    p = merge(*parts)
    # parts name var access modes as strings: they are built without an api
    vars_ = [v[:2] + (getattr(api.VarAccess, v[2]),) if len(v) > 2 else v
             for v in p.vars]
    model = api.create_neuron_model(
        name, params=p.params, derived_params=p.derived, vars=vars_,
        extra_global_params=p.egps, additional_input_vars=p.inputs,
        sim_code=sim_code(p), threshold_condition_code=p.threshold,
        reset_code=(p.reset or None) if p.threshold else None)
    return model, p
