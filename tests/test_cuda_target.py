"""The CUDA target, verified without a GPU (docs/engine.md, "CUDA target").

Every test here builds its models for the CUDA target. The kernels run on
the CPU through the ``cuda_emulated`` backend (the generated CUDA source
compiled as host C++ under ``cuda_shim.h``, each grid run serially); where
the NVRTC package is installed (``pip install -e .[cuda]``) every model is
also compiled for a GPU with NVRTC, which needs no GPU.

- The engine tests (tests/test_engine_dynamics.py) and the EventProp
  gradient tests (tests/test_eventprop_gradients.py) run again, here, on the
  emulated CUDA target: they are imported below, and the autouse fixture
  selects the target for every model they build.
- Further tests compare the CUDA target with the CPU target directly:
  spikes equal, values bit-equal on the serial grid and within float
  tolerance when the grid runs in reverse order (as a GPU may order threads).
"""
import numpy as np
import pytest

from genn_engine import (GeNNModel, create_custom_update_model,
                         create_neuron_model, create_var_ref,
                         create_weight_update_model, init_postsynaptic,
                         init_sparse_connectivity, init_var,
                         init_weight_update)
from genn_engine.targets import cuda_runtime
from genn_models.network import EventPropNetwork, HiddenLayer, NetworkConfig
from genn_models.neurons import LOSS_TYPES
from tests.eventprop_harness import Case

HAVE_NVRTC = cuda_runtime.nvrtc_available()
needs_nvrtc = pytest.mark.skipif(
    not HAVE_NVRTC, reason="NVRTC not installed (pip install -e .[cuda])")


@pytest.fixture(autouse=True)
def _emulated_cuda(monkeypatch):
    """Every model of every test in this module: the emulated CUDA target,
    and (with NVRTC) its kernels compiled for a GPU as well."""
    monkeypatch.setenv("GENN_ENGINE_BACKEND", "cuda_emulated")
    monkeypatch.delenv("GENN_ENGINE_CXXFLAGS", raising=False)
    if HAVE_NVRTC:
        monkeypatch.setenv("GENN_ENGINE_NVRTC_CHECK", "1")


# The engine and gradient tests, once more on the emulated CUDA target.
from tests.test_engine_dynamics import *     # noqa: E402,F401,F403
from tests.test_eventprop_gradients import *     # noqa: E402,F401,F403


# -- CUDA target against the CPU target ---------------------------------
N_IN, N_H, N_OUT, T, DT = 3, 4, 2, 20.0, 0.01
SAMPLES = [[[1.0, 6.0], [3.0], [2.0, 9.0]],
           [[2.0, 11.0], [1.0, 4.0], [5.0]],
           [[0.5], [7.0], [3.5, 8.0]]]


def _case(loss, backend, precision="double"):
    rng = np.random.default_rng(4)
    w = {"w_in0": rng.normal(3.0, 1.0, (N_IN, N_H)),
         "w_rec0": rng.normal(0.0, 0.5, (N_H, N_H)),
         "w_ff0": rng.normal(2.0, 1.0, (N_H, N_H)),
         "w_out": rng.normal(3.0 if loss.startswith("first") else 1.0, 1.0,
                             (N_H, N_OUT))}
    layers = [HiddenLayer(N_H, kind="ALIF", recurrent=True, b_incr=0.3,
                          tau_b=30.0), HiddenLayer(N_H)]
    case = Case(N_IN, layers, N_OUT, loss, T, DT, w, SAMPLES, [1, 0, 1],
                loss_params={"tau0": 2.0, "tau1": 6.4, "alpha": 3e-3},
                name=f"cmp_{precision}", backend=backend,
                record_spikes=("hidden0", "hidden1"))
    case.cfg.precision = precision
    case.cfg.spk_rec_steps = 2 * int(round(T / DT))   # both trials
    return case


def _run(case):
    grads, res, net = case.engine_gradients()
    spikes = {p: net.populations[p].spike_recording_data
              for p in ("hidden0", "hidden1")}
    return grads, res, spikes


