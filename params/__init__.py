"""Benchmark parameters with validation.

    from params.shd import defaults
    p = defaults()            # fresh Params with the table defaults
    p["TRIAL_MS"] = 1000.0    # p["TRAIL_MS"] raises KeyError naming TRIAL_MS

See :mod:`params.base` for the checks and :func:`describe` / :func:`describe_all`
for the key descriptions.
"""

from .base import (Params, Spec, UnknownParameterError, benchmarks, describe,
                   describe_all, spk_rec_steps, validate)

__all__ = ["Params", "Spec", "UnknownParameterError", "benchmarks", "describe",
           "describe_all", "spk_rec_steps", "validate", "defaults"]


def defaults(benchmark: str) -> Params:
    """A fresh :class:`Params` with the defaults of ``benchmark``."""
    return Params(benchmark)
