"""Populations, synapse groups and custom updates, and their variables.

Every variable lives in one numpy array owned by Python; generated code
reads and writes the same memory through a pointer table, so on the CPU
target push/pull are no-ops kept for pygenn compatibility.
"""
import difflib
from dataclasses import dataclass

import numpy as np

from .enums import access_shape
from .errors import DefinitionError
from .code import used_names
from .snippets import VarInit, numpy_dtype


@dataclass
class Storage:
    """One array of the model, as the generator sees it."""
    cname: str            # C identifier of the array
    dtype: np.dtype
    ctype: str
    batched: bool         # one copy per batch slot
    per_element: bool     # one value per neuron/synapse (else one per slot)
    n: int                # elements per batch slot when per_element

    def index(self, b="b", i="i"):
        if self.per_element:
            return f"(size_t)({b}) * {self.n} + ({i})" if self.batched else i
        return b if self.batched else "0"

    def shape(self, batch_size):
        n = self.n if self.per_element else 1
        return (batch_size, n) if self.batched else (n,)


class Variable:
    """pygenn's view on one variable: ``view``, ``values``, push/pull."""

    def __init__(self, group, name, type_name, access, storage, init):
        self.group = group
        self.name = name
        self.type = type_name
        self.access = access
        self.storage = storage
        self.init = init
        self._array = None

    @property
    def view(self):
        if self._array is None:
            raise RuntimeError(f"'{self.group.name}.{self.name}': the model "
                               "is not loaded")
        a = self._array
        if self.storage.batched and a.shape[0] == 1:
            return a[0]
        return a

    @property
    def values(self):
        return np.array(self.view)

    @values.setter
    def values(self, v):
        self.view[...] = v

    def push_to_device(self):
        pass

    def pull_from_device(self):
        pass


class ExtraGlobalParam:
    """A pointer-typed extra global parameter, or a reference to one."""

    def __init__(self, group, name, type_name, cname):
        self.group = group
        self.name = name
        self.type = type_name
        self.cname = cname
        self._values = None
        self._model = None

    def set_init_values(self, values):
        if self._model is not None and self._model._loaded:
            # as in GeNN 5, which allocates extra global parameters in load()
            raise RuntimeError(
                f"extra global parameter '{self.name}' of '{self.group.name}': "
                "set_init_values() after load(); write into .view and call "
                "push_to_device(), or set it before load()")
        dtype = numpy_dtype(self.type.rstrip("*"),
                            self.group.model_ref.precision)
        self._values = np.ascontiguousarray(np.asarray(values, dtype=dtype)
                                            .ravel())
        if self._model is not None:
            self._model._set_pointer(self.cname, self._values)

    @property
    def view(self):
        return self._values

    @property
    def values(self):
        return None if self._values is None else np.array(self._values)

    def push_to_device(self):
        if self._model is not None and self._values is not None:
            self._model._set_pointer(self.cname, self._values)

    def pull_from_device(self):
        pass