def _assert_same_spikes(a, b):
    n = 0
    for pop in a:
        for (ta, ia), (tb, ib) in zip(a[pop], b[pop]):
            np.testing.assert_array_equal(ia, ib, err_msg=pop)
            np.testing.assert_array_equal(ta, tb, err_msg=pop)
            n += len(ta)
    assert n > 10


@pytest.mark.parametrize("loss,precision", [
    ("sum_weigh_exp", "double"), ("first_spike", "double"),
    ("max", "float")])
def test_eventprop_on_cuda_equals_cpu(loss, precision):
    """Serial grid: the same spikes and bit-equal gradients and losses."""
    g_cpu, r_cpu, s_cpu = _run(_case(loss, "cpu", precision))
    g_cu, r_cu, s_cu = _run(_case(loss, "cuda_emulated", precision))
    _assert_same_spikes(s_cpu, s_cu)
    for k in g_cpu:
        assert np.any(g_cpu[k] != 0), k
        np.testing.assert_array_equal(g_cu[k], g_cpu[k], err_msg=k)
    for k in ("z", "loss", "pred"):
        np.testing.assert_array_equal(r_cu[k], r_cpu[k], err_msg=k)


def test_eventprop_with_threads_in_reverse_order_matches_cpu(monkeypatch):
    """Reversed grids reorder spike lists and atomic additions, as a GPU
    may: spikes stay equal and gradients agree to rounding."""
    g_cpu, r_cpu, s_cpu = _run(_case("sum_weigh_exp", "cpu"))
    monkeypatch.setenv("GENN_ENGINE_CXXFLAGS", "-DGENN_SHIM_REVERSE")
    g_cu, r_cu, s_cu = _run(_case("sum_weigh_exp", "cuda_emulated"))
    _assert_same_spikes(s_cpu, s_cu)
    for k in g_cpu:
        np.testing.assert_allclose(g_cu[k], g_cpu[k], rtol=1e-9, atol=1e-12,
                                   err_msg=k)
    np.testing.assert_allclose(r_cu["loss"], r_cpu["loss"], rtol=1e-12)


