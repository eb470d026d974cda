"""Model definitions with pygenn 5's ``create_*`` signatures.

Definitions are plain data: names, types, access modes and code strings.
They are checked for shape here and for meaning when added to a network.
"""
import keyword
from dataclasses import dataclass, field

import numpy as np

from .enums import CustomUpdateVarAccess, VarAccess, VarAccessMode
from .errors import DefinitionError

_INT_TYPES = {
    "int": np.int32, "int32_t": np.int32, "unsigned int": np.uint32,
    "uint32_t": np.uint32, "unsigned": np.uint32, "int8_t": np.int8,
    "uint8_t": np.uint8, "int16_t": np.int16, "uint16_t": np.uint16,
    "int64_t": np.int64, "uint64_t": np.uint64, "bool": np.uint8,
}
_C_TYPES = {"bool": "uint8_t", "unsigned": "unsigned int"}


def numpy_dtype(type_name, precision):
    t = type_name.strip()
    if t == "scalar":
        return np.dtype(np.float32 if precision == "float" else np.float64)
    if t == "float":
        return np.dtype(np.float32)
    if t in ("double", "timepoint"):
        return np.dtype(np.float64)
    if t in _INT_TYPES:
        return np.dtype(_INT_TYPES[t])
    raise KeyError(t)


def c_type(type_name):
    t = type_name.strip()
    return _C_TYPES.get(t, t)


@dataclass
class Var:
    name: str
    type: str = "scalar"
    access: object = None


@dataclass
class VarRef:
    name: str
    type: str = "scalar"
    access: VarAccessMode = VarAccessMode.READ_WRITE


@dataclass
class Model:
    """One model definition (neuron, weight update, postsynaptic, custom update)."""
    kind: str
    class_name: str
    params: list = field(default_factory=list)        # [(name, type)]
    vars: list = field(default_factory=list)          # [Var]
    derived_params: list = field(default_factory=list)  # [(name, fn(pars, dt))]
    egps: list = field(default_factory=list)          # [(name, type)]
    code: dict = field(default_factory=dict)          # field -> code string
    extra: dict = field(default_factory=dict)         # kind-specific lists

    def param_names(self):
        return [p for p, _ in self.params]

    def var(self, name):
        return next((v for v in self.vars if v.name == name), None)

    def __repr__(self):
        return f"<{self.kind} model '{self.class_name}'>"


def _check_name(name, what, model):
    if not isinstance(name, str) or not name.isidentifier() \
            or keyword.iskeyword(name):
        raise DefinitionError(f"{what} name {name!r} is not a valid identifier",
                              model=model)


def _params(params, model):
    out = []
    for p in params or []:
        name, typ = (p, "scalar") if isinstance(p, str) else tuple(p)
        _check_name(name, "parameter", model)
        _check_type(typ, name, model)
        out.append((name, typ))
    return out


def _check_type(typ, name, model):
    try:
        numpy_dtype(typ.rstrip("*").strip(), "float")
    except (KeyError, AttributeError):
        raise DefinitionError(f"'{name}' has unknown type {typ!r}", model=model)


def _vars(vars, model, access_enum, default_access, what="variable"):
    out = []
    for v in vars or []:
        if isinstance(v, Var):
            v = (v.name, v.type, v.access)
        if not isinstance(v, (tuple, list)) or not 2 <= len(v) <= 3:
            raise DefinitionError(f"{what} {v!r} must be (name, type) or "
                                  "(name, type, access)", model=model)
        name, typ = v[0], v[1]
        access = v[2] if len(v) == 3 else default_access
        _check_name(name, what, model)
        _check_type(typ, name, model)
        if not isinstance(access, access_enum):
            raise DefinitionError(f"{what} '{name}' has access {access!r}; "
                                  f"expected a {access_enum.__name__}",
                                  model=model)
        out.append(Var(name, typ, access))
    return out


def _var_refs(refs, model):
    out = []
    for r in refs or []:
        name, typ = r[0], r[1]
        access = r[2] if len(r) == 3 else VarAccessMode.READ_WRITE
        _check_name(name, "variable reference", model)
        if not isinstance(access, VarAccessMode):
            raise DefinitionError(f"variable reference '{name}' needs a "
                                  "VarAccessMode", model=model)
        out.append(VarRef(name, typ, access))
    return out


def _egps(egps, model):
    out = []
    for name, typ in egps or []:
        _check_name(name, "extra global parameter", model)
        if not typ.strip().endswith("*"):
            raise DefinitionError(
                f"extra global parameter '{name}' has type {typ!r}: only "
                "pointer types are supported; use a (dynamic) parameter "
                "for a single value", model=model)
        _check_type(typ, name, model)
        out.append((name, typ.strip()))
    return out


