"""Compile generated C++ with the system compiler, cached by content hash."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
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
    # Concurrent builds of the same model (parallel sweep tasks, several
    # processes on one cache) must not share a file while it is written: each
    # compiles its own copy of the source into its own library and renames
    # both into place (atomic; the contents are identical). Compiling the
    # shared NAME.cc while another process rewrote it once installed a
    # library built from half a source.
    tag = f"{os.getpid()}.{threading.get_ident()}"
    tmp_src = d / f".{name}_{key}.{tag}.cc"
    tmp = d / f".{name}_{key}.{tag}.so"
    try:
        tmp_src.write_text(source)
        r = subprocess.run([cxx, *flags, str(tmp_src), "-o", str(tmp)],
                           capture_output=True, text=True)
        os.replace(tmp_src, src)    # kept for error messages and debugging
        if r.returncode != 0:
            raise CompilerError(
                _explain(r.stderr.replace(str(tmp_src), str(src)),
                         snippets or {}, src), source_path=str(src))
        os.replace(tmp, lib)   # atomic: a concurrent loader never sees half a file
    finally:
        tmp_src.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
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