def _mixed_model(backend, precision="float"):
    """RNG in neuron, synapse and custom-update code; SPARSE and DENSE
    groups; synapse dynamics, postsynaptic spikes, events with addToPre;
    batch and neuron reductions; recording."""
    m = GeNNModel(precision, f"mixed_{precision}", backend=backend)
    m.dt, m.batch_size, m.seed = 0.5, 3, 11
    noisy = create_neuron_model(
        "noisy", params=["tau"], vars=[("V", "scalar"), ("u", "scalar"),
                                       ("back", "scalar")],
        sim_code="V += (Isyn - V) * dt / tau + 0.3 * gennrand_normal();\n"
                 "u = gennrand_uniform() + 0.01 * gennrand_exponential();\n"
                 "back = Isyn;",
        threshold_condition_code="V > 0.6", reset_code="V = 0.0;")
    a = m.add_neuron_population("a", 37, noisy, {"tau": 5.0},
                                {"V": init_var("Uniform", {"min": 0.0,
                                                           "max": 1.0}),
                                 "u": 0.0, "back": 0.0})
    b = m.add_neuron_population("b", 29, noisy, {"tau": 4.0},
                                {"V": 0.0, "u": 0.0, "back": 0.0})
    a.spike_recording_enabled = b.spike_recording_enabled = True
    stdp = create_weight_update_model(
        "plastic", params=["eta"],
        vars=[("w", "scalar"), ("e", "scalar")],
        pre_spike_syn_code="addToPost(w); e += eta;",
        post_spike_syn_code="w -= eta * e;",
        synapse_dynamics_code="e *= 0.9; addToPost(0.01 * w * "
                              "gennrand_uniform());")
    m.add_synapse_population(
        "ab", "DENSE", a, b,
        init_weight_update(stdp, {"eta": 0.01},
                           {"w": init_var("Normal", {"mean": 0.3, "sd": 0.3}),
                            "e": 0.0}),
        init_postsynaptic("ExpCurr", {"tau": 3.0}))
    back = create_weight_update_model(
        "back", vars=[("w", "scalar")],
        pre_neuron_var_refs=[("u_pre", "scalar")],
        pre_event_threshold_condition_code="u_pre > 0.5",
        pre_event_syn_code="addToPre(w); addToPost(0.5 * w);")
    m.add_synapse_population(
        "ba", "SPARSE", b, a,
        init_weight_update(back, {}, {"w": init_var("Normal",
                                                    {"mean": 0.2, "sd": 0.4})},
                           pre_var_refs={"u_pre": create_var_ref(b, "u")}),
        init_postsynaptic("DeltaCurr"),
        init_sparse_connectivity("FixedProbability", {"prob": 0.3}))
    m.add_synapse_population(
        "aa", "SPARSE", a, a,
        init_weight_update("StaticPulse", {}, {"g": 0.05}),
        init_postsynaptic("DeltaCurr"),
        init_sparse_connectivity("FixedProbabilityNoAutapse", {"prob": 0.2}))
    from genn_engine import CustomUpdateVarAccess, VarAccess
    soft = create_custom_update_model(
        "soft", vars=[("M", "scalar", CustomUpdateVarAccess.REDUCE_NEURON_MAX),
                      ("S", "scalar", CustomUpdateVarAccess.REDUCE_NEURON_SUM)],
        var_refs=[("V", "scalar")],
        update_code="M = V; S = exp(V);")
    m.add_custom_update("soft", "Soft", soft, {}, {"M": 0.0, "S": 0.0},
                        {"V": create_var_ref(a, "V")})
    jitter = create_custom_update_model(
        "jitter", var_refs=[("V", "scalar")],
        update_code="V += 0.01 * gennrand_normal();")
    m.add_custom_update("jit", "Jitter", jitter, {}, {},
                        {"V": create_var_ref(b, "V")})
    bsum = create_custom_update_model(
        "bsum", vars=[("T", "scalar", CustomUpdateVarAccess.REDUCE_BATCH_SUM)],
        var_refs=[("u", "scalar")], update_code="T = u * u;")
    m.add_custom_update("bsum", "BatchSum", bsum, {}, {"T": 0.0},
                        {"u": create_var_ref(a, "u")})
    del VarAccess
    m.build()
    m.load(num_recording_timesteps=40)
    out = []
    for k in range(4):
        m.run_steps(10, step_custom_updates=("Jitter",))
        m.custom_update("Soft")
        m.custom_update("BatchSum")
        state = {f"{p.name}.{v}": np.array(p.vars[v].view)
                 for p in (a, b) for v in p.vars}
        for cu in ("soft", "bsum"):
            for v, var in m.custom_updates[cu].vars.items():
                state[f"{cu}.{v}"] = np.array(var.view)
        for sg in ("ab", "ba"):
            for v, var in m.synapse_populations[sg].vars.items():
                state[f"{sg}.{v}"] = np.array(var.view)
        state["spikes"] = [(np.array(t), np.array(i)) for p in (a, b)
                           for t, i in p.spike_recording_data]
        out.append(state)
    return out


@pytest.mark.parametrize("precision", ["float", "double"])
def test_every_kind_of_kernel_equals_cpu(precision):
    cpu = _mixed_model("cpu", precision)
    cu = _mixed_model("cuda_emulated", precision)
    n_spikes = 0
    for sc, su in zip(cpu, cu):
        for k in sc:
            if k == "spikes":
                for (ta, ia), (tb, ib) in zip(sc[k], su[k]):
                    np.testing.assert_array_equal(ta, tb)
                    np.testing.assert_array_equal(ia, ib)
                    n_spikes += len(ta)
            else:
                np.testing.assert_array_equal(su[k], sc[k], err_msg=k)
    assert n_spikes > 100


