"""Value checks used by parameter specs (each raises ValueError)."""

from __future__ import annotations

import math
import numbers
from typing import Any


def positive(name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(f"parameter {name!r} must be > 0, got {value!r}")


def non_negative(name: str, value: Any) -> None:
    if value < 0:
        raise ValueError(f"parameter {name!r} must be >= 0, got {value!r}")


def probability(name: str, value: Any) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"parameter {name!r} must lie in [0, 1], got {value!r}")


def seed(name: str, value: Any) -> None:
    """A model seed: 0 means "random" to GeNN, so a reproducible seed is >= 1."""
    if not 1 <= value < 2 ** 63:
        raise ValueError(f"parameter {name!r} must be an int in [1, 2**63) or None (a seed "
                         f"is then drawn and recorded); got {value!r} (GeNN takes 0 to mean "
                         "a fresh random seed, which no run could reproduce)")


def finite(name: str, value: Any) -> None:
    """No NaN or infinity anywhere in a value (also inside lists and dicts)."""
    def walk(v: Any, where: str) -> None:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"parameter {where} must be finite, got {v!r}")
        if isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, f"{where}[{i}]")
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}[{k!r}]")

    walk(value, repr(name))


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def int_list(name: str, value: Any) -> None:
    """A list of non-negative ints (class or speaker indices)."""
    bad = [v for v in value if not _is_int(v) or v < 0]
    if bad:
        raise ValueError(f"parameter {name!r} must hold non-negative ints, got {bad}")


def epoch_trial_list(name: str, value: Any) -> None:
    """A list of [epoch, trial] pairs."""
    for v in value:
        if not (isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v)):
            raise ValueError(f"parameter {name!r} must be a list of [epoch, trial] "
                             f"int pairs, got entry {v!r}")


def pair_list(name: str, value: Any) -> None:
    """A list of [population, variable] string pairs."""
    for v in value:
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)):
            raise ValueError(f"parameter {name!r} must be a list of [population, variable] "
                             f"pairs, got entry {v!r}")


def str_list(name: str, value: Any) -> None:
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise ValueError(f"parameter {name!r} must hold strings, got {bad}")


def augmentation(name: str, value: Any) -> None:
    """Values of the AUGMENTATION dict (its keys are checked by choices)."""
    def number(k: str, v: Any) -> None:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
            raise ValueError(f"{name}[{k!r}] must be a number >= 0, got {v!r}")

    for k, v in value.items():
        if k in ("random_shift", "ID_jitter"):
            number(k, v)
        elif k == "random_dilate":
            ok = (isinstance(v, list) and len(v) == 2
                  and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v)
                  and 0 < v[0] <= v[1])
            if not ok:
                raise ValueError(f"{name}['random_dilate'] must be [min_factor, max_factor] "
                                 f"with 0 < min <= max, got {v!r}")
        elif k == "blend":
            ok = (isinstance(v, list) and len(v) > 0
                  and all(isinstance(x, numbers.Real) and not isinstance(x, bool)
                          and 0.0 <= x <= 1.0 for x in v))
            if not ok:
                raise ValueError(f"{name}['blend'] must be a non-empty list of keep "
                                 f"probabilities in [0, 1], e.g. [0.5, 0.5]; got {v!r}")


def speaker_left(name: str, value: Any) -> None:
    """Ordinal indices into the sorted list of training speakers (0-9)."""
    int_list(name, value)
    bad = [v for v in value if v > 9]
    if bad:
        raise ValueError(f"parameter {name!r} holds ordinal speaker indices 0-9, got {bad}")


def no_effect(default: Any):
    """A check for a key kept for compatibility: only its default is accepted."""
    def check(name: str, value: Any) -> None:
        if value != default:
            raise ValueError(f"parameter {name!r} has no effect in this package (see "
                             f"params.describe({name!r})); leave it at {default!r}, "
                             f"got {value!r}")
    return check
