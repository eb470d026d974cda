"""GeNNModel: build a network, generate and compile it, and run it."""
import ctypes
import os
import secrets
import shutil
import tempfile
import warnings
import zlib

import numpy as np

from .builtins import resolve
from .codegen import Generator
from .enums import SynapseMatrixType
from .errors import CompilerError, DefinitionError
from .groups import CustomUpdate, NeuronGroup, SynapseGroup
from .snippets import PSMInit, SparseInit, VarInit, WUInit
from .targets.cpu import CpuTarget


def _private_library(path):
    """Load a private copy of a compiled model.

    dlopen returns the same handle for the same file, and the library's
    pointer table is global: two models of one structure would share it.
    Linux keeps the mapping after the copy is unlinked.
    """
    try:
        fd, tmp = tempfile.mkstemp(suffix=".so", prefix=".load_",
                                   dir=os.path.dirname(path))
    except OSError:     # a read-only cache: the copy goes to the temp folder
        fd, tmp = tempfile.mkstemp(suffix=".so", prefix=".genn_load_")
    try:
        with os.fdopen(fd, "wb") as f, open(path, "rb") as src:
            shutil.copyfileobj(src, f)
        return ctypes.CDLL(tmp)
    finally:
        os.unlink(tmp)


def _make_target(backend):
    """The code target of a backend name (the GPU is checked for here, so
    that a missing one is reported before any model is built)."""
    if backend in ("cuda", "cuda_emulated"):
        from .targets.cuda import CudaTarget
        if backend == "cuda":
            from .targets.cuda_runtime import check_device
            check_device()
        return CudaTarget(emulated=backend == "cuda_emulated")
    return CpuTarget()


