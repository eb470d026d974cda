"""Event-driven spike sources: a SpikeSourceArray whose cost follows its spikes.

GeNN's ``SpikeSourceArray`` tests every neuron in every time step. A
population made from :func:`create_event_source_model` is updated once per
batch slot and step instead: it reads the events of its current segment
(a trial) in time order with one cursor per slot, and its cost, forward and
backward, is proportional to the events.

Per batch slot (all variables are per slot, ``READ_ONLY_SHARED_NEURON``:
the engine writes them, custom updates may set them):

- ``startEvent`` / ``endEvent``: the events ``[startEvent, endEvent)`` of the
  EGPs ``eventStep`` (the local step of the segment in which the event is
  emitted, non-decreasing: int, or uint16_t with ``step_type="uint16_t"`` for
  segments shorter than 65536 steps) and ``eventUnit`` (uint16, the neuron)
  are this
  slot's. A custom update sets them (and ``step = 0``) to start a segment.
- ``step``: the local step of the segment; the population emits, in each step,
  every event with ``eventStep <= step`` not yet read (in stored order; at most
  one spike per neuron and step is the data's responsibility), then
  ``step++``.
- dropout: with parameter ``p_drop`` > 0 each event is dropped with that
  probability (one Philox draw per event, keyed by the event's index, the slot
  and the time step): a dropped event is neither emitted nor recorded.
- record and replay: the emitted spikes of a segment are appended, as
  (local step, neuron), to one of two per-slot lists in the EGPs
  ``recordStep`` / ``recordUnit`` (``record_capacity`` entries per list and
  slot; a spike that does not fit is counted in ``overflow``). When a segment
  starts (``step == 0`` at the update) the lists swap, and during the new
  segment the previous one is replayed backwards in time: a spike recorded at
  local step n raises, in local step ``replay_end - n`` (n <= replay_end),
  the spike-like events of the outgoing synapse groups whose
  ``pre_event_threshold_condition_code`` holds, with this population's
  ``back_spike`` seen as 1 (it is 0 at all other times). An adjoint method
  (EventProp) accumulates input-weight gradients with these events.

Extra EGPs (e.g. a sample table that a custom update reads to set the cursors)
can be added with ``extra_global_params``. The model has no code strings:
the generator emits its per-slot body, the target runs it once per slot and
step (docs/engine.md, "Event-driven spike sources").
"""
from .enums import VarAccess
from .snippets import create_neuron_model

EVENT_SOURCE_VARS = [
    ("startEvent", "unsigned int"), ("endEvent", "unsigned int"),
    ("step", "int"), ("nRecord", "int"), ("nReplay", "int"),
    ("parity", "int"), ("overflow", "unsigned int"), ("back_spike", "uint8_t"),
]
EVENT_SOURCE_PARAMS = ["p_drop", "replay_end", "record_capacity"]
EVENT_SOURCE_EGPS = [("eventUnit", "uint16_t*"), ("recordStep", "int*"),
                     ("recordUnit", "uint16_t*")]
STEP_TYPES = ("int", "uint16_t")


def create_event_source_model(class_name="EventSourceArray",
                              extra_global_params=(), step_type="int"):
    """A neuron model for an event-driven spike source (see module docs).

    ``step_type``: the type of ``eventStep``, "int" or "uint16_t" (4 bytes
    per event with the uint16 unit, for segments of fewer than 65536 steps).

    Parameters: ``p_drop``, ``replay_end``, ``record_capacity``. Variables
    (per slot): ``startEvent``, ``endEvent``, ``step``, ``nRecord``,
    ``nReplay``, ``parity``, ``overflow``, ``back_spike``.
    """
    if step_type not in STEP_TYPES:
        from .errors import DefinitionError
        raise DefinitionError(f"step_type must be one of {STEP_TYPES}, not "
                              f"{step_type!r}", model=class_name)
    model = create_neuron_model(
        class_name, params=list(EVENT_SOURCE_PARAMS),
        vars=[(n, t, VarAccess.READ_ONLY_SHARED_NEURON)
              for n, t in EVENT_SOURCE_VARS],
        extra_global_params=[("eventStep", step_type + "*")]
        + list(EVENT_SOURCE_EGPS) + list(extra_global_params))
    model.extra["event_source"] = True
    return model


def is_event_source(model):
    return bool(model.extra.get("event_source"))