def _derived(derived, model):
    out = []
    for d in derived or []:
        name, fn = d[0], d[1]
        _check_name(name, "derived parameter", model)
        if not callable(fn):
            raise DefinitionError(f"derived parameter '{name}' needs a "
                                  "callable fn(pars, dt)", model=model)
        out.append((name, fn))
    return out


def _code(model, **codes):
    out = {}
    for k, v in codes.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise DefinitionError(f"{k} must be a string", model=model)
        out[k] = v
    return out


def _unique(model):
    seen = set()
    names = ([n for n, _ in model.params] + [v.name for v in model.vars]
             + [n for n, _ in model.derived_params] + [n for n, _ in model.egps])
    for lst in model.extra.values():
        names += [getattr(x, "name", None) or x[0] for x in lst]
    for n in names:
        if n in seen:
            raise DefinitionError(f"name '{n}' is defined twice",
                                  model=model.class_name)
        seen.add(n)
    return model


def create_neuron_model(class_name, params=None, vars=None,
                        derived_params=None, sim_code=None,
                        threshold_condition_code=None, reset_code=None,
                        extra_global_params=None, additional_input_vars=None,
                        is_auto_refractory_required=None):
    inputs = []
    for a in additional_input_vars or []:
        name, typ, init = a
        _check_name(name, "additional input variable", class_name)
        inputs.append((name, typ, init))
    return _unique(Model(
        "neuron", class_name, _params(params, class_name),
        _vars(vars, class_name, VarAccess, VarAccess.READ_WRITE),
        _derived(derived_params, class_name),
        _egps(extra_global_params, class_name),
        _code(class_name, sim_code=sim_code,
              threshold_condition_code=threshold_condition_code,
              reset_code=reset_code),
        {"additional_input_vars": inputs}))


def create_weight_update_model(class_name, params=None, vars=None,
                               pre_vars=None, post_vars=None,
                               pre_neuron_var_refs=None,
                               post_neuron_var_refs=None,
                               psm_var_refs=None, derived_params=None,
                               pre_spike_syn_code=None,
                               pre_event_syn_code=None,
                               post_event_syn_code=None,
                               post_spike_syn_code=None,
                               synapse_dynamics_code=None,
                               pre_event_threshold_condition_code=None,
                               post_event_threshold_condition_code=None,
                               pre_spike_code=None, post_spike_code=None,
                               pre_dynamics_code=None,
                               post_dynamics_code=None,
                               extra_global_params=None):
    unsupported = {"post_event_syn_code": post_event_syn_code,
                   "post_event_threshold_condition_code":
                       post_event_threshold_condition_code,
                   "psm_var_refs": psm_var_refs}
    for k, v in unsupported.items():
        if v:
            raise DefinitionError(f"{k} is not supported by this engine",
                                  model=class_name)
    return _unique(Model(
        "weight_update", class_name, _params(params, class_name),
        _vars(vars, class_name, VarAccess, VarAccess.READ_WRITE),
        _derived(derived_params, class_name),
        _egps(extra_global_params, class_name),
        _code(class_name, pre_spike_syn_code=pre_spike_syn_code,
              pre_event_syn_code=pre_event_syn_code,
              post_spike_syn_code=post_spike_syn_code,
              synapse_dynamics_code=synapse_dynamics_code,
              pre_event_threshold_condition_code=(
                  pre_event_threshold_condition_code),
              pre_spike_code=pre_spike_code, post_spike_code=post_spike_code,
              pre_dynamics_code=pre_dynamics_code,
              post_dynamics_code=post_dynamics_code),
        {"pre_vars": _vars(pre_vars, class_name, VarAccess,
                           VarAccess.READ_WRITE, "presynaptic variable"),
         "post_vars": _vars(post_vars, class_name, VarAccess,
                            VarAccess.READ_WRITE, "postsynaptic variable"),
         "pre_neuron_var_refs": _var_refs(pre_neuron_var_refs, class_name),
         "post_neuron_var_refs": _var_refs(post_neuron_var_refs,
                                           class_name)}))


def create_postsynaptic_model(class_name, params=None, vars=None,
                              neuron_var_refs=None, derived_params=None,
                              sim_code=None, extra_global_params=None):
    return _unique(Model(
        "postsynaptic", class_name, _params(params, class_name),
        _vars(vars, class_name, VarAccess, VarAccess.READ_WRITE),
        _derived(derived_params, class_name),
        _egps(extra_global_params, class_name),
        _code(class_name, sim_code=sim_code),
        {"neuron_var_refs": _var_refs(neuron_var_refs, class_name)}))


