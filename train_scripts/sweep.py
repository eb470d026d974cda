"""Run a parameter sweep: ``python -m train_scripts.sweep BENCHMARK [SWEEP.json] [options] [KEY=VALUE ...]``.

Examples::

    python -m train_scripts.sweep shd grid.json
    python -m train_scripts.sweep yinyang --grid 'NUM_HIDDEN=[100,200]' \\
        --grid 'ETA=[0.001,0.005]' --seeds 3 --out results/yy N_EPOCHS=5
    python -m train_scripts.sweep shd grid.json --address ray://head:10001

A sweep file with "space" instead of "grid" runs an Optuna search
(sweeps/search.py; needs optuna): ``--trials`` and ``--parallel`` override
its counts.

KEY=VALUE pairs set base parameters (over those of the file); ``--grid``
adds a grid axis, ``--point`` an explicit point (JSON dict). Each point is a
Ray task on Ray started on this machine, or on the cluster of ``--address``
(or $RAY_ADDRESS); without Ray (or with ``--no-ray``) the points run one
after another here. Running the same command again skips the complete
points and resumes interrupted ones. Exit code 0 when every point ran, 1
when some failed (they are listed), 2 for a wrong sweep.
"""
import argparse
import json
import sys

from train_scripts.cli import parse_value


def _parser():
    ap = argparse.ArgumentParser(
        prog="python -m train_scripts.sweep",
        description="Run a sweep of training runs (a grid and/or points, "
                    "several seeds), each point a Ray task.")
    ap.add_argument("benchmark", choices=("yinyang", "mnist", "shd"))
    ap.add_argument("args", nargs="*", metavar="[SWEEP.json] KEY=VALUE",
                    help="a sweep file (JSON: base, grid, points, seeds, ...) "
                         "and base parameter overrides")
    ap.add_argument("--grid", action="append", default=[], metavar="KEY=[V1,V2]",
                    help="a grid axis: the values of KEY (JSON list)")
    ap.add_argument("--point", action="append", default=[], metavar="JSON",
                    help='an explicit point, e.g. \'{"NUM_HIDDEN": 400}\'')
    ap.add_argument("--seeds", metavar="N|S1,S2",
                    help="N seeds (1..N) or a comma-separated list of seeds")
    ap.add_argument("--seed-key", action="append", metavar="KEY",
                    help="parameter set from the seed (default MODEL_SEED; repeat "
                         "for more, e.g. TRAIN_DATA_SEED)")
    ap.add_argument("--mode", choices=("train_test", "train"),
                    help="train_test (default): test accuracy every epoch too")
    ap.add_argument("--cpus-per-task", type=int,
                    help="CPUs each point declares and trains on (N_THREADS); default 1")
    ap.add_argument("--out", help="folder of the sweep (default sweep_BENCHMARK, or "
                                  "the sweep file's name without .json)")
    ap.add_argument("--address", help="a running Ray cluster (default: $RAY_ADDRESS, "
                                      "else Ray started on this machine)")
    ap.add_argument("--no-ray", action="store_true",
                    help="run the points one after another in this process")
    ap.add_argument("--model-kwargs", metavar="JSON",
                    help='simulator constructor arguments, e.g. \'{"n_channels": 40}\'')
    ap.add_argument("--trials", type=int, help="Optuna search: trials to finish")
    ap.add_argument("--parallel", type=int, help="Optuna search: trials run at once")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def build_sweep(args, ap):
    from sweeps import Sweep
    spec, spec_path = {}, None
    overrides = []
    for item in args.args:
        if "=" in item:
            overrides.append(item)
        elif spec_path is None:
            spec_path = item
            with open(item) as f:
                spec = json.load(f)
        else:
            ap.error(f"expected KEY=VALUE or one sweep file, got {item!r}")
    spec = dict(spec)
    spec["base"] = dict(spec.get("base", {}))
    for item in overrides:
        k, v = item.split("=", 1)
        spec["base"][k.strip()] = parse_value(v.strip())
    grid = dict(spec.get("grid", {}))
    for item in args.grid:
        if "=" not in item:
            ap.error(f"--grid expects KEY=[V1,V2,...], got {item!r}")
        k, v = item.split("=", 1)
        values = parse_value(v.strip())
        grid[k.strip()] = values if isinstance(values, list) else [values]
    spec["grid"] = grid
    points = list(spec.get("points", []))
    for item in args.point:
        pt = parse_value(item)
        if not isinstance(pt, dict):
            ap.error(f"--point expects a JSON dict, got {item!r}")
        points.append(pt)
    spec["points"] = points
    if args.seeds is not None:
        text = args.seeds.strip()
        spec["seeds"] = int(text) if "," not in text and text.lstrip("-").isdigit() \
            else [parse_value(s) for s in text.split(",") if s.strip()]
    for key, value in (("seed_keys", args.seed_key), ("mode", args.mode),
                       ("cpus_per_task", args.cpus_per_task)):
        if value is not None:
            spec[key] = value
    if args.model_kwargs:
        spec["model_kwargs"] = json.loads(args.model_kwargs)
    out = args.out
    if out is None:
        from pathlib import Path
        out = f"sweep_{Path(spec_path).stem}" if spec_path else f"sweep_{args.benchmark}"
    if "space" in spec:
        return _search(spec, args, ap), out
    for name in ("trials", "parallel"):
        if getattr(args, name) is not None:
            ap.error(f"--{name} is for a search (a sweep file with \"space\")")
    sweep = Sweep.from_dict(spec, args.benchmark)
    sweep.expand()                  # every point valid before any runs
    return sweep, out


def _search(spec, args, ap):
    if spec["grid"] or spec["points"] or "seeds" in spec:
        ap.error("a search (\"space\") takes no grid, points or seeds")
    from sweeps.search import Search
    spec = {k: v for k, v in spec.items() if k not in ("grid", "points")}
    for name in ("trials", "parallel"):
        if getattr(args, name) is not None:
            spec[name] = getattr(args, name)
    return Search.from_dict(spec, args.benchmark)


def _run_search(search, out, args):
    from sweeps.search import TABLE, run_search
    study = run_search(search, out, use_ray=False if args.no_ray else None,
                       address=args.address, progress=not args.quiet)
    try:
        best = study.best_trial
    except ValueError:
        print("error: no trial finished", file=sys.stderr)
        return 1
    print(f"best {search.metric} {best.value:.4f}: {best.params} "
          f"(OUT/{best.user_attrs['point']})")
    print(f"table: {out}/{TABLE}")
    return 0


def main(argv=None):
    ap = _parser()
    args = ap.parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    try:
        sweep, out = build_sweep(args, ap)
    except (OSError, ImportError, KeyError, TypeError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2
    from sweeps import Sweep, run_sweep
    if not isinstance(sweep, Sweep):
        try:
            return _run_search(sweep, out, args)
        except ImportError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    n = len(sweep.expand())
    print(f"sweep of {n} runs into {out}")
    try:
        res = run_sweep(sweep, out, use_ray=False if args.no_ray else None,
                        address=args.address, progress=not args.quiet)
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cols = [c for c in ("point", "status", "final_val_acc", "final_test_acc",
                        "epochs", "time_s") if res.table[c].notna().any()]
    print(res.table[cols].to_string(index=False))
    print(f"table: {res.table_path}" + (f"; plot: {res.plot_path}" if res.plot_path
                                        else ""))
    for r in res.failed:
        print(f"FAILED {r['point']}: {r['error']}", file=sys.stderr)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
