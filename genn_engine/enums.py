"""pygenn 5's access enums, with the queries the generator needs."""
from enum import Enum


class VarAccessMode(Enum):
    READ_WRITE = "READ_WRITE"
    READ_ONLY = "READ_ONLY"
    REDUCE_SUM = "REDUCE_SUM"
    REDUCE_MAX = "REDUCE_MAX"


class VarAccess(Enum):
    """Access of neuron, synapse and postsynaptic model variables."""
    READ_WRITE = "READ_WRITE"
    READ_ONLY = "READ_ONLY"
    READ_ONLY_DUPLICATE = "READ_ONLY_DUPLICATE"
    READ_ONLY_SHARED_NEURON = "READ_ONLY_SHARED_NEURON"


class CustomUpdateVarAccess(Enum):
    READ_WRITE = "READ_WRITE"
    READ_ONLY = "READ_ONLY"
    READ_WRITE_SHARED = "READ_WRITE_SHARED"
    READ_ONLY_SHARED = "READ_ONLY_SHARED"
    READ_WRITE_SHARED_NEURON = "READ_WRITE_SHARED_NEURON"
    READ_ONLY_SHARED_NEURON = "READ_ONLY_SHARED_NEURON"
    REDUCE_BATCH_SUM = "REDUCE_BATCH_SUM"
    REDUCE_BATCH_MAX = "REDUCE_BATCH_MAX"
    REDUCE_NEURON_SUM = "REDUCE_NEURON_SUM"
    REDUCE_NEURON_MAX = "REDUCE_NEURON_MAX"


class SynapseMatrixType(Enum):
    DENSE = "DENSE"
    SPARSE = "SPARSE"


class VarLocation(Enum):
    """Accepted for pygenn compatibility; the CPU target keeps everything in host memory."""
    HOST_DEVICE = "HOST_DEVICE"
    DEVICE = "DEVICE"
    HOST_DEVICE_ZERO_COPY = "HOST_DEVICE_ZERO_COPY"


def access_shape(access):
    """(batched, per_element) storage of a variable with this access.

    Batched variables hold one copy per batch slot; shared-neuron ones hold
    one value per batch slot rather than one per element.
    """
    name = access.value
    if name in ("READ_WRITE", "READ_ONLY_DUPLICATE"):
        return True, True
    if name in ("READ_ONLY", "READ_WRITE_SHARED", "READ_ONLY_SHARED",
                "REDUCE_BATCH_SUM", "REDUCE_BATCH_MAX"):
        return False, True
    if name in ("READ_ONLY_SHARED_NEURON", "READ_WRITE_SHARED_NEURON",
                "REDUCE_NEURON_SUM", "REDUCE_NEURON_MAX"):
        return True, False
    raise ValueError(f"unknown access {access}")


def is_writable(access):
    return access.value in ("READ_WRITE", "READ_WRITE_SHARED",
                            "READ_WRITE_SHARED_NEURON", "REDUCE_SUM",
                            "REDUCE_MAX") or access.value.startswith("REDUCE")


def reduction_op(access):
    """'sum', 'max' or None for a var access or a var-ref access mode."""
    name = access.value
    if name.endswith("_SUM"):
        return "sum"
    if name.endswith("_MAX"):
        return "max"
    return None
