"""Compile and run the CUDA target: NVRTC for kernels, the driver API to run.

Needs the optional extra ``pip install eventprop[cuda]`` (``cuda-bindings``
and the NVRTC wheel). NVRTC needs no GPU, so :func:`nvrtc_compile` also runs
on CPU-only machines (CI compiles every generated kernel with it); running
needs an NVIDIA GPU and driver (:func:`check_device`).

Memory: every model array (variables, spike lists, recording buffers,
connectivity, extra global parameters such as the data set) is allocated
once, at ``load()``, in CUDA managed memory; the numpy views the API hands
out are views on that memory, so ``vars[...].view`` keeps the CPU target's
zero-copy meaning (and push/pull stay no-ops). The host touches it only when
the user reads or writes a view between calls; ``run_steps`` and
``custom_update`` launch all kernels of all steps from the generated C++
launcher and synchronise once at the end.
"""
import ctypes
import hashlib

import numpy as np

from ..compiler import build_library, cache_dir
from ..errors import CompilerError

DEFAULT_CHECK_ARCH = "compute_80"     # what CI compiles for (PTX, no GPU)
HOST_FLAGS = ["-O2", "-std=c++17", "-fPIC", "-shared"]   # the launcher


class CudaUnavailableError(RuntimeError):
    """The 'cuda' backend cannot run here: no cuda-bindings, driver or GPU."""


def _bindings():
    try:
        from cuda.bindings import driver, nvrtc
    except ImportError as e:
        raise CudaUnavailableError(
            "backend 'cuda' needs the NVIDIA CUDA Python bindings: "
            "pip install 'eventprop[cuda]' (cuda-bindings, "
            "nvidia-cuda-nvrtc-cu12)") from e
    return driver, nvrtc


def nvrtc_available():
    try:
        _bindings()[1].nvrtcVersion()
        return True
    except Exception:
        return False


def _check(result, what):
    """cuda-bindings return (error, values...): raise on an error."""
    err = result[0] if isinstance(result, tuple) else result
    if int(err) != 0:
        driver, _ = _bindings()
        name, msg = str(int(err)), ""
        try:
            code = driver.CUresult(int(err))
            name = code.name
            msg = ": " + driver.cuGetErrorString(code)[1].decode()
        except Exception:
            pass
        raise RuntimeError(f"CUDA: {what} failed with {name}{msg}")
    if isinstance(result, tuple):
        return result[1] if len(result) == 2 else result[1:]
    return None


def check_device():
    """Raise CudaUnavailableError unless a CUDA GPU and its driver work."""
    driver, _ = _bindings()
    try:
        err = driver.cuInit(0)[0]
    except Exception as e:      # libcuda.so absent: no NVIDIA driver
        raise CudaUnavailableError(
            "backend 'cuda' needs an NVIDIA GPU and driver, and none was "
            f"found ({type(e).__name__}: {e}); use backend 'cpu' here, or "
            "'cuda_emulated' to run the CUDA kernels on the CPU") from None
    if int(err) != 0:
        raise CudaUnavailableError(
            f"backend 'cuda': the NVIDIA driver reports {err!r} (no usable "
            "GPU?); use backend 'cpu' here")
    n = _check(driver.cuDeviceGetCount(), "cuDeviceGetCount")
    if n < 1:
        raise CudaUnavailableError("backend 'cuda': no CUDA GPU found")


