"""Run a sweep: every point a task (on Ray, or in this process), then the
table and the summary plot.

    from sweeps import Sweep, run_sweep
    sweep = Sweep("yinyang", base={"N_EPOCHS": 5},
                  grid={"NUM_HIDDEN": [100, 200], "ETA": [0.001, 0.005]}, seeds=3)
    result = run_sweep(sweep, "results/yy")     # on Ray when installed
    result.table        # a DataFrame; also results/yy/sweep_results.csv

Running it again skips the complete points and resumes the others.
"""
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import report
from .point import read_done, run_params, run_point
from .spec import Point, Sweep
from .tasks import ray_installed, run_tasks

SPEC_FILE = "sweep.json"


@dataclass
class SweepResult:
    points: List[Point]
    records: Dict[str, Dict[str, Any]]      # point name -> record
    table: Any                              # pandas DataFrame
    table_path: Path
    plot_path: Optional[Path]

    @property
    def failed(self):
        return [r for r in self.records.values() if r["status"] == "failed"]


def _use_ray(use_ray, address):
    if use_ray is None:
        use_ray = ray_installed() or bool(address)
        if not use_ray:
            warnings.warn("Ray is not installed: the sweep's points run one after "
                          "another in this process (pip install -e '.[ray]' to run "
                          "them in parallel)", stacklevel=3)
    return use_ray


def run_sweep(sweep, out_dir, use_ray=None, address=None, progress=True):
    """Run the points of ``sweep`` that are not complete in ``out_dir``.

    use_ray: None = Ray when installed; address: a Ray cluster (default: the
    RAY_ADDRESS variable, else Ray started on this machine). A failing point
    is recorded (status "failed", its error in the table and in
    OUT/<point>/error.json) and the others go on.
    """
    if isinstance(sweep, dict):
        sweep = Sweep.from_dict(sweep)
    sweep.check()
    points = sweep.expand()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / SPEC_FILE).write_text(json.dumps(sweep.to_dict(), indent=1))
    keys = sweep.varied_keys()
    records, todo = {}, []
    for pt in points:
        folder = out / pt.name
        summary = read_done(folder, run_params(pt.params, folder,
                                               sweep.cpus_per_task))
        if summary is not None:
            records[pt.name] = {"point": pt.name, "status": "done",
                                "skipped": True, **summary}
        else:
            todo.append({"benchmark": sweep.benchmark, "name": pt.name,
                         "folder": str(folder.resolve()), "params": pt.params,
                         "mode": sweep.mode, "cpus": sweep.cpus_per_task,
                         "model_kwargs": sweep.model_kwargs})
    from tqdm.auto import tqdm
    bar = tqdm(total=len(points), initial=len(points) - len(todo),
               desc="sweep points", disable=not progress)

    def finished(task, res):
        if isinstance(res, BaseException):      # the task itself was lost
            res = {"point": task["name"], "status": "failed", "skipped": False,
                   "error": f"{type(res).__name__}: {res}"}
        records[task["name"]] = res
        report.write_table(report.table(points, records, keys), out)
        bar.update(1)
        if res["status"] == "failed":
            bar.write(f"point {task['name']} failed: {res['error']}")

    if todo:
        run_tasks(run_point, todo, cpus=sweep.cpus_per_task,
                  use_ray=_use_ray(use_ray, address), address=address,
                  on_result=finished)
    bar.close()
    df = report.table(points, records, keys)
    table_path = report.write_table(df, out)
    plot_path = report.plot_summary(df, keys, out)
    return SweepResult(points, records, df, table_path, plot_path)

