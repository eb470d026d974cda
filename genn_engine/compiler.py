"""Compile generated C++ with the system compiler, cached by content hash."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import CompilerError

_OPENMP_OK = {}


def cache_dir():
    d = os.environ.get("GENN_ENGINE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "genn_engine")
    Path(d).mkdir(parents=True, exist_ok=True)
    return Path(d)


def compiler():
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") \
        or shutil.which("clang++")
    if not cxx:
        raise CompilerError("no C++ compiler found: install g++ or clang++ "
                            "(or set CXX)")
    return cxx


def _openmp_works(cxx):
    if cxx not in _OPENMP_OK:
        with tempfile.TemporaryDirectory() as d:
            src = Path(d, "t.cc")
            src.write_text("#include <omp.h>\nint main(){return "
                           "omp_get_max_threads() > 0 ? 0 : 1;}\n")
            r = subprocess.run([cxx, "-fopenmp", str(src), "-o",
                                str(Path(d, "t"))], capture_output=True)
            _OPENMP_OK[cxx] = r.returncode == 0
    return _OPENMP_OK[cxx]


def build_library(source, name, flags, snippets=None, force=False):
    """Return (path to shared library, cache_hit). Never rebuilds unchanged code."""
    cxx = compiler()
    flags = list(flags)
    if "-fopenmp" in flags and not _openmp_works(cxx):
        flags.remove("-fopenmp")
    key = hashlib.sha256((source + "\0" + cxx + "\0" + " ".join(flags))
                         .encode()).hexdigest()[:20]
    d = cache_dir()
    lib = d / f"{name}_{key}.so"
    src = d / f"{name}_{key}.cc"
    if lib.exists() and not force:
        return lib, True
    src.write_text(source)
    tmp = d / f".{name}_{key}.{os.getpid()}.so"
    r = subprocess.run([cxx, *flags, str(src), "-o", str(tmp)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CompilerError(_explain(r.stderr, snippets or {}, src),
                            source_path=str(src))
    os.replace(tmp, lib)   # atomic: a concurrent loader never sees half a file
    return lib, False


def _explain(stderr, snippets, src):
    """Compiler output with the model code lines it refers to."""
    lines = [f"compiling the generated model failed (source kept at {src}):"]
    shown = set()
    for m in re.finditer(r'^([^:\n]+):(\d+):(?:\d+:)? (error|fatal error): '
                         r'(.*)$', stderr, re.M):
        label, line_no, _, msg = m.groups()
        if label in snippets and (label, line_no) not in shown:
            shown.add((label, line_no))
            code_lines = snippets[label].splitlines()
            n = int(line_no)
            text = code_lines[n - 1].strip() if 0 < n <= len(code_lines) else ""
            lines.append(f"  {label} line {n}: {msg}\n      {text}")
    errors = [ln for ln in stderr.splitlines() if "error" in ln]
    lines.append("compiler said:\n" + "\n".join(errors[:20] or
                                                 stderr.splitlines()[:20]))
    return "\n".join(lines)
