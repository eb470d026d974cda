"""A GeNN-5-compatible code generator and runtime for batched spiking networks.

Definitions use pygenn 5's names and code dialect; the engine generates one
C++ source per model, compiles it with the system compiler (cached by content
hash) and runs every batch slot in parallel. ``get_backend("genn")`` returns
real pygenn where it is installed.
"""
from .enums import (CustomUpdateVarAccess, SynapseMatrixType, VarAccess,
                    VarAccessMode, VarLocation)
from .errors import CompilerError, DefinitionError
from .event_source import create_event_source_model
from .model import GeNNModel
from .references import (create_egp_ref, create_psm_var_ref, create_var_ref,
                         create_wu_var_ref)
from .snippets import (create_custom_update_model, create_neuron_model,
                       create_postsynaptic_model, create_weight_update_model,
                       init_postsynaptic, init_sparse_connectivity, init_var,
                       init_weight_update)

__all__ = [
    "GeNNModel", "CustomUpdateVarAccess", "SynapseMatrixType", "VarAccess",
    "VarAccessMode", "VarLocation", "CompilerError", "DefinitionError",
    "create_egp_ref", "create_psm_var_ref", "create_var_ref",
    "create_wu_var_ref", "create_custom_update_model", "create_neuron_model",
    "create_postsynaptic_model", "create_weight_update_model",
    "init_postsynaptic", "init_sparse_connectivity", "init_var",
    "init_weight_update", "get_backend", "create_event_source_model",
]


def get_backend(name="engine"):
    """The module providing the pygenn API: this engine, or real pygenn.

    ``name="genn"`` imports pygenn (an optional dependency) so the same model
    definitions run on real GeNN; it raises ImportError when it is absent.
    """
    if name in ("engine", "cpu", None):
        import genn_engine
        return genn_engine
    if name == "genn":
        try:
            import pygenn
        except ImportError as e:
            raise ImportError("backend 'genn' needs pygenn (GeNN 5), which is "
                              "not installed") from e
        return pygenn
    raise ValueError(f"unknown backend {name!r}; use 'engine' or 'genn'")
