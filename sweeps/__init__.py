"""Parameter sweeps: many training runs of one benchmark, on Ray or in order.

A sweep (``Sweep``: base parameters, a grid and/or explicit points, seeds)
runs each point as one task; ``run_sweep`` writes every run's usual files
into a folder per point, the table ``sweep_results.csv`` and the plot
``sweep_summary.png``, and skips or resumes what an earlier, interrupted
call left. The command line is ``python -m train_scripts.sweep``. The
simulators know nothing of this package: it drives them from the outside.
"""
from .runner import SweepResult, run_sweep
from .spec import Point, Sweep, load
from .tasks import run_tasks

__all__ = ["Sweep", "Point", "load", "run_sweep", "SweepResult", "run_tasks"]
