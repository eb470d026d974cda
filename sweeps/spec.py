"""What a sweep is: a base parameter dict, a grid and/or explicit points, seeds.

A sweep expands into runs ("points"): every combination of the grid's
values, then every explicit point, each once per seed. A point's parameters
are the benchmark's defaults, then ``base``, then its own values, then its
seed in each of ``seed_keys`` (MODEL_SEED by default); they are validated
when the sweep is expanded, so a misspelt key stops the sweep before any run.

JSON form (``Sweep.from_dict`` / ``load``)::

    {"benchmark": "yinyang",
     "base": {"N_EPOCHS": 5, "N_TRAIN": 32000},
     "grid": {"NUM_HIDDEN": [100, 200], "ETA": [0.001, 0.005]},
     "points": [{"NUM_HIDDEN": 400, "LOSS_TYPE": "first_spike_exp"}],
     "seeds": 3,
     "mode": "train_test", "cpus_per_task": 1}

``seeds`` is a count (seeds 1..n) or a list of seeds; ``model_kwargs`` are
passed to the simulator's constructor (e.g. {"n_channels": 40} for SHD-format
files with 40 channels).
"""
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from params import validate

# keys the sweep sets itself for every run
MANAGED_KEYS = ("NAME", "OUT_DIR", "LOAD_LAST", "LOAD_BEST", "OVERWRITE",
                "WRITE_TO_DISK")
MODES = ("train_test", "train")
RUN_NAME = "run"        # NAME of every run: OUT/<point>/run_results.csv ...
_FIELDS = ("benchmark", "base", "grid", "points", "seeds", "seed_keys", "mode",
           "cpus_per_task", "model_kwargs")


@dataclass
class Point:
    """One run of a sweep: its folder name, varied values, seed and parameters."""
    name: str
    varied: Dict[str, Any]
    seed: Optional[int]
    params: Dict[str, Any]


@dataclass
class Sweep:
    benchmark: str
    base: Dict[str, Any] = field(default_factory=dict)
    grid: Dict[str, List[Any]] = field(default_factory=dict)
    points: List[Dict[str, Any]] = field(default_factory=list)
    seeds: Any = None               # int n (1..n), list of ints, or None
    seed_keys: Tuple[str, ...] = ("MODEL_SEED",)
    mode: str = "train_test"
    cpus_per_task: int = 1
    model_kwargs: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d, benchmark=None):
        unknown = sorted(set(d) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown sweep entries {unknown}; a sweep has "
                             f"{list(_FIELDS)}")
        d = dict(d)
        if benchmark is not None:
            if d.get("benchmark", benchmark) != benchmark:
                raise ValueError(f"the sweep file is for {d['benchmark']!r}, "
                                 f"not {benchmark!r}")
            d["benchmark"] = benchmark
        if "benchmark" not in d:
            raise ValueError("a sweep needs its benchmark (yinyang, mnist, shd, dvs_gesture, "
                             "smnist)")
        if "seed_keys" in d:
            d["seed_keys"] = tuple(d["seed_keys"])
        sweep = cls(**d)
        sweep.check()
        return sweep

    def to_dict(self):
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}

    def check(self):
        if self.mode not in MODES:
            raise ValueError(f"sweep mode {self.mode!r}: choose one of {list(MODES)}")
        if not isinstance(self.cpus_per_task, int) or isinstance(
                self.cpus_per_task, bool) or self.cpus_per_task < 1:
            raise ValueError(f"cpus_per_task must be a positive int, got "
                             f"{self.cpus_per_task!r}")
        for key, values in self.grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"grid entry {key!r} must be a non-empty list of "
                                 f"values, got {values!r}")
        if not all(isinstance(pt, dict) for pt in self.points):
            raise ValueError("points must be a list of {KEY: value} dicts")
        varied = set(self.grid).union(*map(set, self.points)) if self.points \
            else set(self.grid)
        for where, keys in (("base", set(self.base)), ("grid or points", varied)):
            bad = sorted(keys & set(MANAGED_KEYS))
            if bad:
                raise ValueError(f"{bad} in the sweep's {where}: the sweep sets "
                                 "these itself (NAME and OUT_DIR per point, "
                                 "LOAD_LAST/OVERWRITE when it resumes, and "
                                 "WRITE_TO_DISK: the table is read from the files)")
        clash = sorted(varied & set(self.seed_keys)) if self.seeds is not None else []
        if clash:
            raise ValueError(f"{clash} vary in the grid or points and are also set "
                             "from the sweep's seeds; drop one of the two")

    def seed_list(self):
        if self.seeds is None:
            return [self.base.get(self.seed_keys[0]) if self.seed_keys else None]
        if isinstance(self.seeds, int) and not isinstance(self.seeds, bool):
            if self.seeds < 1:
                raise ValueError(f"seeds must be at least 1, got {self.seeds}")
            return list(range(1, self.seeds + 1))
        seeds = list(self.seeds)
        if len(set(map(json.dumps, seeds))) != len(seeds):
            raise ValueError(f"repeated seeds in {seeds}")
        return seeds

    def varied_keys(self):
        keys = list(self.grid)
        for pt in self.points:
            keys += [k for k in pt if k not in keys]
        return keys

    def expand(self):
        """The sweep's points, validated, in a stable order (grid, then points)."""
        combos = [dict(zip(self.grid, vals))
                  for vals in itertools.product(*self.grid.values())] \
            if self.grid else []
        combos += [dict(pt) for pt in self.points]
        if not combos:
            combos = [{}]
        seen, unique = set(), []
        for c in combos:                        # a point given twice runs once
            key = json.dumps(c, sort_keys=True)
            if key not in seen:
                seen.add(key)
                unique.append(c)
        keys = self.varied_keys()
        out = []
        for varied in unique:
            for seed in self.seed_list():
                values = {**self.base, **varied}
                if self.seeds is not None:
                    values.update({k: seed for k in self.seed_keys})
                try:
                    p = validate(values, self.benchmark)
                except (KeyError, TypeError, ValueError) as err:
                    raise type(err)(f"sweep point {varied} seed {seed}: "
                                    f"{_message(err)}") from None
                out.append(Point(_folder_name(keys, varied, seed), varied, seed,
                                 dict(p)))
        names = [pt.name for pt in out]
        for pt in out:      # names that collide after cleaning get a hash
            if names.count(pt.name) > 1:
                pt.name += "_" + _digest([pt.varied, pt.seed])
        return out


def load(path, benchmark=None):
    """A Sweep from a JSON file."""
    with open(path) as f:
        return Sweep.from_dict(json.load(f), benchmark)


def _message(err):
    return err.args[0] if isinstance(err, KeyError) and err.args else str(err)


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:8]


def _value_text(v):
    text = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    return re.sub(r"[^A-Za-z0-9._+-]+", "", text.replace(",", "+")) or "x"


def _folder_name(keys, varied, seed):
    """``NUM_HIDDEN-100_ETA-0.001_seed-1``: readable, safe on any file system."""
    parts = [f"{k}-{_value_text(varied[k])}" for k in keys if k in varied]
    parts.append(f"seed-{_value_text(seed)}" if seed is not None else "seed-none")
    name = "_".join(parts)
    if len(name) > 100:
        name = name[:80] + "_" + _digest([varied, seed])
    return name
