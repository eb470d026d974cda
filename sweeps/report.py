"""The sweep's table (CSV) and summary plot (accuracy against each varied
parameter, mean and spread over seeds)."""
import json
import numbers
import os
from pathlib import Path

import numpy as np

TABLE = "sweep_results.csv"
PLOT = "sweep_summary.png"
RESULT_COLUMNS = ("status", "final_val_acc", "best_val_acc", "final_test_acc",
                  "test_acc_at_best", "final_train_acc", "best_epoch", "best_on",
                  "epochs", "time_s", "resumed_from_epoch", "skipped", "wall_s",
                  "error")
# what the plot shows, where the runs have it
PLOTTED = (("final_val_acc", "validation"), ("final_test_acc", "test"))


def _cell(v):
    """Lists and dicts as JSON text, so the CSV has one value per cell."""
    return v if v is None or isinstance(v, (str, numbers.Number)) else json.dumps(v)


def table(points, records, varied_keys):
    """A DataFrame: one row per point (varied values, seed, results)."""
    import pandas as pd
    rows = []
    for pt in points:
        rec = records.get(pt.name) or {"status": "not run"}
        row = {"point": pt.name}
        row.update({k: _cell(pt.varied.get(k, pt.params.get(k))) for k in varied_keys})
        row["seed"] = pt.seed
        row.update({c: rec.get(c) for c in RESULT_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["point", *varied_keys, "seed", *RESULT_COLUMNS])


def write_table(df, out_dir):
    path = Path(out_dir) / TABLE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def _numeric(values):
    return all(isinstance(v, numbers.Number) and not isinstance(v, bool)
               for v in values)


def figure(**kw):
    """A matplotlib Figure that draws to files only (no pyplot, no backend
    switch: the caller's plotting set-up stays as it is)."""
    from matplotlib.figure import Figure
    return Figure(**kw)


def plot_summary(df, varied_keys, out_dir):
    """One panel per varied parameter (a single panel over seeds when
    nothing varies): mean +- standard deviation over seeds of the final
    validation and test accuracy, one line per setting of the other varied
    parameters. Returns the path, or None when no run has results."""
    ok = df[df["status"] == "done"]
    metrics = [(c, label) for c, label in PLOTTED
               if c in ok and ok[c].notna().any()]
    if ok.empty or not metrics:
        return None
    keys = list(varied_keys) or ["seed"]
    fig = figure(figsize=(4.2 * len(keys), 3.2 * len(metrics)))
    axes = fig.subplots(len(metrics), len(keys), squeeze=False)
    for col_i, key in enumerate(keys):
        others = [k for k in varied_keys if k != key]
        values = list(dict.fromkeys(ok[key].tolist()))
        numeric = _numeric(values)
        xs = {v: (v if numeric else i) for i, v in enumerate(values)}
        groups = ok.groupby(others, dropna=False, sort=False) if others \
            else [((), ok)]
        for row_i, (metric, label) in enumerate(metrics):
            ax = axes[row_i][col_i]
            for g, sub in groups:
                stats = sub.groupby(key, sort=False)[metric].agg(["mean", "std"])
                stats = stats.reindex([v for v in values if v in stats.index])
                x = [xs[v] for v in stats.index]
                order = np.argsort(x)
                name = ", ".join(f"{k}={v}" for k, v in zip(
                    others, g if isinstance(g, tuple) else (g,)))
                ax.errorbar(np.asarray(x)[order], stats["mean"].to_numpy()[order],
                            yerr=stats["std"].fillna(0.0).to_numpy()[order],
                            marker="o", capsize=3, label=name or None)
            if not numeric:
                ax.set_xticks(range(len(values)))
                ax.set_xticklabels([str(v) for v in values], rotation=20)
            elif min(values) > 0 and max(values) / min(values) >= 20:
                ax.set_xscale("log")
            ax.set_xlabel(key)
            ax.set_ylabel(f"final {label} accuracy")
            if others and len(groups) <= 8:
                ax.legend(fontsize=7)
    fig.suptitle("mean and standard deviation over seeds", fontsize=9)
    fig.tight_layout()
    path = Path(out_dir) / PLOT
    fig.savefig(path, dpi=100)
    return path