def nvrtc_compile(source, name, arch=DEFAULT_CHECK_ARCH, snippets=None):
    """Compile kernel source with NVRTC: PTX for compute_XY, cubin for sm_XY.

    Raises CompilerError quoting the model lines the errors point at.
    """
    _, nvrtc = _bindings()
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), f"{name}.cu".encode(),
                                         0, [], [])
    _check(err, "nvrtcCreateProgram")
    opts = [f"--gpu-architecture={arch}".encode(), b"-default-device",
            b"-std=c++17", b"-w"]
    try:
        (res,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        if int(res) != 0:
            _, n = nvrtc.nvrtcGetProgramLogSize(prog)
            log = b" " * n
            nvrtc.nvrtcGetProgramLog(prog, log)
            raise CompilerError(_explain(log.decode(errors="replace"),
                                         snippets or {}, name))
        if arch.startswith("sm_"):
            _, n = nvrtc.nvrtcGetCUBINSize(prog)
            out = b" " * n
            nvrtc.nvrtcGetCUBIN(prog, out)
        else:
            _, n = nvrtc.nvrtcGetPTXSize(prog)
            out = b" " * n
            nvrtc.nvrtcGetPTX(prog, out)
        return out
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def _explain(log, snippets, name):
    import re
    lines = [f"NVRTC could not compile the CUDA kernels of '{name}':"]
    for m in re.finditer(r'^([^(\n]+)\((\d+)\): (error|catastrophic error): '
                         r'(.*)$', log, re.M):
        label, n, _, msg = m.groups()
        if label in snippets:
            code = snippets[label].splitlines()
            k = int(n)
            text = code[k - 1].strip() if 0 < k <= len(code) else ""
            lines.append(f"  {label} line {k}: {msg}\n      {text}")
    lines.append("NVRTC said:\n" + "\n".join(log.splitlines()[:30]))
    return "\n".join(lines)


def check_compiles(target, name, snippets=None, arch=DEFAULT_CHECK_ARCH):
    """Compile the kernels with NVRTC (PTX for ``arch``, no GPU needed) and
    the GPU launcher with the host compiler; both cached by content hash.
    Returns the path of the PTX."""
    key = hashlib.sha256((target.kernel_source + arch).encode()) \
        .hexdigest()[:20]
    ptx = cache_dir() / f"{name}_{key}.{arch}.ptx"
    if not ptx.exists():
        data = nvrtc_compile(target.kernel_source, name, arch, snippets)
        tmp = ptx.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(ptx)
    build_library(target.launcher_source, name + "_cuda_host", HOST_FLAGS,
                  snippets)
    return ptx


def gpu_description():
    """Name and memory of GPU 0 (for benchmark records)."""
    driver, _ = _bindings()
    _check(driver.cuInit(0), "cuInit")
    dev = _check(driver.cuDeviceGet(0), "cuDeviceGet")
    name = _check(driver.cuDeviceGetName(64, dev), "cuDeviceGetName")
    total = _check(driver.cuDeviceTotalMem(dev), "cuDeviceTotalMem")
    return {"gpu": name.split(b"\0")[0].decode(), "gpu_mem_total_mb":
            round(total / 2**20)}


def gpu_memory_used_mb():
    """Device memory in use now, all processes (needs a current context)."""
    driver, _ = _bindings()
    free, total = _check(driver.cuMemGetInfo(), "cuMemGetInfo")
    return round((total - free) / 2**20, 1)


def _device_arch():
    driver, _ = _bindings()
    dev = _check(driver.cuDeviceGet(0), "cuDeviceGet")
    A = driver.CUdevice_attribute
    major = _check(driver.cuDeviceGetAttribute(
        A.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "attribute")
    minor = _check(driver.cuDeviceGetAttribute(
        A.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "attribute")
    return f"sm_{major}{minor}"


def build(target, name, snippets, force=False, cache_only=False):
    """Kernels -> cubin (NVRTC, cached by hash); launcher -> host library.
    ``cache_only``: compile nothing (CompilerError if not cached)."""
    _, nvrtc = _bindings()
    arch = _device_arch()
    version = nvrtc.nvrtcVersion()[1:]
    key = hashlib.sha256((target.kernel_source + arch + str(version))
                         .encode()).hexdigest()[:20]
    cubin = cache_dir() / f"{name}_{key}.{arch}.cubin"
    hit = cubin.exists() and not force
    if not hit and cache_only:
        raise CompilerError(f"the cache {cache_dir()} holds no GPU binary of "
                            f"model '{name}' for {arch} (cache_only)")
    if not hit:
        (cache_dir() / f"{name}_{key}.cu").write_text(target.kernel_source)
        data = nvrtc_compile(target.kernel_source, name, arch, snippets)
        tmp = cubin.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cubin)
    target.cubin_path = cubin
    lib, lib_hit = build_library(target.launcher_source, name + "_cuda_host",
                                 HOST_FLAGS, snippets, force=force,
                                 cache_only=cache_only)
    return lib, hit and lib_hit


def _launch_kernel_address(driver):
    """Address of the driver's cuLaunchKernel, which the launcher calls.
    (A stand-in driver, as in tests/test_cuda_target.py, names its own.)"""
    addr = getattr(driver, "LAUNCH_KERNEL_ADDRESS", None)
    if addr:
        return addr
    libcuda = ctypes.CDLL("libcuda.so.1")
    return ctypes.cast(libcuda.cuLaunchKernel, ctypes.c_void_p).value


class DeviceRuntime:
    """One loaded model on the GPU: module, managed arrays, launcher."""

    def __init__(self, model, target, lib_path):
        self.m, self.target, self.lib_path = model, target, lib_path
        self.driver, _ = _bindings()
        self._allocs = {}          # cname -> (device pointer, numpy view)
        self._module = None

    def _managed(self, cname, host):
        d = self.driver
        nbytes = max(1, host.nbytes)
        ptr = _check(d.cuMemAllocManaged(
            nbytes, d.CUmemAttach_flags.CU_MEM_ATTACH_GLOBAL.value),
            f"cuMemAllocManaged({cname})")
        addr = int(ptr)
        buf = (ctypes.c_uint8 * nbytes).from_address(addr)
        view = np.frombuffer(buf, dtype=host.dtype,
                             count=host.size).reshape(host.shape)
        view[...] = host
        old = self._allocs.pop(cname, None)
        if old is not None:
            _check(d.cuMemFree(old[0]), "cuMemFree")
        self._allocs[cname] = (ptr, view)
        return addr, view

    def load(self, rec_steps):
        d, m = self.driver, self.m
        dev = _check(d.cuDeviceGet(0), "cuDeviceGet")
        self._ctx = _check(d.cuDevicePrimaryCtxRetain(dev),
                           "cuDevicePrimaryCtxRetain")
        self._dev = dev
        _check(d.cuCtxSetCurrent(self._ctx), "cuCtxSetCurrent")
        self._image = np.frombuffer(self.target.cubin_path.read_bytes(),
                                    np.uint8).copy()
        self._module = _check(d.cuModuleLoadData(self._image.ctypes.data),
                              "cuModuleLoadData")
        funcs = [_check(d.cuModuleGetFunction(self._module, k.encode()),
                        f"cuModuleGetFunction({k})")
                 for k in self.target.kernels]
        # every array once, in managed memory; the API's views point at it.
        # Managed memory beyond what the GPU has free can hang it: refuse.
        need = sum(a.nbytes for a in m._arrays.values()) + sum(
            e._values.nbytes for e in m._egps.values()
            if e._values is not None)
        free, _ = _check(d.cuMemGetInfo(), "cuMemGetInfo")
        if need > 0.8 * free:
            raise RuntimeError(
                f"backend 'cuda': the model needs {need / 2**20:.0f} MiB but "
                f"the GPU has {free / 2**20:.0f} MiB free; this runtime keeps "
                "every array in managed memory and does not oversubscribe it")
        for cname, host in list(m._arrays.items()):
            _, m._arrays[cname] = self._managed(cname, host)
        for g in m._groups():
            for v in g.all_variables():
                v._array = m._arrays[v.storage.cname]
        for pop in m.neuron_populations.values():
            if pop.spike_recording_enabled:
                pop._rec = m._arrays[f"{pop.name}_rec"]
        pointers = m._gen.pointers
        _, self._table = self._managed(
            "__pointers", np.zeros(max(1, len(pointers)), np.uint64))
        for k, cname in enumerate(pointers):
            if cname in m._arrays:
                self._table[k] = int(self._allocs[cname][0])
            elif cname in m._egps and m._egps[cname]._values is not None:
                # allocated once, here (as GeNN 5 does): the parameter's
                # view is the managed memory, push_to_device() copies nothing
                egp = m._egps[cname]
                self._table[k], egp._values = self._managed(cname, egp._values)
        params_addr, m._params = self._managed("__params", m._params)
        self._set_global("g_ptrs", np.uint64(
            int(self._allocs["__pointers"][0])))
        self._set_global("g_params", np.uint64(params_addr))
        self._set_global("g_seed", np.uint64(m._seed_used))
        self._set_global("g_dt", np.float64(m.dt))
        self._set_global("g_rec_steps", np.uint32(rec_steps))
        from ..model import _private_library
        lib = _private_library(self.lib_path)
        launch = _launch_kernel_address(d)
        self._fn_table = (ctypes.c_void_p * max(1, len(funcs)))(
            *[int(f) for f in funcs])
        lib.genn_cuda_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_double]
        lib.genn_cuda_init(launch, ctypes.cast(self._fn_table,
                                               ctypes.c_void_p), None, m.dt)
        lib.genn_run_steps.argtypes = [ctypes.c_uint64, ctypes.c_uint32,
                                       ctypes.c_int, ctypes.c_void_p,
                                       ctypes.c_int32]
        lib.genn_custom_update.argtypes = [ctypes.c_int32, ctypes.c_uint64,
                                           ctypes.c_int]
        self._prefetch()
        self.synchronize(0, "load")
        return lib

    def _prefetch(self):
        """Move every array to the GPU now rather than page by page at the
        first kernels (an optimisation: failures are ignored)."""
        d = self.driver
        for ptr, view in self._allocs.values():
            try:
                n = max(1, view.nbytes)
                try:                                   # CUDA 12's signature
                    err = d.cuMemPrefetchAsync(ptr, n, self._dev, 0)
                except TypeError:                      # CUDA 13's
                    loc = d.CUmemLocation()
                    loc.type = d.CUmemLocationType.CU_MEM_LOCATION_TYPE_DEVICE
                    loc.id = int(self._dev)
                    err = d.cuMemPrefetchAsync(ptr, n, loc, 0, 0)
                if int(err[0]) != 0:
                    return
            except Exception:
                return

    def _set_global(self, name, value):
        d = self.driver
        dptr, size = _check(d.cuModuleGetGlobal(self._module, name.encode()),
                            f"cuModuleGetGlobal({name})")
        data = np.array([value])
        if size != data.nbytes:
            raise RuntimeError(f"internal: global {name} has {size} bytes, "
                               f"not {data.nbytes}")
        _check(d.cuMemcpyHtoD(dptr, data.ctypes.data, data.nbytes),
               f"set {name}")

    def set_pointer(self, cname, array):
        """push_to_device() of an extra global parameter (e.g. the data set):
        its view is managed memory already (see load), or it is copied."""
        pointers = self.m._gen.pointers
        if cname not in pointers:
            return
        old = self._allocs.get(cname)
        if old is not None and old[1].ctypes.data == array.ctypes.data \
                and old[1].nbytes == array.nbytes:
            addr = int(old[0])          # the view itself: nothing to copy
        else:
            addr, _ = self._managed(cname, np.ascontiguousarray(array))
        self._table[pointers.index(cname)] = addr

    def synchronize(self, err, what):
        if err:
            _check(err, what)
        _check(self.driver.cuCtxSynchronize(), f"{what} (synchronize)")

    def close(self):
        d = self.driver
        try:
            d.cuCtxSynchronize()
            for ptr, _ in self._allocs.values():
                d.cuMemFree(ptr)
            self._allocs = {}
            if self._module is not None:
                d.cuModuleUnload(self._module)
                self._module = None
            d.cuDevicePrimaryCtxRelease(self._dev)
        except Exception:
            pass
