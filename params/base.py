"""Validating parameter dictionaries.

The original research code used plain dicts, so a misspelt key such as
``p["TRAIL_MS"] = 100`` was silently ignored.  :class:`Params` is still a
``dict`` (so ``json.dumps(dict(p))``, ``pickle`` and ``p["X"]`` work as
before) but it knows its keys: reading or writing an unknown key raises a
:class:`UnknownParameterError` (a ``KeyError``) naming the closest valid key,
a value of the wrong type raises ``TypeError`` and a value outside an
enumeration, or a NaN or infinite number (anywhere in the value), raises
``ValueError``.

Each benchmark module (``params.yinyang``, ``params.mnist``, ``params.shd``)
declares its keys as a list of :class:`Spec` objects and registers it with
:func:`register`.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import numbers
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import checks

__all__ = [
    "Spec", "Params", "UnknownParameterError", "register", "specs_for",
    "benchmarks", "validate", "describe", "describe_all", "spk_rec_steps",
    "merge_specs", "override", "check_run",
]

# Value kinds a Spec may accept.  Kept to JSON's vocabulary so that every
# valid Params is JSON-serialisable.
KINDS = ("bool", "int", "float", "str", "list", "dict")

# Keys that the original genn_eventprop code used under another name; the
# error for the old name says what to use instead.
RENAMED = {
    "N_EPOCH": "N_EPOCHS",
    "DATA_SET": "DATASET",
    "TRAIN_TAUM": "TRAIN_TAU",
    "TAUM_OUTPUT_EPOCH_TRIAL": "TAU_OUTPUT_EPOCH_TRIAL",
}


@dataclass(frozen=True)
class Spec:
    """Declaration of one parameter.

    name:        the key.
    default:     default value (copied for every new Params).
    description: one line shown by :func:`describe`.
    kind:        one of KINDS or a tuple of them; inferred from the default
                 when omitted.
    allow_none:  whether None is a valid value; inferred (True) when the
                 default is None.
    choices:     allowed values for scalar keys, or allowed dict keys for
                 dict-valued keys.
    check:       optional callable(name, value) raising ValueError for
                 values that pass the type test but are still invalid.
    normalise:   optional callable mapping an accepted value to its stored
                 form (e.g. a bare int to a one-element list).
    group:       the table section the key belongs to (for describe_all).
    """

    name: str
    default: Any
    description: str
    kind: Any = None
    allow_none: Optional[bool] = None
    choices: Optional[Tuple[Any, ...]] = None
    check: Optional[Callable[[str, Any], None]] = None
    group: str = "general"
    normalise: Optional[Callable[[Any], Any]] = None

    def kinds(self) -> Tuple[str, ...]:
        if self.kind is not None:
            return (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)
        return (_infer_kind(self.default),)

    def nullable(self) -> bool:
        if self.allow_none is not None:
            return self.allow_none
        return self.default is None


def _infer_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    raise TypeError(f"cannot infer the kind of default {value!r}; give Spec.kind")


def _coerce(kind: str, value: Any) -> Tuple[bool, Any]:
    """Try to read ``value`` as ``kind``; return (ok, normalised value).

    numpy scalars are turned into Python ones so Params stays JSON-clean;
    ints are accepted (and stored as float) where floats are expected, but
    bools are never taken for numbers.
    """
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return True, bool(value)
        return False, None
    if isinstance(value, (bool, np.bool_)):
        return False, None
    if kind == "int":
        if isinstance(value, numbers.Integral):
            return True, int(value)
        return False, None
    if kind == "float":
        if isinstance(value, numbers.Real):
            return True, float(value)
        return False, None
    if kind == "str":
        return (True, value) if isinstance(value, str) else (False, None)
    if kind == "list":
        if isinstance(value, (list, tuple)):
            return True, [_plain(v) for v in value]
        return False, None
    if kind == "dict":
        if isinstance(value, Mapping):
            return True, {k: _plain(v) for k, v in value.items()}
        return False, None
    raise ValueError(f"unknown kind {kind!r}")


def _plain(value: Any) -> Any:
    """Deep-convert tuples/numpy scalars in containers to JSON types."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _kind_words(spec: Spec) -> str:
    words = {"bool": "bool", "int": "int", "float": "float (or int)",
             "str": "str", "list": "list (or tuple)", "dict": "dict"}
    parts = [words[k] for k in spec.kinds()]
    if spec.nullable():
        parts.append("None")
    return " or ".join(parts)


