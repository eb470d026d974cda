"""Shared command line: ``KEY=VALUE`` overrides, ``--params file.json``, a mode."""
import argparse
import json
import sys


def parse_value(text):
    """JSON where it parses (numbers, lists, true/null), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "none":
            return None
        return text


def build_params(defaults, argv):
    ap = argparse.ArgumentParser(
        description="Train an EventProp network. Override any parameter with "
                    "KEY=VALUE (values are JSON: 0.01, true, [1,2], \"text\").")
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    ap.add_argument("--params", help="JSON file of parameter overrides")
    ap.add_argument("--mode", default="train_test",
                    choices=("train", "test", "train_test"))
    args = ap.parse_args(argv)
    p = defaults()
    # the command line shows progress unless VERBOSE is given (file or argument)
    p["VERBOSE"] = True
    if args.params:
        with open(args.params) as f:
            for k, v in json.load(f).items():
                p[k] = v
    for item in args.overrides:
        if "=" not in item:
            ap.error(f"expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        p[k.strip()] = parse_value(v.strip())
    return p, args.mode


def run(defaults, model_class, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        p, mode = build_params(defaults, argv)
    except (KeyError, TypeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from simulators.base import NonFiniteGradient
    from simulators.outputs import RunLockedError
    from genn_engine.errors import CompilerError
    try:
        model = model_class(p)
    except (ValueError, CompilerError, FileNotFoundError) as e:
        # parameters that do not fit together or the data, unreadable or
        # missing data (read here, when the model is built), no working
        # compiler: the message names the key, file or compiler
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        result = getattr(model, mode)(p)
    except (FileExistsError, RunLockedError, FileNotFoundError) as e:
        # an earlier run with this NAME, a live run, missing data: say it plainly
        print(f"error: {e}", file=sys.stderr)
        return 2
    except NonFiniteGradient as e:
        print(f"error: training diverged: {e}", file=sys.stderr)
        return 3
    if mode == "test":
        print(f"test accuracy {result['acc']:.4f} loss {result['loss']:.4f}")
        return 0
    for row in result["history"]:
        cols = " ".join(f"{k} {v:.4f}" for k, v in row.items()
                        if k.endswith(("_acc", "_loss")))
        took = f" ({row['time_s']:.1f} s)" if "time_s" in row else ""
        print(f"epoch {row['epoch']}: {cols}{took}")
    final = result["final"]
    if final is not None:
        acc = final.get("test_acc", final.get("val_acc", final["train_acc"]))
        print(f"final accuracy {acc:.4f}")
    return 0