class GeNNModel:
    """pygenn 5's GeNNModel, for the built-in C++ target.

    ``batch_size`` copies of the network run in parallel (one thread per
    batch slot); ``num_threads`` caps the threads (default: all cores).
    """

    def __init__(self, precision="float", model_name="model", backend=None,
                 time_precision="double", num_threads=None,
                 **preference_kwargs):
        if precision not in ("float", "double"):
            raise ValueError(f"precision must be 'float' or 'double', got "
                             f"{precision!r}")
        if backend is None:
            # GENN_ENGINE_BACKEND picks the default target (tests run whole
            # files on the emulated CUDA target this way)
            backend = os.environ.get("GENN_ENGINE_BACKEND") or None
        if time_precision != "double":
            raise ValueError("only time_precision='double' is supported")
        if backend not in (None, "cpu", "single_threaded_cpu", "cuda",
                           "cuda_emulated"):
            raise ValueError(f"unknown backend {backend!r} for the built-in "
                             "engine (cpu, single_threaded_cpu, cuda, "
                             "cuda_emulated); use genn_engine.get_backend("
                             "'genn') for real GeNN")
        if not str(model_name).isidentifier():
            raise ValueError(f"model_name must be an identifier, got "
                             f"{model_name!r}")
        self.precision = precision
        self.time_precision = time_precision
        self.model_name = model_name
        self.backend_name = backend or "cpu"
        self.num_threads = 1 if backend == "single_threaded_cpu" else (
            num_threads or os.cpu_count() or 1)
        # without an explicit count, small calls run on one thread: an
        # OpenMP region per step costs more than it saves (and far more on
        # a busy machine)
        self._threads_given = num_threads is not None or \
            backend == "single_threaded_cpu"
        self.dt = 0.1
        self.batch_size = 1
        self.seed = 0
        self.neuron_populations = {}
        self.synapse_populations = {}
        self.custom_updates = {}
        self._built = False
        self._loaded = False
        self._lib = None
        self._step1 = None
        self.timestep = 0
        self.build_cache_hit = None
        self._num_recording_timesteps = None
        self._target = _make_target(self.backend_name)
        self._device = None         # the GPU runtime of backend "cuda"
        self._seed_used = None

    # -- construction ----------------------------------------------------
    @property
    def synapse_groups(self):
        return self.synapse_populations

    def _check_new(self, name):
        if self._built:
            raise RuntimeError("the model is built; add groups before build()")
        if not str(name).isidentifier():
            raise DefinitionError(f"group name {name!r} must be an identifier")
        if name in self.neuron_populations or name in \
                self.synapse_populations or name in self.custom_updates:
            raise DefinitionError(f"a group named '{name}' already exists")

    def add_neuron_population(self, pop_name, num_neurons, neuron, params=None,
                              vars=None):
        self._check_new(pop_name)
        model = resolve(neuron, "neuron")
        pop = NeuronGroup(self, pop_name, num_neurons, model, params, vars)
        self.neuron_populations[pop_name] = pop
        return pop

    def add_synapse_population(self, pop_name, matrix_type, source, target,
                               weight_update_init, postsynaptic_init,
                               connectivity_init=None):
        self._check_new(pop_name)
        mt = matrix_type.value if isinstance(matrix_type, SynapseMatrixType) \
            else str(matrix_type)
        if mt not in ("DENSE", "SPARSE"):
            raise DefinitionError(f"matrix type {matrix_type!r} is not "
                                  "supported; use DENSE or SPARSE",
                                  population=pop_name)
        source = self._pop(source, pop_name)
        target = self._pop(target, pop_name)
        if not isinstance(weight_update_init, WUInit):
            raise DefinitionError("weight_update_init must come from "
                                  "init_weight_update(...)", population=pop_name)
        if not isinstance(postsynaptic_init, PSMInit):
            raise DefinitionError("postsynaptic_init must come from "
                                  "init_postsynaptic(...)", population=pop_name)
        if connectivity_init is not None and not isinstance(connectivity_init,
                                                            SparseInit):
            raise DefinitionError("connectivity_init must come from "
                                  "init_sparse_connectivity(...)",
                                  population=pop_name)
        if mt == "DENSE" and connectivity_init is not None:
            raise DefinitionError("DENSE synapse groups take no connectivity",
                                  population=pop_name)
        sg = SynapseGroup(self, pop_name, mt, source, target,
                          weight_update_init, postsynaptic_init,
                          connectivity_init)
        source.out_syn.append(sg)
        target.in_syn.append(sg)
        self.synapse_populations[pop_name] = sg
        return sg

    def _pop(self, p, where):
        if isinstance(p, str):
            if p not in self.neuron_populations:
                raise DefinitionError(f"no neuron population '{p}'",
                                      population=where)
            return self.neuron_populations[p]
        if not isinstance(p, NeuronGroup) or p.model_ref is not self:
            raise DefinitionError(f"{p!r} is not a population of this model",
                                  population=where)
        return p

    def add_custom_update(self, pop_name, group_name, custom_update_model,
                          params=None, vars=None, var_refs=None, egp_refs=None):
        self._check_new(pop_name)
        model = resolve(custom_update_model, "custom_update")
        cu = CustomUpdate(self, pop_name, group_name, model, params, vars,
                          var_refs, egp_refs)
        self.custom_updates[pop_name] = cu
        return cu

    # -- build and load --------------------------------------------------
    def _groups(self):
        return (list(self.neuron_populations.values())
                + list(self.synapse_populations.values())
                + list(self.custom_updates.values()))

    def build(self, path_to_model=".", force_rebuild=False, cache_only=False):
        """Generate and compile (or fetch from the cache) the model library.

        ``cache_only``: compile nothing; CompilerError if the cache holds no
        library of this model's code."""
        if int(self.batch_size) < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = int(self.batch_size)
        gen = Generator(self, self._target)
        self._source = gen.generate()
        self._gen = gen
        for g in self._groups():
            bad = [p for p in g.dynamic if p not in g.params]
            if bad:
                raise DefinitionError(f"unknown dynamic parameters {bad}",
                                      population=g.name)
        self._lib_path, self.build_cache_hit = self._target.build(
            self._source, self.model_name, gen.snippets, force=force_rebuild,
            cache_only=cache_only)
        self._built = True

    def _init_rng(self, group, what):
        if self._seed_used is None:
            self._seed_used = int(self.seed) or secrets.randbits(63)
        return np.random.default_rng(
            [self._seed_used, zlib.crc32(group.encode()),
             zlib.crc32(what.encode())])

    def load(self, num_recording_timesteps=None):
        if not self._built:
            raise RuntimeError("build() the model before load()")
        if any(p.spike_recording_enabled
               for p in self.neuron_populations.values()) \
                and not num_recording_timesteps:
            raise ValueError("spike recording is enabled: pass "
                             "load(num_recording_timesteps=...)")
        self._num_recording_timesteps = num_recording_timesteps
        self._seed_used = None
        self._init_rng("", "")
        B = self.batch_size
        arrays = {}

        def alloc(st, fill=0):
            arrays[st.cname] = np.full(st.shape(B), fill, dtype=st.dtype)
            return arrays[st.cname]

        for g in self._groups():
            for v in g.all_variables():
                arr = alloc(v.storage)
                self._initialise(g, v, arr)
                v._array = arr
        for pop in self.neuron_populations.values():
            alloc(pop.spk_cnt)
            alloc(pop.spk)
            if pop.spike_recording_enabled:
                pop._rec = np.zeros((num_recording_timesteps, B,
                                     pop.rec_words), np.uint32)
                arrays[f"{pop.name}_rec"] = pop._rec
        for sg in self.synapse_populations.values():
            for st in (sg.in_syn, sg.rev_in_syn, sg.ev_cnt, sg.ev):
                alloc(st)
            if not sg.dense:
                row, ind = sg._sparse
                arrays[f"{sg.name}_rowStart"] = row
                arrays[f"{sg.name}_ind"] = ind
                arrays[f"{sg.name}_preInd"] = sg.get_sparse_pre_inds() \
                    .astype(np.uint32)
        self._arrays = arrays
        self._ptr_table = (ctypes.c_void_p * max(1, len(self._gen.pointers)))()
        self._egps = {}
        for g in self._groups():
            egps = dict(g.extra_global_params)
            egps.update(getattr(g, "psm_extra_global_params", {}))
            for egp in egps.values():
                egp._model = self
                self._egps[egp.cname] = egp
        for k, cname in enumerate(self._gen.pointers):
            if cname in arrays:
                self._ptr_table[k] = arrays[cname].ctypes.data
            elif cname in self._egps:
                egp = self._egps[cname]
                if egp._values is not None:
                    self._ptr_table[k] = egp._values.ctypes.data
            else:
                raise RuntimeError(f"internal: no array for '{cname}'")
        self._params = np.zeros(max(1, len(self._gen.params)))
        for g in self._groups():
            self._update_params(g)
        if self.backend_name == "cuda":
            from .targets.cuda_runtime import DeviceRuntime
            self._device = DeviceRuntime(self, self._target, self._lib_path)
            self._lib = self._device.load(num_recording_timesteps or 1)
        else:
            self._load_library(num_recording_timesteps)
        self._step_cu_cache = {}
        self._egps_ready = False
        # element updates per time step: neurons and synapses of every slot
        self._step_work = B * (
            sum(p.num_neurons for p in self.neuron_populations.values())
            + sum(sg.n_syn for sg in self.synapse_populations.values()))
        self.timestep = 0
        self._step1 = None
        self._loaded = True

    def _load_library(self, num_recording_timesteps):
        """Load the host library (C++ target, emulated CUDA) and hand it the
        pointer table."""
        try:
            self._lib = _private_library(self._lib_path)
        except OSError as err:
            # passed the cache check but the loader refuses it: build anew
            # once, and name the cached file (not the deleted copy) if that fails
            warnings.warn(f"the cached model library {self._lib_path} cannot be "
                          f"loaded ({err}); building it again", RuntimeWarning,
                          stacklevel=3)
            self._lib_path, self.build_cache_hit = self._target.build(
                self._source, self.model_name, self._gen.snippets, force=True)
            try:
                self._lib = _private_library(self._lib_path)
            except OSError as err2:
                raise CompilerError(
                    f"cannot load the compiled model {self._lib_path}: {err2} "
                    f"(before rebuilding it: {err})") from None
        lib = self._lib
        lib.genn_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_uint64, ctypes.c_double,
                                  ctypes.c_uint32]
        lib.genn_run_steps.argtypes = [ctypes.c_uint64, ctypes.c_uint32,
                                       ctypes.c_int, ctypes.c_void_p,
                                       ctypes.c_int32]
        lib.genn_custom_update.argtypes = [ctypes.c_int32, ctypes.c_uint64,
                                           ctypes.c_int]
        if hasattr(lib, "genn_step"):
            lib.genn_step.argtypes = [ctypes.c_uint64]
            lib.genn_step.restype = None
        lib.genn_init(ctypes.cast(self._ptr_table, ctypes.c_void_p),
                      self._params.ctypes.data, self._seed_used, self.dt,
                      num_recording_timesteps or 1)

    def _initialise(self, group, var, arr):
        init = var.init
        if isinstance(init, VarInit):
            rng = self._init_rng(group.name, var.name)
            arr[...] = init.sample(rng, arr.shape, arr.dtype)
        else:
            val = np.asarray(init)
            if val.ndim == 0 or val.size == 1:
                arr[...] = val.ravel()[0] if val.ndim else val
            elif arr.ndim == 2 and val.shape == arr.shape:
                arr[...] = val
            else:
                arr[...] = val.reshape(-1)   # broadcast over batch slots

    def _set_pointer(self, cname, array):
        if self._device is not None:
            self._device.set_pointer(cname, array)
        elif cname in self._gen.pointers:
            self._ptr_table[self._gen.pointers.index(cname)] = \
                array.ctypes.data

    def _update_params(self, group):
        if not self._built or not hasattr(self, "_params"):
            return
        values = dict(group.params)
        values.update(group.derived_values(self.dt))
        for k, (gname, pname) in enumerate(self._gen.params):
            if gname == group.name:
                self._params[k] = values[pname]

    def unload(self):
        if self._device is not None:
            self._device.close()
            self._device = None
        for g in self._groups():
            for v in g.all_variables():
                v._array = None
        self._lib = None
        self._loaded = False

    # -- running ---------------------------------------------------------
    @property
    def t(self):
        return self.timestep * self.dt

    @t.setter
    def t(self, value):
        self.timestep = int(round(value / self.dt))

    def _check_loaded(self, egps=None):
        if not self._loaded:
            raise RuntimeError("load() the model first")
        if egps is None and self._egps_ready:
            return
        for egp in (self._egps.values() if egps is None else egps):
            if egp._values is None and egp.cname in self._gen.pointers:
                raise RuntimeError(f"extra global parameter '{egp.name}' of "
                                   f"'{egp.group.name}' has no values: call "
                                   "set_init_values() first")
        # EGPs cannot change after load(): once complete, always complete
        if egps is None:
            self._egps_ready = True

    # element updates below which one call runs on one thread
    SMALL_WORK = 200_000

    def _threads(self, work, per_slot=True):
        """Threads for a call of ``work`` element updates (at most one per
        batch slot where slots are what is split); one for small calls
        unless num_threads was given."""
        n = min(self.num_threads, self.batch_size) if per_slot \
            else self.num_threads
        if n > 1 and not self._threads_given and work < self.SMALL_WORK:
            return 1
        return max(1, n)

    def step_time(self):
        # the lean call once run_steps(1) has shown it applies (CPU, one
        # thread, no step custom updates); it is most of a small step's cost
        if self._step1 is not None and self._step1_threads == self.num_threads:
            self._step1(self.timestep)
            self.timestep += 1
            return
        self.run_steps(1)

    def run_steps(self, n_steps, step_custom_updates=()):
        """Advance ``n_steps`` in one compiled call.

        ``step_custom_updates`` names custom-update groups to run after every
        step inside the same call (e.g. a per-timestep softmax); they must be
        per-batch updates (no batch reductions, no writes to shared state).
        """
        self._check_loaded()
        ids, ptr = self._step_cus(tuple(step_custom_updates))
        n_steps = int(n_steps)
        threads = self._threads(n_steps * self._step_work)
        err = self._lib.genn_run_steps(self.timestep, n_steps, threads,
                                       ptr, len(ids))
        if self._device is not None:
            self._device.synchronize(err, "run_steps")
        elif n_steps == 1 and threads == 1 and not len(ids):
            self._step1 = getattr(self._lib, "genn_step", None)
            self._step1_threads = self.num_threads
        self.timestep += n_steps

    def _step_cus(self, groups):
        if groups in self._step_cu_cache:
            return self._step_cu_cache[groups]
        ids = []
        for gname in groups:
            cus = [cu for cu in self.custom_updates.values()
                   if cu.update_group_name == gname]
            if not cus:
                raise KeyError(f"no custom update group '{gname}'")
            for cu in cus:
                _, kind, slot = self._gen.cu_kinds[cu.name]
                if kind != "per_batch":
                    raise DefinitionError(
                        f"custom update '{cu.name}' reduces over the batch or "
                        "only touches shared variables, so it cannot run "
                        "inside the time-step loop; call custom_update() "
                        "instead", population=cu.name)
                ids.append(slot)
        arr = np.array(ids, np.int32)
        # the pointer is taken once: a per-call .ctypes costs microseconds
        self._step_cu_cache[groups] = (arr, arr.ctypes.data)
        return self._step_cu_cache[groups]

    def custom_update(self, name):
        cus = [cu for cu in self.custom_updates.values()
               if cu.update_group_name == name]
        self._check_loaded([e for cu in cus for e in
                            list(cu.egp_refs.values())
                            + list(cu.extra_global_params.values())])
        if not cus:
            groups = sorted({cu.update_group_name
                             for cu in self.custom_updates.values()})
            raise KeyError(f"no custom update group '{name}'; groups: "
                           f"{groups}")
        for cu in cus:
            k = self._gen.cu_kinds[cu.name][0]
            err = self._lib.genn_custom_update(
                k, self.timestep, self._threads(cu.size * self.batch_size,
                                                per_slot=False))
            if self._device is not None:
                self._device.synchronize(err, f"custom update '{cu.name}'")

    def pull_recording_buffers_from_device(self):
        pass