def test_every_kind_of_kernel_in_reverse_thread_order(monkeypatch):
    cpu = _mixed_model("cpu", "double")
    monkeypatch.setenv("GENN_ENGINE_CXXFLAGS", "-DGENN_SHIM_REVERSE")
    cu = _mixed_model("cuda_emulated", "double")
    # reordered additions differ in the last bits (so a spike could, in
    # principle, move by a step later on): compare the first block of steps
    for k in cpu[0]:
        if k != "spikes":
            np.testing.assert_allclose(cu[0][k], cpu[0][k], rtol=1e-9,
                                       atol=1e-12, err_msg=k)
    for (ta, ia), (tb, ib) in zip(cpu[0]["spikes"], cu[0]["spikes"]):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(ia, ib)


# -- on a GPU, where there is one (bench/gpu_check.sh runs these) ---------
def _gpu_works():
    try:
        cuda_runtime.check_device()
        return True
    except cuda_runtime.CudaUnavailableError:
        return False


needs_gpu = pytest.mark.skipif(not _gpu_works(),
                               reason="no CUDA GPU and driver here")


@needs_gpu
def test_eventprop_on_the_gpu_matches_cpu():
    g_cpu, r_cpu, s_cpu = _run(_case("sum_weigh_exp", "cpu"))
    g_gpu, r_gpu, s_gpu = _run(_case("sum_weigh_exp", "cuda"))
    _assert_same_spikes(s_cpu, s_gpu)
    for k in g_cpu:
        np.testing.assert_allclose(g_gpu[k], g_cpu[k], rtol=1e-6, atol=1e-9,
                                   err_msg=k)
    np.testing.assert_allclose(r_gpu["loss"], r_cpu["loss"], rtol=1e-9)


@needs_gpu
def test_every_kind_of_kernel_on_the_gpu_matches_cpu():
    cpu = _mixed_model("cpu", "double")
    gpu = _mixed_model("cuda", "double")
    for k in cpu[0]:
        if k != "spikes":
            np.testing.assert_allclose(gpu[0][k], cpu[0][k], rtol=1e-6,
                                       atol=1e-9, err_msg=k)
    for (ta, ia), (tb, ib) in zip(cpu[0]["spikes"], gpu[0]["spikes"]):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(ia, ib)


# -- compiling for GPUs without one ---------------------------------------
def _network_configs():
    """Every neuron, synapse and custom-update model genn_models composes:
    each loss, each hidden neuron kind with and without trained time
    constants, regularisers, dropout, recurrence, output kinds."""
    kinds = [dict(kind="LIF", recurrent=True, reg="simple"),
             dict(kind="hetLIF", train_tau=True, reg="avg", pdrop=0.1),
             dict(kind="ALIF", reg="Thomas1"),
             dict(kind="LIF", train_tau=True, recurrent=True)]
    for k, loss in enumerate(LOSS_TYPES):
        layers = [HiddenLayer(8, **kinds[k % len(kinds)]),
                  HiddenLayer(6, **kinds[(k + 1) % len(kinds)])]
        yield NetworkConfig(
            n_in=5, hidden=layers, n_out=3, loss=loss, batch_size=4,
            out_kind="hetLI" if k % 2 else "LI", train_tau_out=k % 3 == 0,
            pdrop_in=0.1 if k % 2 else 0.0, record_spikes=("hidden0",),
            precision="double" if k % 4 == 0 else "float",
            model_name=f"nvrtc_{k}", backend="cuda_emulated")


@needs_nvrtc
def test_every_genn_models_network_compiles_with_nvrtc():
    from genn_engine.codegen import Generator
    from genn_engine.targets.cuda import CudaTarget
    n = 0
    for cfg in _network_configs():
        net = EventPropNetwork(cfg)
        target = CudaTarget()
        gen = Generator(net.model, target)
        gen.generate()
        ptx = cuda_runtime.nvrtc_compile(target.kernel_source,
                                         cfg.model_name, snippets=gen.snippets)
        for k in target.kernels:
            assert f".entry {k}(" in ptx.decode(errors="replace"), k
        n += 1
    assert n == len(LOSS_TYPES)


