"""Variable and extra-global-parameter references (pygenn 5's create_*_ref)."""
from dataclasses import dataclass

from .enums import VarAccessMode, reduction_op
from .errors import DefinitionError


@dataclass
class VarReference:
    group: object
    var_name: str
    variable: object

    @property
    def storage(self):
        return self.variable.storage

    @property
    def element_kind(self):
        from .groups import NeuronGroup, SynapseGroup
        g = self.group
        if isinstance(g, NeuronGroup):
            return "neuron"
        if isinstance(g, SynapseGroup):
            return "synapse"
        return g.element_kind


def create_var_ref(group, var_name):
    """Reference to a neuron population's (or neuron custom update's) variable."""
    from .groups import CustomUpdate, NeuronGroup
    if not isinstance(group, (NeuronGroup, CustomUpdate)) or (
            isinstance(group, CustomUpdate) and group.element_kind != "neuron"):
        raise DefinitionError(f"create_var_ref needs a neuron population or "
                              f"neuron custom update, got {group!r}; use "
                              "create_wu_var_ref for synapse variables")
    return VarReference(group, var_name, _lookup(group, var_name))


def create_wu_var_ref(group, var_name, transpose_sg=None,
                      transpose_var_name=None):
    """Reference to a weight-update (or synapse custom update) variable."""
    from .groups import CustomUpdate, SynapseGroup
    if transpose_sg is not None or transpose_var_name is not None:
        raise DefinitionError("transposed weight-update references are not "
                              "supported by this engine")
    if not isinstance(group, (SynapseGroup, CustomUpdate)) or (
            isinstance(group, CustomUpdate) and group.element_kind != "synapse"):
        raise DefinitionError(f"create_wu_var_ref needs a synapse group or "
                              f"synapse custom update, got {group!r}")
    return VarReference(group, var_name, _lookup(group, var_name))


def create_psm_var_ref(group, var_name):
    """Reference to a postsynaptic model variable (one per target neuron)."""
    if var_name not in group.psm_vars:
        raise DefinitionError(f"synapse group '{group.name}' has no "
                              f"postsynaptic model variable '{var_name}'")
    return VarReference(group.trg, var_name, group.psm_vars[var_name])


def create_egp_ref(group, egp_name):
    if egp_name not in group.extra_global_params:
        raise DefinitionError(f"'{group.name}' has no extra global parameter "
                              f"'{egp_name}'")
    return group.extra_global_params[egp_name]


def _lookup(group, var_name):
    if var_name not in group.vars:
        import difflib
        close = difflib.get_close_matches(var_name, list(group.vars), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise DefinitionError(f"'{group.name}' has no variable "
                              f"'{var_name}'{hint}")
    return group.vars[var_name]


def _norm(t):
    return " ".join(t.split())


def check_ref(ref, decl, where, model_name, allow_reduce):
    """Check a reference against its declaration (name, type, access mode)."""
    if not isinstance(ref, VarReference):
        raise DefinitionError(f"variable reference '{decl.name}' must be made "
                              "with create_var_ref/create_wu_var_ref, got "
                              f"{ref!r}", model=model_name, population=where)
    target_type = ref.variable.type
    if _norm(target_type) != _norm(decl.type):
        raise DefinitionError(f"variable reference '{decl.name}' is declared "
                              f"'{decl.type}' but '{ref.group.name}."
                              f"{ref.var_name}' is '{target_type}'",
                              model=model_name, population=where)
    op = reduction_op(decl.access)
    if op is None:
        return
    if not allow_reduce:
        raise DefinitionError(f"variable reference '{decl.name}' has "
                              f"reduction access {decl.access.name}; "
                              "reductions are only allowed in custom updates",
                              model=model_name, population=where)
    st = ref.storage
    if st.batched and st.per_element:
        raise DefinitionError(f"variable reference '{decl.name}' reduces into "
                              f"'{ref.group.name}.{ref.var_name}', which is "
                              "duplicated per batch; a reduction target must "
                              "be shared across the batch (batch reduction) or "
                              "shared across neurons (neuron reduction)",
                              model=model_name, population=where)


def ref_reduction(decl, ref):
    """'batch' or 'neuron' for a reduction reference, else None."""
    if decl.access not in (VarAccessMode.REDUCE_SUM, VarAccessMode.REDUCE_MAX):
        return None
    return "batch" if ref.storage.per_element else "neuron"
