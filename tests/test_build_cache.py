"""The build cache (issue 12): a damaged cached library is found before it is
loaded and built again, a read-only cache that holds the library serves it,
and a compiler that is missing or broken gives a message that says so.

Each test builds one tiny model into a cache folder of its own. Loading a
truncated library used to kill the interpreter (bus error), so that case runs
in a child process.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genn_engine import CompilerError

ROOT = Path(__file__).resolve().parent.parent

# builds, loads and steps a one-population model; prints V and the cache hit
SCRIPT = r"""
import sys, warnings
warnings.simplefilter("always")
from genn_engine import GeNNModel, create_neuron_model
leaky = create_neuron_model("leaky", params=["tau"], vars=[("V", "scalar")],
                            sim_code="V += (1.0 - V) * dt / tau;")
m = GeNNModel("float", "cache_probe", num_threads=1)
m.dt = 1.0
pop = m.add_neuron_population("p", 2, leaky, {"tau": 2.0}, {"V": 0.0})
m.build()
m.load()
m.step_time()
print("V", float(pop.vars["V"].view.ravel()[0]), "hit", m.build_cache_hit)
"""


def run_probe(cache, read_only=False):
    env = dict(os.environ, GENN_ENGINE_CACHE=str(cache), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", SCRIPT]
    if read_only and os.geteuid() == 0:
        # root writes through file modes: mount the cache read-only instead,
        # in a mount namespace of the child's own
        cmd = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && '
               'mount -o remount,bind,ro "$0" && exec "$@"', str(cache)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env,
                          cwd=str(cache.parent), timeout=240)


def libraries(cache):
    return sorted(cache.glob("cache_probe_*.so"))


def test_a_truncated_cached_library_is_rebuilt_not_loaded(tmp_path):
    cache = tmp_path / "cache"
    first = run_probe(cache)
    assert first.returncode == 0, first.stderr
    assert "V 0.5 hit False" in first.stdout
    lib, = libraries(cache)
    size = lib.stat().st_size
    with open(lib, "r+b") as f:          # a disk that filled up mid-copy
        f.truncate(size // 2)
    again = run_probe(cache)
    assert again.returncode == 0, (again.returncode, again.stderr[-2000:])
    assert "V 0.5 hit False" in again.stdout          # built again
    assert "damaged" in again.stderr and lib.name in again.stderr
    assert lib.stat().st_size == size
    third = run_probe(cache)
    assert "V 0.5 hit True" in third.stdout, third.stderr


def test_a_cached_library_with_other_content_is_rebuilt(tmp_path, monkeypatch):
    """Same size, other bytes: the digest recorded at build time differs."""
    cache = tmp_path / "cache"
    assert run_probe(cache).returncode == 0
    lib, = libraries(cache)
    data = bytearray(lib.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = b"\xff" * 64
    lib.write_bytes(bytes(data))
    again = run_probe(cache)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "V 0.5 hit False" in again.stdout and "damaged" in again.stderr


def test_a_read_only_cache_that_holds_the_library_serves_it(tmp_path):
    cache = tmp_path / "cache"
    assert run_probe(cache).returncode == 0
    names = sorted(p.name for p in cache.iterdir())
    if os.geteuid() == 0:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o '
             'remount,bind,ro "$0" && ! touch "$0/x"', str(cache)],
            capture_output=True) if shutil.which("unshare") else None
        if probe is None or probe.returncode != 0:
            pytest.skip("running as root without a way to mount the cache read-only")
    for f in cache.iterdir():
        os.chmod(f, 0o444)
    os.chmod(cache, 0o555)
    try:
        ro = run_probe(cache, read_only=True)
        assert ro.returncode == 0, ro.stderr[-2000:]
        assert "V 0.5 hit True" in ro.stdout
    finally:
        os.chmod(cache, 0o755)
    assert sorted(p.name for p in cache.iterdir()) == names


def _tiny_model(name):
    from genn_engine import GeNNModel, create_neuron_model
    leaky = create_neuron_model("leaky", params=["tau"], vars=[("V", "scalar")],
                                sim_code="V += (1.0 - V) * dt / tau;")
    m = GeNNModel("float", name, num_threads=1)
    m.dt = 1.0
    m.add_neuron_population("p", 2, leaky, {"tau": 2.0}, {"V": 0.0})
    return m


def test_a_library_the_loader_refuses_is_rebuilt(tmp_path, monkeypatch):
    """Whole and without a digest (an older cache), but for another machine:
    dlopen refuses it; it is built again instead of an error that names the
    deleted private copy."""
    monkeypatch.setenv("GENN_ENGINE_CACHE", str(tmp_path / "cache"))
    m = _tiny_model("cache_refused")
    m.build()
    lib = m._lib_path
    for f in lib.parent.glob("*.sha256"):
        f.unlink()
    data = bytearray(lib.read_bytes())
    data[18:20] = b"\xff\x7f"            # e_machine: no such architecture
    lib.write_bytes(bytes(data))
    m = _tiny_model("cache_refused")
    m.build()
    assert m.build_cache_hit is True      # passes the extent check ...
    with pytest.warns(RuntimeWarning, match="cannot be loaded.*building it again"):
        m.load()                          # ... but not the loader
    m.step_time()
    assert float(m.neuron_populations["p"].vars["V"].view.ravel()[0]) == 0.5
    assert lib.read_bytes()[18:20] != b"\xff\x7f"


def test_a_compiler_that_does_not_exist_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GENN_ENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(CompilerError, match=r"CXX='/nonexistent/g\+\+'.*does not exist"):
        _tiny_model("cxx_missing").build()


def test_a_compiler_that_fails_is_named(tmp_path, monkeypatch):
    false = shutil.which("false")
    if false is None:
        pytest.skip("no 'false' program")
    monkeypatch.setenv("GENN_ENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", false)
    with pytest.raises(CompilerError, match="fails on an empty program") as e:
        _tiny_model("cxx_false").build()
    assert false in str(e.value) and "set CXX" in str(e.value)
