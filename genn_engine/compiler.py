"""Compile generated C++ with the system compiler, cached by content hash.

The cache (``$GENN_ENGINE_CACHE``, default ``~/.cache/genn_engine``) holds
``NAME_KEY.so`` with ``NAME_KEY.so.sha256``, the digest of the library as
built. A cached library is checked before it is used (digest, or, without
one, the ELF header against the file's size: loading a truncated library
would kill the interpreter with a bus error) and rebuilt when it is bad. A
cache that cannot be written still serves the libraries it holds; what it
lacks is built in a private temporary folder.
"""
import hashlib
import os
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

from .errors import CompilerError

_OPENMP_OK = {}
_WORKS = {}
_PRIVATE_DIR = []       # build folder used when the cache is read-only


def cache_dir():
    d = os.environ.get("GENN_ENGINE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "genn_engine")
    try:
        Path(d).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CompilerError(f"cannot create the build cache {d} ({err}); set "
                            "GENN_ENGINE_CACHE to a folder you can write") from None
    return Path(d)


def compiler():
    """The compiler command (CXX, split like a shell would, or g++/c++/clang++)
    as a string; CompilerError if CXX names nothing that can be run."""
    return " ".join(shlex.quote(a) for a in _compiler_cmd())


def _compiler_cmd():
    env = os.environ.get("CXX")
    if env:
        try:
            cmd = shlex.split(env)
        except ValueError as err:
            raise CompilerError(f"CXX={env!r} cannot be read as a command: "
                                f"{err}") from None
        if not cmd:
            raise CompilerError("CXX is set but empty: set it to a C++ compiler "
                                "(e.g. g++) or unset it")
        exe = shutil.which(cmd[0])
        if exe is None:
            what = ("does not exist" if not os.path.exists(cmd[0])
                    else "is not an executable file")
            raise CompilerError(
                f"CXX={env!r}: {cmd[0]!r} {what}; set CXX to a C++ compiler "
                "(e.g. g++ or clang++) or unset it to use the one on PATH")
        return [exe] + cmd[1:]
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if not cxx:
        raise CompilerError("no C++ compiler found: install g++ or clang++ "
                            "(or set CXX)")
    return [cxx]


def _run(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, **kw)
    except OSError as err:      # vanished, not executable, not a program
        raise CompilerError(f"cannot run the C++ compiler {cmd[0]!r}: {err}; set "
                            "CXX to a working C++ compiler") from None


def _openmp_works(cmd):
    key = tuple(cmd)
    if key not in _OPENMP_OK:
        with tempfile.TemporaryDirectory() as d:
            src = Path(d, "t.cc")
            src.write_text("#include <omp.h>\nint main(){return "
                           "omp_get_max_threads() > 0 ? 0 : 1;}\n")
            r = _run([*cmd, "-fopenmp", str(src), "-o", str(Path(d, "t"))])
            _OPENMP_OK[key] = r.returncode == 0
    return _OPENMP_OK[key]


def _trivial_failure(cmd):
    """Why ``cmd`` cannot compile an empty program (None when it can)."""
    key = tuple(cmd)
    if key not in _WORKS:
        with tempfile.TemporaryDirectory() as d:
            src = Path(d, "t.cc")
            src.write_text("int main() { return 0; }\n")
            r = _run([*cmd, str(src), "-o", str(Path(d, "t"))])
            _WORKS[key] = None if r.returncode == 0 else (
                (r.stderr or r.stdout).strip()[-2000:]
                or f"exit status {r.returncode}, no output")
    return _WORKS[key]


# -- checking a cached library ----------------------------------------------

def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _digest_path(lib):
    return lib.with_name(lib.name + ".sha256")


def _elf_problem(path):
    """Why ``path`` is not a whole ELF shared library (None if it looks whole):
    every program segment and the section table must lie inside the file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 52 or head[:4] != b"\x7fELF":
            return f"not an ELF file ({size} bytes)"
        is64 = head[4] == 2
        end = "<" if head[5] == 1 else ">"
        if is64:
            if len(head) < 64:
                return "truncated ELF header"
            phoff, shoff = struct.unpack_from(end + "QQ", head, 32)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", head, 54)
        else:
            phoff, shoff = struct.unpack_from(end + "II", head, 28)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", head, 42)
        if phoff + phnum * phentsize > size:
            return f"program headers end at {phoff + phnum * phentsize}, file has {size} bytes"
        if shoff + shnum * shentsize > size:
            return f"section headers end at {shoff + shnum * shentsize}, file has {size} bytes"
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(phentsize)
            if is64:
                offset, filesz = struct.unpack_from(end + "Q", ph, 8)[0], \
                    struct.unpack_from(end + "Q", ph, 32)[0]
            else:
                offset, filesz = struct.unpack_from(end + "I", ph, 4)[0], \
                    struct.unpack_from(end + "I", ph, 16)[0]
            if offset + filesz > size:
                return (f"segment {i} ends at byte {offset + filesz}, file has "
                        f"{size} bytes (truncated)")
    return None


def library_problem(lib):
    """Why the cached library ``lib`` must not be loaded, or None if it is good."""
    lib = Path(lib)
    try:
        dpath = _digest_path(lib)
        if dpath.exists():
            want = dpath.read_text().strip()
            if _digest(lib) != want:
                return "its content differs from the digest recorded when it was built"
        return _elf_problem(lib)
    except OSError as err:
        return f"unreadable: {err}"


def _writable(d):
    return os.access(d, os.W_OK | os.X_OK)


def _build_dir(cache):
    """The cache, or a private temporary folder when the cache is read-only."""
    if _writable(cache):
        return cache
    if not _PRIVATE_DIR:
        _PRIVATE_DIR.append(Path(tempfile.mkdtemp(prefix="genn_engine_")))
        warnings.warn(f"the build cache {cache} is read-only: models it does not "
                      f"hold are built in {_PRIVATE_DIR[0]} and not kept",
                      RuntimeWarning, stacklevel=4)
    return _PRIVATE_DIR[0]


def build_library(source, name, flags, snippets=None, force=False,
                  cache_only=False):
    """Return (path to shared library, cache_hit). Never rebuilds unchanged code.

    A cached library that fails its check is rebuilt (with a warning).
    ``cache_only``: compile nothing; CompilerError if the cache lacks a good
    library of this code.
    """
    cmd = _compiler_cmd()
    flags = list(flags)
    if "-fopenmp" in flags and not _openmp_works(cmd):
        flags.remove("-fopenmp")
    key = hashlib.sha256((source + "\0" + " ".join(cmd) + "\0" + " ".join(flags))
                         .encode()).hexdigest()[:20]
    cache = cache_dir()
    for d in [cache] + _PRIVATE_DIR:
        lib = d / f"{name}_{key}.so"
        if lib.exists() and not force:
            problem = library_problem(lib)
            if problem is None:
                return lib, True
            warnings.warn(f"the cached model library {lib} is damaged ({problem}); "
                          "building it again", RuntimeWarning, stacklevel=3)
    if cache_only:
        raise CompilerError(
            f"BUILD=False: no compiled {name} model for this code in the build cache "
            f"{cache}; run once with BUILD=True (the default) to build it")
    d = _build_dir(cache)
    lib = d / f"{name}_{key}.so"
    src = d / f"{name}_{key}.cc"
    # Concurrent builds of the same model (parallel sweep tasks, several
    # processes on one cache) must not share a file while it is written: each
    # compiles its own copy of the source into its own library and renames
    # both into place (atomic; the contents are identical). Compiling the
    # shared NAME.cc while another process rewrote it once installed a
    # library built from half a source.
    tag = f"{os.getpid()}.{threading.get_ident()}"
    tmp_src = d / f".{name}_{key}.{tag}.cc"
    tmp = d / f".{name}_{key}.{tag}.so"
    dtmp = d / f".{name}_{key}.{tag}.sha256"
    try:
        tmp_src.write_text(source)
        r = _run([*cmd, *flags, str(tmp_src), "-o", str(tmp)])
        os.replace(tmp_src, src)    # kept for error messages and debugging
        if r.returncode != 0:
            broken = _trivial_failure(cmd)
            if broken is not None:
                raise CompilerError(
                    f"the C++ compiler {' '.join(cmd)!r} (CXX={os.environ.get('CXX')!r}) "
                    f"fails on an empty program, so it cannot build models:\n{broken}\n"
                    "set CXX to a working C++ compiler (e.g. g++)", source_path=str(src))
            raise CompilerError(
                _explain(r.stderr.replace(str(tmp_src), str(src)),
                         snippets or {}, src), source_path=str(src))
        dtmp.write_text(_digest(tmp) + "\n")
        os.replace(tmp, lib)   # atomic: a concurrent loader never sees half a file
        os.replace(dtmp, _digest_path(lib))
    finally:
        for t in (tmp_src, tmp, dtmp):
            t.unlink(missing_ok=True)
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