class UnknownParameterError(KeyError):
    """KeyError for a key that a benchmark does not define.

    ``str()`` gives the plain message (KeyError would otherwise show it in
    quotes).
    """

    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------
# registry of benchmark specs
# ---------------------------------------------------------------------------

_REGISTRY: Dict[str, Dict[str, Spec]] = {}
# benchmarks whose module registers itself on import
_MODULES = {"yinyang": "params.yinyang", "mnist": "params.mnist", "shd": "params.shd",
            "dvs_gesture": "params.dvs_gesture", "smnist": "params.smnist"}


def register(benchmark: str, specs: Iterable[Spec]) -> Dict[str, Spec]:
    """Register the key declarations of ``benchmark``; return them by name."""
    table: Dict[str, Spec] = {}
    for s in specs:
        if s.name in table:
            raise ValueError(f"duplicate parameter {s.name!r} for {benchmark}")
        for k in s.kinds():
            if k not in KINDS:
                raise ValueError(f"{s.name}: unknown kind {k!r}")
        table[s.name] = s
    _REGISTRY[benchmark] = table
    return table


def benchmarks() -> Tuple[str, ...]:
    """Names of the benchmarks with parameter tables."""
    return tuple(sorted(set(_MODULES) | set(_REGISTRY)))


def specs_for(benchmark: str) -> Dict[str, Spec]:
    """The ``{name: Spec}`` table of ``benchmark`` (importing its module)."""
    if benchmark not in _REGISTRY:
        module = _MODULES.get(benchmark)
        if module is None:
            raise ValueError(
                f"unknown benchmark {benchmark!r}; choose one of {list(benchmarks())}")
        importlib.import_module(module)
    return _REGISTRY[benchmark]


def merge_specs(*groups: Iterable[Spec],
                overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
                drop: Sequence[str] = ()) -> list:
    """Concatenate spec groups; later groups replace earlier keys of the
    same name, ``overrides`` maps name -> Spec fields to change and ``drop``
    removes keys.  This lets each benchmark reuse the shared groups."""
    merged: Dict[str, Spec] = {}
    for g in groups:
        for s in g:
            merged[s.name] = s
    for name, changes in (overrides or {}).items():
        if name not in merged:
            raise KeyError(f"override for undeclared parameter {name!r}")
        merged[name] = replace(merged[name], **changes)
    for name in drop:
        merged.pop(name)
    return list(merged.values())


def override(spec: Spec, **changes: Any) -> Spec:
    """A copy of ``spec`` with some fields changed."""
    return replace(spec, **changes)


# ---------------------------------------------------------------------------
# the dict
# ---------------------------------------------------------------------------

