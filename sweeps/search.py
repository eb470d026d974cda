"""An Optuna search driven like a sweep (optional: needs ``optuna``).

Each trial is a sweep point: a run in a folder of its own (named by the
values Optuna chose), executed as a Ray task (``parallel`` trials at once)
or in this process, resumable from its checkpoint. The study lives in
OUT/optuna.db (Optuna's own storage), so a restarted search goes on: the
trials a stopped driver left running are run again with the same values
(their folders resume) and the others are kept. The objective is a column
of the sweep table that is not a test accuracy (the test set chooses
nothing): best_val_acc by default.

JSON form (a sweep file with "space" instead of "grid")::

    {"benchmark": "shd", "base": {"N_EPOCHS": 50},
     "space": {"ETA": {"low": 1e-4, "high": 1e-2, "log": true},
               "NUM_HIDDEN": {"low": 64, "high": 512, "step": 64},
               "LOSS_TYPE": {"choices": ["sum", "sum_weigh_exp"]}},
     "trials": 40, "parallel": 4, "metric": "best_val_acc", "seed": 1}
"""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict

from params import validate

from . import report
from .point import run_point
from .spec import MANAGED_KEYS, MODES, _folder_name
from .tasks import ray_installed, run_tasks, start_ray

METRICS = ("best_val_acc", "final_val_acc", "final_train_acc")
TABLE = "search_results.csv"
PLOT = "search_summary.png"
STUDY = "search"
_FIELDS = ("benchmark", "base", "space", "trials", "parallel", "metric", "seed",
           "mode", "cpus_per_task", "model_kwargs")


@dataclass
class Search:
    benchmark: str
    space: Dict[str, Dict[str, Any]]
    base: Dict[str, Any] = field(default_factory=dict)
    trials: int = 10
    parallel: int = 1
    metric: str = "best_val_acc"
    seed: Any = None                 # the sampler's seed
    mode: str = "train_test"
    cpus_per_task: int = 1
    model_kwargs: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d, benchmark=None):
        unknown = sorted(set(d) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown search entries {unknown}; a search has "
                             f"{list(_FIELDS)}")
        d = dict(d)
        if benchmark is not None:
            d.setdefault("benchmark", benchmark)
            if d["benchmark"] != benchmark:
                raise ValueError(f"the search file is for {d['benchmark']!r}, "
                                 f"not {benchmark!r}")
        search = cls(**d)
        search.check()
        return search

    def check(self):
        if self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r}: choose one of {list(METRICS)} "
                             "(a test accuracy must not choose the parameters)")
        if self.mode not in MODES:
            raise ValueError(f"search mode {self.mode!r}: choose one of {list(MODES)}")
        for name in ("trials", "parallel", "cpus_per_task"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not self.space:
            raise ValueError("a search needs a space: {KEY: {low, high[, log, step]} "
                             "or {choices: [...]}}")
        bad = sorted((set(self.space) | set(self.base)) & set(MANAGED_KEYS))
        if bad:
            raise ValueError(f"{bad}: the search sets these itself")
        self.distributions()
        for key, spec in self.space.items():     # every end of the range is valid
            values = spec.get("choices") or [spec["low"], spec["high"]]
            for v in values:
                try:
                    validate({**self.base, key: v}, self.benchmark)
                except (KeyError, TypeError, ValueError) as err:
                    msg = err.args[0] if isinstance(err, KeyError) else err
                    raise type(err)(f"search space {key}: {msg}") from None

    def distributions(self):
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)
        out = {}
        for key, spec in self.space.items():
            if not isinstance(spec, dict):
                raise ValueError(f"search space {key}: expected a dict, got {spec!r}")
            extra = sorted(set(spec) - {"low", "high", "log", "step", "choices"})
            if extra:
                raise ValueError(f"search space {key}: unknown entries {extra}")
            if "choices" in spec:
                out[key] = CategoricalDistribution(list(spec["choices"]))
            elif {"low", "high"} <= set(spec):
                ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool)
                           for k in ("low", "high"))
                kind = IntDistribution if ints else FloatDistribution
                kw = {"log": bool(spec.get("log", False))}
                if "step" in spec:
                    kw["step"] = spec["step"]
                out[key] = kind(spec["low"], spec["high"], **kw)
            else:
                raise ValueError(f"search space {key}: give low and high, or choices")
        return out

    def to_dict(self):
        return dict(self.__dict__)


