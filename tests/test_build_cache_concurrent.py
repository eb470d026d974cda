"""The build cache (genn_engine/compiler.py) under concurrent builds.

Parallel sweep and cross-validation tasks on one machine build the same
model into one cache at the same moment. Every process must get a library
built from the whole source, and the cache must hold one library, its
digest and one source per model afterwards, with no temporary files left.
"""
import ctypes
import multiprocessing as mp
import os
import time

from genn_engine.compiler import build_library

N_PROCS = 4
# a long source (padding comments) widens the window in which one process
# writes the file while another compiles it
PADDING = "// padding\n" * 200000


def _source(value):
    return PADDING + f'extern "C" int answer(void) {{ return {value}; }}\n'


def _build(args):
    cache, value, start = args
    os.environ["GENN_ENGINE_CACHE"] = cache
    while time.time() < start:      # all processes start building together
        pass
    try:
        lib, _ = build_library(_source(value), "race", ["-O0", "-shared", "-fPIC"])
        return ctypes.CDLL(str(lib)).answer()
    except Exception as err:        # reported, not raised: see which failed
        return repr(err)


def test_concurrent_builds_of_one_model_all_get_a_whole_library(tmp_path):
    ctx = mp.get_context("spawn")
    with ctx.Pool(N_PROCS) as pool:
        pool.map(abs, range(N_PROCS))      # workers up before the clock starts
        for rep in range(6):
            cache = tmp_path / f"cache{rep}"
            start = time.time() + 0.5
            got = pool.map(_build, [(str(cache), 40 + rep, start)] * N_PROCS)
            assert got == [40 + rep] * N_PROCS, got
            names = sorted(f.name for f in cache.iterdir())
            assert len(names) == 3 and names[0].endswith(".cc") \
                and names[1].endswith(".so") \
                and names[2].endswith(".so.sha256"), names
            assert (cache / names[0]).read_text() == _source(40 + rep)


def test_failed_build_keeps_its_source_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    from genn_engine.errors import CompilerError
    monkeypatch.setenv("GENN_ENGINE_CACHE", str(tmp_path))
    bad = 'extern "C" int answer(void) { return undefined_name; }\n'
    try:
        build_library(bad, "broken", ["-O0", "-shared", "-fPIC"])
    except CompilerError as err:
        assert os.path.exists(err.source_path)
        assert open(err.source_path).read() == bad
        assert os.path.basename(err.source_path) in str(err)
    else:
        raise AssertionError("the broken source compiled")
    assert [f.suffix for f in tmp_path.iterdir()] == [".cc"]