class Params(dict):
    """A dict of one benchmark's parameters that rejects unknown keys and
    ill-typed values.

    ``Params("shd")`` holds every key with its default; ``Params("shd",
    values)`` then applies ``values`` (a mapping) through the same checks.
    Keys cannot be deleted: every key always has a value.
    """

    def __init__(self, benchmark: str, values: Optional[Mapping[str, Any]] = None):
        super().__init__()
        specs = specs_for(benchmark)
        self._benchmark = benchmark
        self._specs = specs
        for name, s in specs.items():
            dict.__setitem__(self, name, copy.deepcopy(s.default))
        if values:
            for k, v in values.items():
                self[k] = v

    # -- identity ---------------------------------------------------------
    @property
    def benchmark(self) -> str:
        return self._benchmark

    # -- checks -----------------------------------------------------------
    def _unknown(self, key: Any) -> UnknownParameterError:
        msg = f"unknown parameter {key!r} for {self._benchmark}"
        if isinstance(key, str):
            if key in RENAMED and RENAMED[key] in self._specs:
                return UnknownParameterError(
                    f"{msg}; it is called {RENAMED[key]!r} here")
            close = difflib.get_close_matches(key, list(self._specs), n=1, cutoff=0.6)
            if not close:
                close = difflib.get_close_matches(key.upper(), list(self._specs), n=1, cutoff=0.6)
            if close:
                return UnknownParameterError(f"{msg}; did you mean {close[0]!r}?")
        return UnknownParameterError(
            f"{msg}; see params.describe_all({self._benchmark!r}) for the valid keys")

    def _checked(self, key: Any, value: Any) -> Any:
        spec = self._specs.get(key)
        if spec is None:
            raise self._unknown(key)
        if value is None:
            if spec.nullable():
                return None
            if spec.choices and "none" in spec.choices:
                return "none"       # REG_TYPE=none on a command line parses to None
            raise TypeError(f"parameter {key!r} expects {_kind_words(spec)}, got None")
        for kind in spec.kinds():
            ok, normal = _coerce(kind, value)
            if ok:
                break
        else:
            raise TypeError(
                f"parameter {key!r} expects {_kind_words(spec)}, "
                f"got {type(value).__name__} {value!r}")
        if spec.normalise is not None:
            normal = spec.normalise(normal)
        checks.finite(key, normal)      # NaN/inf would only surface mid-training
        if spec.choices is not None:
            if isinstance(normal, dict):
                bad = [k for k in normal if k not in spec.choices]
                if bad:
                    raise ValueError(
                        f"parameter {key!r}: unknown entr{'y' if len(bad) == 1 else 'ies'} "
                        f"{bad}; allowed keys are {list(spec.choices)}")
            elif isinstance(normal, list):
                bad = [v for v in normal if v not in spec.choices]
                if bad:
                    raise ValueError(f"parameter {key!r}: invalid entries {bad}; "
                                     f"choose from {list(spec.choices)}")
            elif normal not in spec.choices:
                raise ValueError(f"parameter {key!r}: invalid value {normal!r}; "
                                 f"choose one of {list(spec.choices)}")
        if spec.check is not None:
            spec.check(key, normal)
        return normal

    # -- dict interface ---------------------------------------------------
    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, self._checked(key, value))

    def __missing__(self, key: Any) -> Any:
        # dict.__getitem__ calls this for absent keys; all valid keys are
        # always present, so an absent key is a misspelling.
        raise self._unknown(key)

    def get(self, key: Any, default: Any = None) -> Any:  # noqa: D401
        """Like ``p[key]``: unknown keys raise instead of returning default."""
        if key not in self:
            raise self._unknown(key)
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def __ior__(self, other: Mapping[str, Any]) -> "Params":
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, Any]) -> "Params":
        new = self.copy()
        new.update(other)
        return new

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            raise self._unknown(key)
        return dict.__getitem__(self, key)

    def __delitem__(self, key: Any) -> None:
        raise TypeError(f"parameters cannot be removed (tried {key!r}); "
                        "assign the default instead")

    def pop(self, *args: Any) -> Any:
        raise TypeError("parameters cannot be removed; assign the default instead")

    def popitem(self) -> Any:
        raise TypeError("parameters cannot be removed")

    def clear(self) -> None:
        raise TypeError("parameters cannot be removed")

    def copy(self) -> "Params":
        return Params(self._benchmark, copy.deepcopy(dict(self)))

    def __deepcopy__(self, memo: dict) -> "Params":
        return self.copy()

    def __reduce__(self):
        # Rebuild through __init__ so that unpickling re-attaches the specs
        # (the default dict-subclass protocol would call __setitem__ before
        # the instance attributes exist).
        return (Params, (self._benchmark, dict(self)))

    # -- conveniences -----------------------------------------------------
    def describe(self, key: str) -> str:
        """One-line description of ``key``."""
        return describe(key, self._benchmark)

    def changed(self) -> Dict[str, Any]:
        """The keys whose values differ from the defaults."""
        return {k: v for k, v in self.items() if v != self._specs[k].default}