@needs_nvrtc
def test_emulated_builds_are_compiled_with_nvrtc_too(tmp_path, monkeypatch):
    monkeypatch.setenv("GENN_ENGINE_CACHE", str(tmp_path))
    m = GeNNModel("float", "nvrtc_marker")
    m.add_neuron_population("n", 3, "LIF", {
        "C": 1.0, "TauM": 20.0, "Vrest": 0.0, "Vreset": 0.0, "Vthresh": 1.0,
        "Ioffset": 2.0, "TauRefrac": 2.0}, {"V": 0.0, "RefracTime": 0.0})
    m.build()
    assert list(tmp_path.glob("nvrtc_marker_*.compute_80.ptx"))
    assert list(tmp_path.glob("nvrtc_marker_cuda_host_*.so"))


@needs_nvrtc
def test_nvrtc_errors_quote_the_model_line():
    from genn_engine import CompilerError
    with pytest.raises(CompilerError, match=r"n/sim_code line 2"):
        cuda_runtime.nvrtc_compile(
            '#line 1 "n/sim_code"\nint x = 1;\nint y = undefined_thing;\n',
            "bad", snippets={"n/sim_code": "x = 1;\ny = undefined_thing;"})


# -- the GPU backend where there is no GPU -------------------------------
def test_cuda_backend_without_a_gpu_is_a_clear_error(monkeypatch):
    class NoDriver:
        @staticmethod
        def cuInit(flags):
            raise OSError("libcuda.so.1: cannot open shared object file")

    monkeypatch.setattr(cuda_runtime, "_bindings", lambda: (NoDriver, None))
    with pytest.raises(cuda_runtime.CudaUnavailableError,
                       match="needs an NVIDIA GPU and driver"):
        GeNNModel("float", "gpu", backend="cuda")


