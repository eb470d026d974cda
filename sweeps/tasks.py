"""Run independent tasks on Ray, or one after another in this process.

``run_tasks(fn, items, cpus, ...)`` calls ``fn(item)`` for every item and
hands each (item, result) to ``on_result`` as it finishes. With Ray, each call
is a Ray task that declares ``cpus`` CPUs (so a machine runs as many at once
as it has CPUs for); Ray is started embedded on this machine unless
``address`` (or the RAY_ADDRESS variable) names a running cluster. Without
Ray (``use_ray=False``) the calls run here in order. ``fn`` must be a
module-level function of an importable module (Ray ships it by reference):
on a cluster, this package must be installed on every node and OUT_DIR must
be on a file system they share.
"""
import os


def ray_installed():
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def start_ray(address=None, num_cpus=None):
    """Connect to ``address`` (or $RAY_ADDRESS), or start Ray on this machine.
    Returns True when this call started or connected (and should shut down),
    False when Ray was already initialised in this process."""
    import ray
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    kw = {"include_dashboard": False, "configure_logging": True,
          "logging_level": "warning"}
    if address:
        ray.init(address=address, **kw)
    else:
        ray.init(num_cpus=num_cpus, **kw)
    return True


class TaskCrashed(RuntimeError):
    """A task ended without a result (its worker died, or Ray failed)."""


def run_tasks(fn, items, cpus=1, use_ray=True, address=None, on_result=None):
    """Results of ``fn(item)`` for all items, in the order of ``items``.

    A task that raises gives its exception as its result, and one whose
    worker dies a TaskCrashed instance (never raised here), so one failing
    task does not lose the others'.
    """
    items = list(items)
    results = [None] * len(items)

    def done(i, res):
        results[i] = res
        if on_result is not None:
            on_result(items[i], res)

    if not use_ray:
        for i, item in enumerate(items):
            try:
                res = fn(item)
            except Exception as err:       # as a Ray task's error is
                res = err
            done(i, res)
        return results
    if not ray_installed():
        raise ImportError("running tasks on Ray needs Ray: pip install -e '.[ray]' "
                          "(or run them in this process, without Ray)")
    import ray
    started = start_ray(address)
    try:
        remote = ray.remote(num_cpus=cpus, max_retries=0)(fn)
        pending = {remote.remote(item): i for i, item in enumerate(items)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    # fn raised: the original exception, as fn would have
                    cause = err.as_instanceof_cause()
                    res = cause if isinstance(cause, BaseException) else \
                        TaskCrashed(str(err))
                except ray.exceptions.RayError as err:
                    res = TaskCrashed(f"{type(err).__name__}: {err}")
                done(i, res)
    finally:
        if started:
            ray.shutdown()
    return results
