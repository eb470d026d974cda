"""``pip install .`` installs a package that imports and runs: the wheel holds
every package folder of the checkout and the C++ sources the generator reads,
and, installed into a fresh virtual environment, it trains a small model.

The wheel is built from a copy of the checkout (no stale build/ folder can
fill gaps).
"""
import os
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


needs_wheel = pytest.mark.skipif(not _can_build_wheels(),
                                 reason="building a wheel needs the 'wheel' package "
                                        "(pip install -e '.[test]')")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of the checkout, built once for this module."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout + run.stderr
    wheels = list(dist.glob("eventprop-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    return wheels[0]


@pytest.mark.slow
@pytest.mark.timeout(180)
@needs_wheel
def test_wheel_holds_every_package_and_the_cpp_sources(wheel):
    assert {"genn_engine", "genn_models", "params", "simulators",
            "train_scripts"} <= set(PACKAGES)
    with zipfile.ZipFile(wheel) as z:
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


def _dependency_paths():
    """Where this interpreter finds numpy, scipy, h5py, ...: its site-packages
    folders, given to the new environment as plain paths, so their .pth files
    (an editable install of this checkout among them) are not run there."""
    import site
    paths = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    paths += site.getsitepackages()
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    return [p for p in dict.fromkeys(paths) if Path(p).is_dir()
            and Path(p).resolve() != ROOT]


@pytest.mark.slow
@pytest.mark.timeout(600)
@needs_wheel
def test_the_installed_wheel_imports_and_trains_a_model(wheel, tmp_path):
    """``pip install`` of the wheel into a fresh virtual environment, then, from
    a folder where the checkout cannot be imported, import every package and
    train a small Yin-Yang network end to end with the command line (which
    generates and compiles its C++ from the installed files)."""
    import pip
    # pip >= 22.3 installs into another environment (--python); older pips
    # are put into the new environment (ensurepip, offline) and run there
    outer_pip = tuple(int(x) for x in pip.__version__.split(".")[:2]) >= (22, 3)
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)]
                          + (["--without-pip"] if outer_pip else []),
                          capture_output=True, text=True, timeout=170)
    assert made.returncode == 0, made.stderr
    py = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", GENN_ENGINE_CACHE=str(tmp_path / "genn_cache"))
    work = tmp_path / "work"
    work.mkdir()

    def in_venv(*args, timeout=300):
        return subprocess.run([str(py), *args], capture_output=True, text=True,
                              cwd=str(work), env=env, timeout=timeout)

    purelib = Path(in_venv("-c", "import sysconfig; print(sysconfig.get_paths()"
                                 "['purelib'])").stdout.strip())
    assert purelib.is_dir()
    (purelib / "_eventprop_test_dependencies.pth").write_text(
        "\n".join(_dependency_paths()) + "\n")
    pip_cmd = [sys.executable, "-m", "pip", "--python", str(py)] if outer_pip \
        else [str(py), "-m", "pip"]
    install = subprocess.run(
        pip_cmd + ["install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, cwd=str(work), env=env, timeout=170)
    assert install.returncode == 0, install.stdout + install.stderr
    where = in_venv("-c", "import importlib, sys\n"
                          "for name in sys.argv[1:]:\n"
                          "    print(importlib.import_module(name).__file__)",
                    *PACKAGES, "genn_engine.targets.cpu")
    assert where.returncode == 0, where.stderr
    files = where.stdout.split()
    assert len(files) == len(PACKAGES) + 1
    for f in files:      # from the installed wheel, not from the checkout
        assert Path(f).resolve().is_relative_to(purelib.resolve()), f
    train = in_venv("-m", "train_scripts.train_yinyang", "N_TRAIN=48", "N_TEST=32",
                    "N_BATCH=16", "NUM_HIDDEN=8", "N_EPOCHS=1", "N_THREADS=1",
                    "MODEL_SEED=3", "VERBOSE=false", 'OUT_DIR="out"', timeout=400)
    assert train.returncode == 0, train.stdout + train.stderr[-3000:]
    assert "final accuracy" in train.stdout
    assert len(pd_rows(work / "out" / "test_results.csv")) == 1


def pd_rows(path):
    with open(path) as f:
        return f.read().splitlines()[1:]