def test_cuda_backend_without_cuda_bindings_says_what_to_install(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_cuda(name, *args, **kwargs):
        if name.startswith("cuda"):
            raise ImportError("No module named 'cuda'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cuda)
    with pytest.raises(cuda_runtime.CudaUnavailableError,
                       match=r"pip install 'eventprop\[cuda\]'"):
        GeNNModel("float", "gpu", backend="cuda")


def test_cuda_backend_on_this_machine():
    """On this machine: either a working GPU, or the clear error."""
    try:
        cuda_runtime.check_device()
    except cuda_runtime.CudaUnavailableError:
        with pytest.raises(cuda_runtime.CudaUnavailableError):
            GeNNModel("float", "gpu", backend="cuda")
    else:
        GeNNModel("float", "gpu", backend="cuda")


def test_models_of_this_module_use_the_emulated_cuda_target():
    m = GeNNModel("float", "which_target")
    assert m._target.name == "cuda" and m._target.emulated
    case = _case("sum_weigh_exp", None)
    assert case.cfg.backend == "cuda_emulated"


# -- the GPU runtime's own code, on a stand-in driver ---------------------
FAKE_LAUNCH = r"""
typedef void (*GennKernel)(const uint64_t, const double);
extern "C" int fake_cuLaunchKernel(void* f, unsigned gx, unsigned gy,
                                   unsigned gz, unsigned bx, unsigned by,
                                   unsigned bz, unsigned shared, void* stream,
                                   void** args, void** extra)
{
    if (gz != 1 || by != 1 || bz != 1 || shared != 0 || extra) return 1;
    blockDim = {bx, 1, 1};
    gridDim = {gx, gy, 1};
    for (unsigned y = 0; y < gy; y++)
        for (unsigned x = 0; x < gx; x++)
            for (unsigned tx = 0; tx < bx; tx++) {
                blockIdx = {x, y, 0};
                threadIdx = {tx, 0, 0};
                ((GennKernel)f)(*(const uint64_t*)args[0],
                                *(const double*)args[1]);
            }
    return 0;
}
"""


class FakeDriver:
    """Enough of cuda.bindings.driver to run DeviceRuntime on the CPU: the
    'module' is the kernel source compiled as host C++ under the shim,
    'cuLaunchKernel' runs a grid serially, managed memory is host memory."""
    from types import SimpleNamespace as _NS
    CUdevice_attribute = _NS(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR=1,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR=2)
    CUmemAttach_flags = _NS(CU_MEM_ATTACH_GLOBAL=_NS(value=1))
    GLOBALS = {"g_ptrs": 8, "g_params": 8, "g_seed": 8, "g_dt": 8,
               "g_rec_steps": 4}

    def __init__(self):
        self.targets = []        # CudaTargets built
        self.buffers = {}
        self.modules = []
        self.LAUNCH_KERNEL_ADDRESS = None

    def cuInit(self, flags): return (0,)
    def cuDeviceGetCount(self): return (0, 1)
    def cuDeviceGet(self, k): return (0, k)
    def cuDeviceGetAttribute(self, a, dev): return (0, 8 if a == 1 else 0)
    def cuDevicePrimaryCtxRetain(self, dev): return (0, "ctx")
    def cuDevicePrimaryCtxRelease(self, dev): return (0,)
    def cuCtxSetCurrent(self, ctx): return (0,)
    def cuCtxSynchronize(self): return (0,)
    def cuGetErrorString(self, err): return (0, b"fake error")
    def cuMemGetInfo(self): return (0, 2**34, 2**35)

    def cuMemAllocManaged(self, n, flags):
        import ctypes
        buf = (ctypes.c_uint8 * n)()
        addr = ctypes.addressof(buf)
        self.buffers[addr] = buf
        return (0, addr)

    def cuMemFree(self, ptr):
        self.buffers.pop(int(ptr))
        return (0,)

    def cuMemcpyHtoD(self, dst, src, n):
        import ctypes
        ctypes.memmove(int(dst), int(src), n)
        return (0,)

    def cuModuleLoadData(self, image):
        import ctypes
        import inspect
        from genn_engine.compiler import build_library
        from genn_engine.targets.cuda import SHIM
        # the image is a GPU binary; run the source of the runtime's target
        target = inspect.currentframe().f_back.f_locals["self"].target
        path, _ = build_library(SHIM + target.kernel_source + FAKE_LAUNCH,
                                "fake_device", target.compile_flags())
        from genn_engine.model import _private_library
        lib = _private_library(str(path))   # a module's own globals, as on a GPU
        self.LAUNCH_KERNEL_ADDRESS = ctypes.cast(lib.fake_cuLaunchKernel,
                                                 ctypes.c_void_p).value
        self.modules.append(lib)
        return (0, lib)

    def cuModuleUnload(self, lib): return (0,)

    def cuModuleGetFunction(self, lib, name):
        import ctypes
        return (0, ctypes.cast(getattr(lib, name.decode()),
                               ctypes.c_void_p).value)

    def cuModuleGetGlobal(self, lib, name):
        import ctypes
        var = ctypes.c_uint8.in_dll(lib, name.decode())
        return (0, ctypes.addressof(var), self.GLOBALS[name.decode()])


@pytest.fixture
def fake_gpu(monkeypatch):
    from cuda.bindings import nvrtc
    fake = FakeDriver()
    monkeypatch.setattr(cuda_runtime, "_bindings", lambda: (fake, nvrtc))
    real_build = cuda_runtime.build

    def build(target, *args, **kwargs):
        fake.targets.append(target)
        return real_build(target, *args, **kwargs)

    monkeypatch.setattr(cuda_runtime, "build", build)
    return fake


@needs_nvrtc
def test_gpu_runtime_on_a_stand_in_driver_equals_cpu(fake_gpu):
    """backend 'cuda' end to end except the GPU itself: NVRTC cubin build,
    managed-memory arrays behind the views, pointer table and globals,
    dynamic parameters, extra global parameters set after load, the GPU
    launcher calling cuLaunchKernel, recording."""
    cpu = _mixed_model("cpu", "double")
    gpu = _mixed_model("cuda", "double")
    assert len(fake_gpu.modules) == 1 and fake_gpu.buffers
    for sc, sg in zip(cpu, gpu):
        for k in sc:
            if k == "spikes":
                for (ta, ia), (tb, ib) in zip(sc[k], sg[k]):
                    np.testing.assert_array_equal(ta, tb)
                    np.testing.assert_array_equal(ia, ib)
            else:
                np.testing.assert_array_equal(sg[k], sc[k], err_msg=k)


@needs_nvrtc
def test_eventprop_training_step_through_the_gpu_runtime(fake_gpu):
    g_cpu, r_cpu, s_cpu = _run(_case("sum_weigh_exp", "cpu"))
    g_gpu, r_gpu, s_gpu = _run(_case("sum_weigh_exp", "cuda"))
    _assert_same_spikes(s_cpu, s_gpu)
    for k in g_cpu:
        np.testing.assert_array_equal(g_gpu[k], g_cpu[k], err_msg=k)


@needs_nvrtc
def test_gpu_runtime_refuses_more_managed_memory_than_is_free(fake_gpu,
                                                             monkeypatch):
    monkeypatch.setattr(fake_gpu, "cuMemGetInfo", lambda: (0, 4096, 2**35),
                        raising=False)
    with pytest.raises(RuntimeError, match="does not oversubscribe"):
        _mixed_model("cuda", "double")


def test_a_simulator_trains_identically_on_the_cuda_target(tmp_path):
    """Yin-Yang through the whole simulator (Adam, validation, results
    files): the emulated CUDA target repeats the CPU target's history."""
    from tests.test_simulators import small_yinyang
    from simulators.yinyang import YinYangModel
    hist = {}
    for backend in ("cpu", "cuda_emulated"):
        p = small_yinyang(tmp_path / backend, N_EPOCHS=2, N_TRAIN=32 * 8,
                          BACKEND=backend)
        hist[backend] = YinYangModel(p).train_test(p)["history"]
    keys = [k for k in hist["cpu"][-1] if k != "time_s"
            and isinstance(hist["cpu"][-1][k], (int, float))]
    assert "train_loss" in keys and "test_acc" in keys
    for a, b in zip(hist["cpu"], hist["cuda_emulated"]):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_synapse_code_may_not_write_neuron_state_on_the_cuda_target():
    """Many GPU threads run one neuron's synapses at once: a write to its
    state from synapse code would race, so it is a definition error there
    (the CPU target, which runs them in order, allows it)."""
    from genn_engine import DefinitionError, VarAccessMode
    wu = create_weight_update_model(
        "writes_pre", vars=[("w", "scalar")],
        pre_neuron_var_refs=[("x_pre", "scalar", VarAccessMode.READ_WRITE)],
        pre_spike_syn_code="addToPost(w);\nx_pre += w;")
    for backend in ("cpu", "cuda_emulated"):
        m = GeNNModel("float", "writes_pre", backend=backend)
        src = m.add_neuron_population("src", 2, "SpikeSourceArray", {},
                                      {"startSpike": 0, "endSpike": 0})
        src.extra_global_params["spikeTimes"].set_init_values(np.zeros(1))
        post = m.add_neuron_population(
            "post", 2, create_neuron_model("px", vars=[("x", "scalar")]),
            {}, {"x": 0.0})
        pre_pop = m.add_neuron_population(
            "pre", 2, create_neuron_model("py", vars=[("x", "scalar")],
                                          threshold_condition_code="x > 1"),
            {}, {"x": 0.0})
        m.add_synapse_population(
            "s", "DENSE", pre_pop, post,
            init_weight_update(wu, {}, {"w": 1.0}, pre_var_refs={
                "x_pre": create_var_ref(pre_pop, "x")}),
            init_postsynaptic("DeltaCurr"))
        del src
        if backend == "cpu":
            m.build()
        else:
            with pytest.raises(DefinitionError,
                               match=r"x_pre.*read-only.*cuda target"):
                m.build()


@needs_nvrtc
@pytest.mark.parametrize("engine_test", [
    test_lif_constant_current_spikes_at_analytic_times,
    test_sparse_fixed_probability_propagation_matches_numpy,
    test_spike_like_events_and_add_to_pre,
    test_batch_and_neuron_reductions_equal_numpy,
    test_custom_update_vars_reduce_and_weight_updates,
    test_dynamic_parameter_takes_effect,
    test_rng_moments_and_reproducibility,
    test_recording_and_run_steps_match_step_time,
    test_custom_updates_inside_the_step_loop_match_python_calls,
    test_models_of_one_structure_keep_their_own_state],
    ids=lambda f: f.__name__[5:])
def test_engine_tests_through_the_gpu_runtime(fake_gpu, monkeypatch,
                                              engine_test):
    monkeypatch.setenv("GENN_ENGINE_BACKEND", "cuda")
    engine_test()
    assert fake_gpu.modules


def _shd_sized(backend, batch):
    """A trial of an SHD-shaped network (700 inputs, 256 hidden, 20 outputs)
    on random input spikes: hidden spikes per neuron and gradients."""
    rng = np.random.default_rng(3)
    n_in, T = 700, 100.0
    samples = [[np.sort(rng.uniform(0, 80.0, rng.poisson(2.0)))
                for _ in range(n_in)] for _ in range(batch)]
    from tests.eventprop_harness import to_neuron_major
    start, end, times = to_neuron_major(samples, n_in)
    cfg = NetworkConfig(n_in=n_in, hidden=[HiddenLayer(256, recurrent=True,
                                                       w_mean=0.2, w_std=0.1,
                                                       n_max_spike=200)],
                        n_out=20, loss="sum_weigh_exp", trial_ms=T, dt=1.0,
                        batch_size=batch, precision="double", seed=5,
                        model_name="shd_sized", backend=backend,
                        record_spikes=("hidden0",), spk_rec_steps=200,
                        n_max_spike_in=50)
    net = EventPropNetwork(cfg).build()
    net.set_data(start, end, times, rng.integers(0, 20, batch))
    net.load()
    order = np.full(2 * batch, -1)
    order[:batch] = np.arange(batch)
    net.set_order(order)
    net.run_trial(0)
    net.run_trial(1)
    grads = net.reduce_gradients()
    spikes = net.populations["hidden0"].spike_recording_data
    return grads, spikes


def _compare_shd_sized(ref, other, rtol):
    g_ref, s_ref = ref
    g, s = other
    n = 0
    for (ta, ia), (tb, ib) in zip(s_ref, s):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(ia, ib)
        n += len(ta)
    assert n > 1000, n
    for k in g_ref:
        assert np.linalg.norm(g_ref[k]) > 0, k
        np.testing.assert_allclose(g[k], g_ref[k], rtol=rtol,
                                   atol=rtol * np.abs(g_ref[k]).max(),
                                   err_msg=k)


def test_shd_sized_network_in_reverse_thread_order(monkeypatch):
    """Hundreds of threads per spike list and atomic target, reordered:
    still the CPU target's spikes, and its gradients to rounding."""
    ref = _shd_sized("cpu", 4)
    monkeypatch.setenv("GENN_ENGINE_CXXFLAGS", "-DGENN_SHIM_REVERSE")
    _compare_shd_sized(ref, _shd_sized("cuda_emulated", 4), 1e-9)


@needs_gpu
def test_shd_sized_network_on_the_gpu_matches_cpu():
    _compare_shd_sized(_shd_sized("cpu", 32), _shd_sized("cuda", 32), 1e-6)