def validate(p: Mapping[str, Any], benchmark: str) -> Params:
    """Check a plain mapping (e.g. loaded from JSON) against ``benchmark``'s
    table and return it as a :class:`Params`.

    Keys missing from ``p`` take their defaults; unknown keys, wrong types
    and invalid choices raise as for item assignment.
    """
    if isinstance(p, Params) and p.benchmark != benchmark:
        raise ValueError(f"these are {p.benchmark} parameters, not {benchmark}")
    return Params(benchmark, p)


def describe(key: str, benchmark: Optional[str] = None) -> str:
    """The one-line description of ``key`` (with default and accepted values).

    With no benchmark, the first benchmark that defines ``key`` is used.
    """
    names = [benchmark] if benchmark else list(benchmarks())
    for b in names:
        spec = specs_for(b).get(key)
        if spec is not None:
            text = f"{key}: {spec.description} (default {spec.default!r}; {_kind_words(spec)}"
            if spec.choices is not None:
                text += f"; one of {list(spec.choices)}"
            return text + ")"
    raise Params(names[0])._unknown(key)


def describe_all(benchmark: str) -> str:
    """A markdown table of every key of ``benchmark`` grouped by section."""
    groups: Dict[str, list] = {}
    for spec in specs_for(benchmark).values():
        groups.setdefault(spec.group, []).append(spec)
    lines = []
    for group, specs in groups.items():
        lines += ["", f"### {group}", "| Name | Description | Default |",
                  "|------|-------------|---------|"]
        lines += [f"| {s.name} | {s.description} | {s.default!r} |" for s in specs]
    return "\n".join(lines).lstrip()


def spk_rec_steps(p: Mapping[str, Any]) -> int:
    """Resolved spike-recording buffer size in timesteps.

    ``SPK_REC_STEPS`` = None (the default) means one trial:
    ``round(TRIAL_MS / DT_MS)``.
    """
    if p["SPK_REC_STEPS"] is not None:
        return int(p["SPK_REC_STEPS"])
    return int(round(p["TRIAL_MS"] / p["DT_MS"]))


# recording keys that do nothing without the [epoch, trial] list that says when
_RECORDING_PAIRS = (("REC_SPIKES", "REC_SPIKES_EPOCH_TRIAL"),
                    ("REC_NEURONS", "REC_NEURONS_EPOCH_TRIAL"),
                    ("REC_SYNAPSES", "REC_SYNAPSES_EPOCH_TRIAL"))


def check_run(p: Mapping[str, Any]) -> None:
    """Checks of key combinations that single values cannot show: a run with
    them would train nothing or ignore a key without a word. Raises
    ValueError naming the keys."""
    dt, trial = p["DT_MS"], p["TRIAL_MS"]
    if trial < dt:
        raise ValueError(f"TRIAL_MS={trial!r} is shorter than one time step DT_MS={dt!r}: "
                         "a trial would have no step. Set TRIAL_MS to the length of the "
                         "samples (a multiple of DT_MS)")
    if not p["BUILD"] and p["BACKEND"].startswith("genn"):
        raise ValueError(f"BUILD=False needs the built-in engine: pygenn "
                         f"(BACKEND={p['BACKEND']!r}) has to build() before it loads, and "
                         "recompiles only changed code itself; leave BUILD=True")
    for what, when in _RECORDING_PAIRS:
        if p[what] and not p[when]:
            raise ValueError(f"{what}={p[what]!r} records nothing without {when}: give the "
                             f"[epoch, trial] pairs to record at, e.g. {when}=[[0, 0]]")
        if p[when] and not p[what]:
            raise ValueError(f"{when}={p[when]!r} records nothing without {what}: say what "
                             f"to record")
    steps = int(round(trial / dt))
    if p["SPK_REC_STEPS"] is not None and p["SPK_REC_STEPS"] != steps:
        raise ValueError(f"SPK_REC_STEPS={p['SPK_REC_STEPS']!r} has no use: recorded spikes "
                         "are read out after each trial of REC_SPIKES_EPOCH_TRIAL, so the "
                         f"buffer holds one trial (TRIAL_MS/DT_MS = {steps} steps); leave "
                         "SPK_REC_STEPS at None")