def _finished(study):
    """Trials that count: complete, or failed by their run (not interrupted)."""
    from optuna.trial import TrialState
    return [t for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE or
            (t.state == TrialState.FAIL and "error" in t.user_attrs)]


def run_search(search, out_dir, use_ray=None, address=None, progress=True):
    """Run trials until ``search.trials`` have finished in OUT/optuna.db;
    returns the optuna Study (its best_trial, trials_dataframe(), ...)."""
    import optuna
    from optuna.trial import TrialState
    if isinstance(search, dict):
        search = Search.from_dict(search)
    search.check()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.json").write_text(json.dumps(search.to_dict(), indent=1))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=STUDY, storage=f"sqlite:///{(out / 'optuna.db').resolve()}",
        load_if_exists=True, direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=search.seed))
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.enqueue_trial(t.params)   # stopped with its driver: run it again
        study.tell(t.number, state=TrialState.FAIL)     # (no "error": not counted)
    dists = search.distributions()
    keys = list(search.space)
    use_ray = (ray_installed() or bool(address)) if use_ray is None else use_ray
    started = start_ray(address) if use_ray else False
    from tqdm.auto import tqdm
    bar = tqdm(total=search.trials, initial=min(search.trials, len(_finished(study))),
               desc="search trials", disable=not progress)
    try:
        while len(_finished(study)) < search.trials:
            n = min(search.parallel, search.trials - len(_finished(study)))
            batch = [study.ask(dists) for _ in range(n)]
            tasks = []
            for trial in batch:
                varied = {k: trial.params[k] for k in keys}
                p = dict(validate({**search.base, **varied}, search.benchmark))
                name = _folder_name(keys, varied, p["MODEL_SEED"])
                trial.set_user_attr("point", name)
                tasks.append({"benchmark": search.benchmark, "name": name,
                              "folder": str((out / name).resolve()), "params": p,
                              "mode": search.mode, "cpus": search.cpus_per_task,
                              "model_kwargs": search.model_kwargs})
            results = run_tasks(run_point, tasks, cpus=search.cpus_per_task,
                                use_ray=use_ray, address=address)
            for trial, res in zip(batch, results):
                if isinstance(res, BaseException):
                    res = {"status": "failed", "error": f"{type(res).__name__}: {res}"}
                value = res.get(search.metric)
                if res["status"] == "done" and value is not None:
                    study.tell(trial, value)
                else:
                    trial.set_user_attr("error", res.get("error") or
                                        f"the run has no {search.metric}")
                    study.tell(trial, state=TrialState.FAIL)
                    bar.write(f"trial {trial.number} failed: "
                              f"{trial.user_attrs['error']}")
                bar.update(1)
            _write_outputs(study, keys, out, search.metric)
    finally:
        bar.close()
        if started:
            import ray
            ray.shutdown()
    _write_outputs(study, keys, out, search.metric)
    return study


def _write_outputs(study, keys, out, metric):
    """search_results.csv (one row per trial) and search_summary.png
    (the objective against each searched parameter)."""
    df = study.trials_dataframe(attrs=("number", "value", "state", "params",
                                       "user_attrs", "duration"))
    df = df.rename(columns={"value": metric, **{f"params_{k}": k for k in keys},
                            **{c: c[len("user_attrs_"):] for c in df.columns
                               if c.startswith("user_attrs_")}})
    tmp = out / f".{TABLE}.{os.getpid()}.tmp"
    df.to_csv(tmp, index=False)
    os.replace(tmp, out / TABLE)
    ok = df[df["state"] == "COMPLETE"]
    if ok.empty:
        return
    fig = report.figure(figsize=(4 * len(keys), 3.2))
    axes = fig.subplots(1, len(keys), squeeze=False)
    for ax, key in zip(axes[0], keys):
        x = ok[key] if report._numeric(ok[key].tolist()) else ok[key].astype(str)
        ax.scatter(x, ok[metric], c=ok["number"], cmap="viridis")
        ax.set_xlabel(key), ax.set_ylabel(metric)
    fig.suptitle("trials (colour: trial number)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / PLOT, dpi=100)