def create_custom_update_model(class_name, params=None, vars=None,
                               derived_params=None, var_refs=None,
                               update_code=None, extra_global_params=None,
                               extra_global_param_refs=None):
    return _unique(Model(
        "custom_update", class_name, _params(params, class_name),
        _vars(vars, class_name, CustomUpdateVarAccess,
              CustomUpdateVarAccess.READ_WRITE),
        _derived(derived_params, class_name),
        _egps(extra_global_params, class_name),
        _code(class_name, update_code=update_code),
        {"var_refs": _var_refs(var_refs, class_name),
         "egp_refs": [(n, t) for n, t in extra_global_param_refs or []]}))


# ----------------------------------------------------------------------------
# Initialisation snippets
# ----------------------------------------------------------------------------
VAR_INIT_SNIPPETS = {
    "Constant": ("constant",),
    "Uniform": ("min", "max"),
    "Normal": ("mean", "sd"),
    "NormalClipped": ("mean", "sd", "min", "max"),
    "Exponential": ("lambda",),
    "Gamma": ("a", "b"),
}


@dataclass
class VarInit:
    snippet: str
    params: dict

    def sample(self, rng, shape, dtype):
        p = self.params
        s = self.snippet
        if s == "Constant":
            return np.full(shape, p["constant"], dtype=dtype)
        if s == "Uniform":
            x = rng.uniform(p["min"], p["max"], size=shape)
        elif s == "Normal":
            x = rng.normal(p["mean"], p["sd"], size=shape)
        elif s == "NormalClipped":
            x = rng.normal(p["mean"], p["sd"], size=shape)
            bad = (x < p["min"]) | (x > p["max"])
            while bad.any():   # resample, as GeNN does, rather than clip
                x[bad] = rng.normal(p["mean"], p["sd"], size=int(bad.sum()))
                bad = (x < p["min"]) | (x > p["max"])
        elif s == "Exponential":
            x = rng.exponential(1.0 / p["lambda"], size=shape)
        elif s == "Gamma":
            x = rng.gamma(p["a"], p["b"], size=shape)
        return x.astype(dtype)


def init_var(snippet, params=None):
    params = dict(params or {})
    if snippet not in VAR_INIT_SNIPPETS:
        raise DefinitionError(f"unknown variable initialisation snippet "
                              f"'{snippet}'; known: {sorted(VAR_INIT_SNIPPETS)}")
    need = set(VAR_INIT_SNIPPETS[snippet])
    if set(params) != need:
        raise DefinitionError(f"init_var('{snippet}') needs params "
                              f"{sorted(need)}, got {sorted(params)}")
    if snippet == "NormalClipped" and params["min"] >= params["max"]:
        raise DefinitionError("NormalClipped needs min < max")
    return VarInit(snippet, params)


@dataclass
class SparseInit:
    snippet: str
    params: dict


SPARSE_INIT_SNIPPETS = {"FixedProbability": ("prob",),
                        "FixedProbabilityNoAutapse": ("prob",),
                        "OneToOne": ()}


def init_sparse_connectivity(snippet, params=None):
    params = dict(params or {})
    if snippet not in SPARSE_INIT_SNIPPETS:
        raise DefinitionError(f"unknown connectivity snippet '{snippet}'; "
                              f"known: {sorted(SPARSE_INIT_SNIPPETS)}")
    if set(params) != set(SPARSE_INIT_SNIPPETS[snippet]):
        raise DefinitionError(f"init_sparse_connectivity('{snippet}') needs "
                              f"params {list(SPARSE_INIT_SNIPPETS[snippet])}")
    return SparseInit(snippet, params)


@dataclass
class WUInit:
    model: Model
    params: dict
    vars: dict
    pre_vars: dict
    post_vars: dict
    pre_var_refs: dict
    post_var_refs: dict


@dataclass
class PSMInit:
    model: Model
    params: dict
    vars: dict
    var_refs: dict


def init_weight_update(snippet, params=None, vars=None, pre_vars=None,
                       post_vars=None, pre_var_refs=None, post_var_refs=None,
                       psm_var_refs=None):
    from .builtins import resolve
    if psm_var_refs:
        raise DefinitionError("psm_var_refs are not supported by this engine")
    return WUInit(resolve(snippet, "weight_update"), dict(params or {}),
                  dict(vars or {}), dict(pre_vars or {}), dict(post_vars or {}),
                  dict(pre_var_refs or {}), dict(post_var_refs or {}))


def init_postsynaptic(snippet, params=None, vars=None, var_refs=None):
    from .builtins import resolve
    return PSMInit(resolve(snippet, "postsynaptic"), dict(params or {}),
                   dict(vars or {}), dict(var_refs or {}))
