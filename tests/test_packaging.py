"""``pip install .`` installs a package that imports: the wheel holds every
package folder of the checkout and the C++ sources the generator reads.

Built from a copy of the checkout (no stale build/ folder can fill gaps) and
only inspected, not installed.
"""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the top-level packages: folders of the checkout with an __init__.py
PACKAGES = sorted(d.name for d in ROOT.iterdir() if (d / "__init__.py").is_file()
                  and d.name not in ("tests", "bench", "build"))
SOURCES = ("*.h", "*.cc")      # C++ the code generator reads at run time


def _can_build_wheels():
    try:
        import wheel  # noqa: F401  (setuptools < 70.1 needs it for bdist_wheel)
        return True
    except ImportError:
        try:
            from setuptools.command import bdist_wheel  # noqa: F401
            return True
        except ImportError:
            return False


def _checkout_files(pattern):
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob(pattern):
            if "__pycache__" not in f.parts:
                yield f.relative_to(ROOT).as_posix()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(not _can_build_wheels(),
                    reason="building a wheel needs the 'wheel' package "
                           "(pip install -e '.[test]')")
def test_wheel_holds_every_package_and_the_cpp_sources(tmp_path):
    assert {"genn_engine", "genn_models", "params", "simulators",
            "train_scripts"} <= set(PACKAGES)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stdout + run.stderr
    wheels = list(dist.glob("eventprop-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    with zipfile.ZipFile(wheels[0]) as z:
        names = set(z.namelist())
    # every .py of every package (a folder without __init__.py included)
    missing = sorted(set(_checkout_files("*.py")) - names)
    assert not missing, f"not in the wheel: {missing}"
    sources = [f for pattern in SOURCES for f in _checkout_files(pattern)]
    assert "genn_engine/targets/philox.h" in sources
    missing = sorted(set(sources) - names)
    assert not missing, f"C++ sources not in the wheel: {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]