def _nearest(name, names):
    close = difflib.get_close_matches(name, list(names), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class Group:
    """What populations, synapse groups and custom updates share."""
    kind = "group"

    def __init__(self, model_ref, name, model):
        self.model_ref = model_ref
        self.name = name
        self.model = model
        self.params = {}
        self.dynamic = set()
        self.vars = {}
        self.extra_global_params = {}

    # -- parameters -----------------------------------------------------
    def _check_values(self, given, expected, what, model):
        given = dict(given or {})
        for k in given:
            if k not in expected:
                raise DefinitionError(f"unknown {what} '{k}'"
                                      + _nearest(k, expected),
                                      model=model.class_name,
                                      population=self.name)
        missing = [k for k in expected if k not in given]
        if missing:
            raise DefinitionError(f"missing {what} value(s) {missing}",
                                  model=model.class_name, population=self.name)
        return given

    def _set_params(self, values, model, prefix=""):
        values = self._check_values(values, model.param_names(), "parameter",
                                    model)
        for k, v in values.items():
            if isinstance(v, VarInit) or np.ndim(v) != 0:
                raise DefinitionError(f"parameter '{k}' must be a number",
                                      model=model.class_name,
                                      population=self.name)
            self.params[prefix + k] = float(v)
        self._param_models = getattr(self, "_param_models", [])
        self._param_models.append((prefix, model))

    def set_param_dynamic(self, name, dynamic=True):
        if self.model_ref._built:
            raise RuntimeError("set_param_dynamic must be called before build()")
        if name not in self.params:
            raise DefinitionError(f"unknown parameter '{name}'"
                                  + _nearest(name, self.params),
                                  population=self.name)
        if dynamic:
            self.dynamic.add(name)
        else:
            self.dynamic.discard(name)

    def set_dynamic_param_value(self, name, value):
        if name not in self.dynamic:
            raise DefinitionError(f"parameter '{name}' is not dynamic; call "
                                  "set_param_dynamic before build()",
                                  population=self.name)
        self.params[name] = float(value)
        self.model_ref._update_params(self)

    def derived_values(self, dt):
        out = {}
        for prefix, model in getattr(self, "_param_models", []):
            pars = {k[len(prefix):]: v for k, v in self.params.items()
                    if k.startswith(prefix)}
            for name, fn in model.derived_params:
                try:
                    val = fn(dict(pars), dt)
                except Exception as e:
                    raise DefinitionError(f"derived parameter '{name}' "
                                          f"failed: {e}", model=model.class_name,
                                          population=self.name) from e
                out[prefix + name] = float(val)
                pars[name] = float(val)
        return out

    # -- variables ------------------------------------------------------
    def _add_vars(self, model_vars, values, model, n, what="variable",
                  prefix="", access_batched=None):
        values = self._check_values(values, [v.name for v in model_vars],
                                    f"{what} initial", model)
        for v in model_vars:
            batched, per_element = access_shape(v.access)
            if access_batched is not None:
                batched = batched and access_batched
            dtype = numpy_dtype(v.type, self.model_ref.precision)
            storage = Storage(f"{self.name}_{prefix}{v.name}", dtype,
                              _ctype(v.type), batched, per_element, n)
            init = values[v.name]
            if not isinstance(init, VarInit):
                arr = np.asarray(init)
                if arr.ndim > 0 and arr.size not in (storage.n, 1) \
                        and arr.shape != storage.shape(
                            self.model_ref.batch_size):
                    raise DefinitionError(
                        f"initial values of '{v.name}' have shape {arr.shape};"
                        f" expected {storage.n} values", model=model.class_name,
                        population=self.name)
            yield v, storage, init

    def _egps(self, model, prefix=""):
        for name, typ in model.egps:
            self.extra_global_params[prefix + name] = ExtraGlobalParam(
                self, prefix + name, typ, f"{self.name}_{prefix}{name}")

    def all_variables(self):
        return list(self.vars.values())


def _ctype(type_name):
    from .snippets import c_type
    return c_type(type_name)


class NeuronGroup(Group):
    kind = "neuron"

    def __init__(self, model_ref, name, num_neurons, model, params, vars):
        super().__init__(model_ref, name, model)
        if int(num_neurons) != num_neurons or num_neurons < 1:
            raise DefinitionError(f"number of neurons must be a positive "
                                  f"integer, got {num_neurons!r}",
                                  population=name)
        self.num_neurons = int(num_neurons)
        self._set_params(params, model)
        for v, st, init in self._add_vars(model.vars, vars, model,
                                          self.num_neurons):
            self.vars[v.name] = Variable(self, v.name, v.type, v.access, st,
                                         init)
        self._egps(model)
        self.spike_recording_enabled = False
        self.in_syn = []
        self.out_syn = []
        self.spk_cnt = Storage(f"{name}_spkCnt", np.dtype(np.uint32),
                               "uint32_t", True, False, 1)
        self.spk = Storage(f"{name}_spk", np.dtype(np.uint32), "uint32_t",
                           True, True, self.num_neurons)
        self.rec_words = (self.num_neurons + 31) // 32
        self._rec = None

    @property
    def size(self):
        return self.num_neurons

    def pull_recording_buffers_from_device(self):
        pass

    @property
    def spike_recording_data(self):
        """Per batch slot, (times, ids) of the spikes in the recording buffer."""
        m = self.model_ref
        if not self.spike_recording_enabled or self._rec is None:
            raise RuntimeError(f"spike recording is not enabled for "
                               f"'{self.name}' (set spike_recording_enabled "
                               "before build and load with "
                               "num_recording_timesteps)")
        steps = m._num_recording_timesteps
        # Row r of the ring buffer holds the timestep congruent to r.
        start = m.timestep - steps
        order = (np.arange(steps) + start) % steps
        out = []
        for b in range(m.batch_size):
            words = self._rec[order, b, :]
            bits = np.unpackbits(words.view(np.uint8), axis=1,
                                 bitorder="little")[:, :self.num_neurons]
            rows, ids = np.nonzero(bits)
            out.append(((start + rows) * m.dt, ids))
        return out

    def push_state_to_device(self):
        pass

    def pull_state_from_device(self):
        pass

    def pull_spikes_from_device(self):
        pass

    @property
    def spike_count(self):
        return self.model_ref._arrays[self.spk_cnt.cname]


def _target_property(which, pop_attr):
    """pre/post_target_var: checked on assignment, like GeNN 5's setters."""
    attr = f"_{which}_target_var"

    def get(self):
        return getattr(self, attr)

    def set(self, name):
        pop = getattr(self, pop_attr)
        inputs = ["Isyn"] + [n for n, _, _ in
                             pop.model.extra["additional_input_vars"]]
        if name not in inputs:
            side = "Presynaptic" if which == "pre" else "Postsynaptic"
            raise DefinitionError(
                f"{side} neuron group '{pop.name}' has no input variable "
                f"'{name}' (inputs: {inputs})", population=self.name)
        setattr(self, attr, name)
    return property(get, set)


class SynapseGroup(Group):
    kind = "synapse"
    pre_target_var = _target_property("pre", "src")
    post_target_var = _target_property("post", "trg")

    def __init__(self, model_ref, name, matrix_type, source, target, wu, psm,
                 connectivity):
        super().__init__(model_ref, name, wu.model)
        self.matrix_type = matrix_type
        self.src = source
        self.trg = target
        self.wu = wu
        self.psm = psm
        self.connectivity = connectivity
        self._pre_target_var = "Isyn"
        self._post_target_var = "Isyn"
        self.pre_vars = {}
        self.post_vars = {}
        self.psm_vars = {}
        self.psm_extra_global_params = {}
        self._sparse = None
        self._set_params(wu.params, wu.model)
        self._set_params(psm.params, psm.model, prefix="psm_")
        self.dense = matrix_type == "DENSE"
        if self.dense:
            n_syn = source.num_neurons * target.num_neurons
        else:
            self._sparse = self._make_sparse(connectivity)
            n_syn = len(self._sparse[1])
        self.n_syn = n_syn
        for v, st, init in self._add_vars(wu.model.vars, wu.vars, wu.model,
                                          n_syn):
            self.vars[v.name] = Variable(self, v.name, v.type, v.access, st,
                                         init)
        for v, st, init in self._add_vars(wu.model.extra["pre_vars"],
                                          wu.pre_vars, wu.model,
                                          source.num_neurons,
                                          "presynaptic variable", "pre_"):
            self.pre_vars[v.name] = Variable(self, v.name, v.type, v.access,
                                             st, init)
        for v, st, init in self._add_vars(wu.model.extra["post_vars"],
                                          wu.post_vars, wu.model,
                                          target.num_neurons,
                                          "postsynaptic variable", "post_"):
            self.post_vars[v.name] = Variable(self, v.name, v.type, v.access,
                                              st, init)
        for v, st, init in self._add_vars(psm.model.vars, psm.vars, psm.model,
                                          target.num_neurons,
                                          "postsynaptic model variable",
                                          "psm_"):
            self.psm_vars[v.name] = Variable(self, v.name, v.type, v.access,
                                             st, init)
        self._egps(wu.model)
        for n, t in psm.model.egps:
            self.psm_extra_global_params[n] = ExtraGlobalParam(
                self, n, t, f"{self.name}_psm_{n}")
        self.in_syn = Storage(f"{name}_inSyn", self._scalar(), "scalar", True,
                              True, target.num_neurons)
        self.rev_in_syn = Storage(f"{name}_revInSyn", self._scalar(), "scalar",
                                  True, True, source.num_neurons)
        self.ev_cnt = Storage(f"{name}_evCnt", np.dtype(np.uint32), "uint32_t",
                              True, False, 1)
        self.ev = Storage(f"{name}_ev", np.dtype(np.uint32), "uint32_t", True,
                          True, source.num_neurons)
        self.pre_var_refs = self._neuron_refs(
            wu.model.extra["pre_neuron_var_refs"], wu.pre_var_refs, source,
            "presynaptic neuron variable reference")
        self.post_var_refs = self._neuron_refs(
            wu.model.extra["post_neuron_var_refs"], wu.post_var_refs, target,
            "postsynaptic neuron variable reference")
        self.psm_var_refs = self._neuron_refs(
            psm.model.extra["neuron_var_refs"], psm.var_refs, target,
            "postsynaptic model neuron variable reference")

    def _scalar(self):
        return numpy_dtype("scalar", self.model_ref.precision)

    def _neuron_refs(self, decls, given, pop, what):
        from .references import check_ref
        model = self.wu.model if "postsynaptic model" not in what \
            else self.psm.model
        given = self._check_values(given, [r.name for r in decls], what, model)
        out = {}
        for r in decls:
            ref = given[r.name]
            if isinstance(ref, str):   # GeNN 5.4: a variable of pop, by name
                from .references import create_var_ref
                ref = create_var_ref(pop, ref)
            check_ref(ref, r, self.name, model.class_name, allow_reduce=False)
            if ref.group is not pop:
                raise DefinitionError(
                    f"{what} '{r.name}' must point to population "
                    f"'{pop.name}', not '{ref.group.name}'",
                    model=model.class_name, population=self.name)
            out[r.name] = (r, ref)
        return out

    def _make_sparse(self, conn):
        n_pre, n_post = self.src.num_neurons, self.trg.num_neurons
        if conn is None:
            return np.zeros(n_pre + 1, np.uint32), np.zeros(0, np.uint32)
        rng = self.model_ref._init_rng(self.name, "connectivity")
        if conn.snippet == "OneToOne":
            if n_pre != n_post:
                raise DefinitionError("OneToOne needs equal population sizes",
                                      population=self.name)
            pre = np.arange(n_pre)
            post = np.arange(n_pre)
        else:
            mask = rng.random((n_pre, n_post)) < conn.params["prob"]
            if conn.snippet == "FixedProbabilityNoAutapse":
                np.fill_diagonal(mask, False)
            pre, post = np.nonzero(mask)
        return self._csr(pre, post)

    def _csr(self, pre, post):
        pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        if pre.shape != post.shape:
            raise ValueError("pre and post index arrays differ in length")
        if len(pre) and (pre.min() < 0 or pre.max() >= self.src.num_neurons
                         or post.min() < 0
                         or post.max() >= self.trg.num_neurons):
            raise ValueError("sparse connection index out of range")
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
        row = np.zeros(self.src.num_neurons + 1, np.uint32)
        np.cumsum(np.bincount(pre, minlength=self.src.num_neurons),
                  out=row[1:])
        return row, post.astype(np.uint32)

    @property
    def uses_add_to_pre(self):
        return any("addToPre" in used_names(c, ["addToPre"])
                   for c in self.wu.model.code.values())

    def set_sparse_connections(self, pre_indices, post_indices):
        if self.dense:
            raise DefinitionError("set_sparse_connections needs a SPARSE "
                                  "synapse group", population=self.name)
        if self.model_ref._built:
            raise RuntimeError("set_sparse_connections must be called "
                               "before build()")
        self._sparse = self._csr(pre_indices, post_indices)
        self.n_syn = len(self._sparse[1])
        for v in self.vars.values():
            v.storage.n = self.n_syn

    def get_sparse_pre_inds(self):
        row = self._sparse[0].astype(np.int64)
        return np.repeat(np.arange(self.src.num_neurons), np.diff(row))

    def get_sparse_post_inds(self):
        return self._sparse[1].astype(np.int64)

    def all_variables(self):
        return (list(self.vars.values()) + list(self.pre_vars.values())
                + list(self.post_vars.values()) + list(self.psm_vars.values()))

    def pull_connectivity_from_device(self):
        pass

    def push_connectivity_to_device(self):
        pass


class CustomUpdate(Group):
    kind = "custom_update"

    def __init__(self, model_ref, name, group_name, model, params, vars,
                 var_refs, egp_refs):
        from .references import check_ref
        super().__init__(model_ref, name, model)
        self.update_group_name = group_name
        self._set_params(params, model)
        refs = self._check_values(var_refs, [r.name for r in
                                             model.extra["var_refs"]],
                                  "variable reference", model)
        self.var_refs = {}
        for r in model.extra["var_refs"]:
            check_ref(refs[r.name], r, name, model.class_name,
                      allow_reduce=True)
            self.var_refs[r.name] = (r, refs[r.name])
        if not self.var_refs:
            raise DefinitionError("a custom update needs at least one "
                                  "variable reference", model=model.class_name,
                                  population=name)
        kinds = {ref.element_kind for _, ref in self.var_refs.values()}
        sizes = {ref.storage.n for _, ref in self.var_refs.values()}
        if len(kinds) > 1 or len(sizes) > 1:
            raise DefinitionError("all variable references of a custom update "
                                  "must point to groups of the same kind and "
                                  "size", model=model.class_name,
                                  population=name)
        first = next(iter(self.var_refs.values()))[1]
        self.element_kind = first.element_kind      # "neuron" or "synapse"
        self.size = first.storage.n
        self.target = first.group
        self.batched = any(ref.storage.batched
                           for _, ref in self.var_refs.values())
        for v, st, init in self._add_vars(model.vars, vars, model, self.size,
                                          access_batched=self.batched):
            if self.element_kind == "synapse" and not st.per_element:
                raise DefinitionError(
                    f"variable '{v.name}' has neuron-shared access "
                    f"{v.access.name}, which needs a neuron custom update",
                    model=model.class_name, population=name)
            self.vars[v.name] = Variable(self, v.name, v.type, v.access, st,
                                         init)
        self._egps(model)
        egp_refs = self._check_values(egp_refs, [n for n, _ in
                                                 model.extra["egp_refs"]],
                                      "extra global parameter reference", model)
        self.egp_refs = {}
        for n, t in model.extra["egp_refs"]:
            egp = egp_refs[n]
            if not isinstance(egp, ExtraGlobalParam):
                raise DefinitionError(f"extra global parameter reference '{n}'"
                                      " needs create_egp_ref(...)",
                                      model=model.class_name, population=name)
            if egp.type.replace(" ", "") != t.replace(" ", ""):
                raise DefinitionError(f"extra global parameter reference '{n}'"
                                      f" has type {t} but '{egp.name}' is "
                                      f"{egp.type}", model=model.class_name,
                                      population=name)
            self.egp_refs[n] = egp

    @property
    def sparse_target(self):
        return self.target if isinstance(self.target, SynapseGroup) \
            and not self.target.dense else None
