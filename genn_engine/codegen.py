"""Turn a GeNNModel into one C++ source file.

Model code strings are checked and renamed by ``code.translate`` into
element bodies; the target wraps them in loops and entry points.
"""
import re
import zlib

from .code import Symbol, Where, top_level_locals, translate, written_names
from .enums import reduction_op
from .errors import DefinitionError
from .event_source import is_event_source
from .references import ref_reduction

RNG_FUNCS = ("gennrand_uniform", "gennrand_normal", "gennrand_exponential")


class Function:
    """One generated C++ function: declarations are collected, then the body."""

    def __init__(self, gen, name, kind):
        self.gen = gen
        self.name = name
        self.kind = kind            # what the target makes of it (see targets)
        self.signature = gen.target.signature(name, kind)
        self.decls = {}
        self.body = []

    def ptr(self, storage_or_cname, ctype=None):
        if isinstance(storage_or_cname, str):
            cname, ct = storage_or_cname, ctype
        else:
            cname, ct = storage_or_cname.cname, storage_or_cname.ctype
        k = self.gen.pointer(cname)
        self.decls[cname] = (f"{ct}* {self.gen.target.restrict} {cname} = "
                             f"({ct}*)g_ptrs[{k}];")
        return cname

    def param(self, group, name, ctype="scalar"):
        k = self.gen.param_slot(group, name)
        local = f"p{k}_{name}"
        self.decls[local] = f"const {ctype} {local} = ({ctype})g_params[{k}];"
        return local

    def text(self):
        lines = [self.signature + " {"]
        lines += ["    " + d for d in self.decls.values()]
        lines += ["    " + line for line in self.body]
        lines.append("}")
        return "\n".join(lines)


class Connectivity:
    """A synapse group's matrix as loops see it: dense, or CSR rows."""

    def __init__(self, dense, n_pre, n_post, n_syn):
        self.dense, self.n_pre, self.n_post, self.n_syn = \
            dense, n_pre, n_post, n_syn
        self.row = self.ind = self.pre_ind = None   # CSR pointer names


class Generator:
    def __init__(self, model, target):
        self.m = model
        self.target = target
        self.prec = model.precision
        self.B = model.batch_size
        self.pointers = []          # cnames, in pointer-table order
        self.params = []            # (group, name), in parameter-array order
        self.snippets = {}          # file label -> code string, for errors
        self.functions = []

    # -- registries -----------------------------------------------------
    def pointer(self, cname):
        if cname not in self.pointers:
            self.pointers.append(cname)
        return self.pointers.index(cname)

    def param_slot(self, group, name):
        key = (group.name, name)
        if key not in self.params:
            self.params.append(key)
        return self.params.index(key)

    # -- code strings ---------------------------------------------------
    def block(self, code, env, where, expression=False):
        """Translated code with #line so compiler errors point at the snippet."""
        cpp, used = translate(code, env, self.prec, where, expression)
        label = f"{where.population}/{where.field}"
        self.snippets[label] = code
        if expression:
            return cpp.replace("\n", " ").strip(), used
        return [f'#line 1 "{label}"'] + cpp.split("\n") + ["#line 1 \"generated\""], used

    def common_env(self, fn, group, models):
        env = {
            "t": Symbol("t", kind="builtin", type="timepoint"),
            "dt": Symbol("((scalar)g_dt)", kind="builtin"),
            "batch": Symbol("b", kind="builtin", type="unsigned int"),
            "num_batch": Symbol(str(self.B), kind="builtin",
                                type="unsigned int"),
        }
        for prefix, model in models:
            for name, typ in model.params:
                env[name] = _LazyParam(fn, group, prefix + name,
                                       _ctype(typ))
            for name, _ in model.derived_params:
                env[name] = _LazyParam(fn, group, prefix + name, "scalar")
            for name, typ in model.egps:
                egp = (group.psm_extra_global_params[name] if prefix == "psm_"
                       else group.extra_global_params[name])
                env[name] = _LazyPtr(fn, egp.cname, _ctype(typ.rstrip("*")),
                                     kind="egp")
        return env

    def rng_env(self, env, rng_name, group, field, element):
        gid = zlib.crc32(f"{group.name}/{field}".encode()) & 0x7FFFFFFF
        init = (f"PhiloxStream {rng_name}(g_seed, {gid}u, (uint32_t)({element}),"
                f" b, timestep);")
        for f in RNG_FUNCS:
            kind = f.split("_")[1]
            env[f] = Symbol(f"{rng_name}.{kind}<scalar>", kind="func")
        return init

    def emit_code(self, lines, code, env, where, rng=None):
        """Append a translated statement block, with an RNG stream if it is used."""
        if not code:
            return set()
        if rng is not None:
            init = self.rng_env(env, *rng)
        body, used = self.block(code, env, where)
        lines.append("{")
        if rng is not None and used & set(RNG_FUNCS):
            lines.append("    " + init)
        for name in sorted(used):
            sym = env[name]
            if isinstance(sym, _Lambda):
                lines.append("    " + sym.definition)
        lines += ["    " + line for line in body]
        lines.append("}")
        return used

    # -- whole model ----------------------------------------------------
    def generate(self):
        m = self.m
        step_fns = []
        for sg in m.synapse_groups.values():
            step_fns += self.synapse_update(sg)
        for pop in m.neuron_populations.values():
            step_fns.append(self.neuron_update(pop))
        self.cu_kinds = {}
        cus = []
        n_batch = 0
        for k, cu in enumerate(m.custom_updates.values()):
            kind, fn = self.custom_update(cu, k)
            self.cu_kinds[cu.name] = (k, kind, n_batch)
            n_batch += kind == "per_batch"
            cus.append((k, kind, fn))
        return self.target.assemble(self, step_fns, cus)

    # -- neurons --------------------------------------------------------
    def var_symbols(self, fn, env, variables, local_prefix, b="b", i="i",
                    lines=None, writeback=None, written=None, stores=None):
        """Load variables into locals; record write-backs for writable ones
        (only for those in ``written`` when it is given), and in ``stores``
        each as (array element, local, C type)."""
        for v in variables:
            st = v.storage
            arr = fn.ptr(st)
            local = f"{local_prefix}{v.name}"
            writable = v.access.name in ("READ_WRITE", "READ_WRITE_SHARED",
                                         "READ_WRITE_SHARED_NEURON")
            env[v.name] = Symbol(local, writable=writable, kind="variable",
                                 type=v.type)
            lines.append(f"{'' if writable else 'const '}{st.ctype} {local} = "
                         f"{arr}[{st.index(b, i)}];")
            if writable and writeback is not None and (
                    written is None or v.name in written):
                writeback.append(f"{arr}[{st.index(b, i)}] = {local};")
                if stores is not None:
                    stores.append((f"{arr}[{st.index(b, i)}]", local, st.ctype))

    def neuron_update(self, pop):
        name = f"neuron_update_{pop.name}"
        fn = Function(self, name, "neuron")
        self.functions.append(fn)
        model = pop.model
        N = pop.num_neurons
        # per batch slot: ``setup`` declares, ``resets`` clear the spike
        # lists and this step's recording row before any neuron runs
        spk_cnt, spk = fn.ptr(pop.spk_cnt), fn.ptr(pop.spk)
        setup, resets = [], [f"{spk_cnt}[b] = 0;"]
        for sg in pop.out_syn:
            if sg.wu.model.code.get("pre_event_threshold_condition_code"):
                resets.append(f"{fn.ptr(sg.ev_cnt)}[b] = 0;")
        rec = None
        if pop.spike_recording_enabled:
            rec = fn.ptr(f"{pop.name}_rec", "uint32_t")
            W = pop.rec_words
            setup.append(f"uint32_t* {self.target.restrict} rec = {rec} + "
                         f"((size_t)(timestep % g_rec_steps) * BATCH + b) "
                         f"* {W};")
            resets.append(f"for (unsigned w = 0; w < {W}u; w++) rec[w] = 0;")
        if is_event_source(model):
            # work per batch slot and event, not per neuron
            self.target.slot_loop(fn, setup, resets,
                                  self.event_source_body(fn, pop, rec is not None))
            return fn
        body = []
        env = self.common_env(fn, pop, [("", model)])
        env["id"] = Symbol("i", kind="builtin", type="unsigned int")
        env["num_neurons"] = Symbol(str(N), kind="builtin")
        writeback, stores = [], []
        self.var_symbols(fn, env, pop.vars.values(), "l_", lines=body,
                         writeback=writeback,
                         written=self.neuron_vars_written(pop), stores=stores)
        body.append("scalar Isyn = 0;")
        env["Isyn"] = Symbol("Isyn", writable=True, kind="input")
        for iname, ityp, init in model.extra["additional_input_vars"]:
            body.append(f"{_ctype(ityp)} ai_{iname} = {_literal(init)};")
            env[iname] = Symbol(f"ai_{iname}", writable=True, kind="input")
        var_locals = {v: env[v].cpp for v in pop.vars}
        # Inputs: postsynaptic models of incoming groups, addToPre of outgoing.
        for sg in pop.in_syn:
            body += self.postsynaptic(fn, sg, env, var_locals)
        for sg in pop.out_syn:
            if sg.uses_add_to_pre:
                rev = fn.ptr(sg.rev_in_syn)
                tgt = self.target_var(sg, sg.pre_target_var, env, pop)
                idx = sg.rev_in_syn.index("b", "i")
                body += [f"{tgt} += {rev}[{idx}];", f"{rev}[{idx}] = 0;"]
        wu_hooks = self.wu_neuron_hooks(fn, pop, var_locals)
        body += wu_hooks["dynamics"]
        # GeNN 5: sim, threshold and reset code share one scope; threshold
        # and reset see the sim code's top-level locals (and may not redeclare them)
        scope, scope_used = [], set()
        sim = model.code.get("sim_code")
        rng_init = self.rng_env(env, "_rng", pop, "sim_code", "i")
        if sim:
            lines, used = self.block(sim, env, Where(model.class_name, pop.name,
                                                     "sim_code"))
            scope += lines
            scope_used |= used
            env = dict(env, **{n: Symbol(n, writable=True, kind="local of sim_code")
                               for n in top_level_locals(sim)})
        # Spike-like events of outgoing synapse groups.
        for expr, ev_cnt, ev in self.event_conditions(fn, pop, var_locals):
            scope.append(f"if ({expr}) {{ {ev}[(size_t)b * {N} + "
                         f"{self.target.append_slot(f'{ev_cnt}[b]')}] = "
                         "(uint32_t)i; }")
        thresh = model.code.get("threshold_condition_code")
        if thresh:
            expr, used = self.block(thresh, env, Where(
                model.class_name, pop.name, "threshold_condition_code"),
                expression=True)
            scope_used |= used
            emit = [f"{spk}[(size_t)b * {N} + "
                    f"{self.target.append_slot(f'{spk_cnt}[b]')}] = "
                    "(uint32_t)i;"]
            if rec:
                emit.append(self.target.set_bit("rec[i / 32]",
                                                "1u << (i % 32)"))
            on_spike = []
            self.emit_code(on_spike, model.code.get("reset_code"), dict(env),
                           Where(model.class_name, pop.name, "reset_code"),
                           rng=("_rng_r", pop, "reset_code", "i"))
            on_spike += wu_hooks["spike"]
            # spikes appended in a second pass only pay where the first
            # (the state update) can become a vector loop: straight-line
            # code, or code whose only obstacle is a random draw in a
            # neuron that owns all it writes (a spike source, e.g. Poisson)
            draws = bool(scope_used & set(RNG_FUNCS))
            straight = _straight_line(body + scope + on_spike + [expr],
                                      allow_rng=draws)
            deferred = straight and (not draws or (
                not pop.in_syn and not wu_hooks["dynamics"]
                and not wu_hooks["spike"] and "_rng" not in "".join(on_spike)
                and not any(sg.uses_add_to_pre for sg in pop.out_syn)))
            scope += self.target.threshold(expr, emit, on_spike, deferred)
        elif model.code.get("reset_code"):
            raise DefinitionError("reset_code without threshold_condition_code",
                                  model=model.class_name, population=pop.name)

        def element(rng_line, stores_to):
            lines = list(body)
            if scope:
                lines.append("{")
                if scope_used & set(RNG_FUNCS):
                    lines.append("    " + rng_line)
                lines += ["    " + env[n].definition for n in sorted(scope_used)
                          if isinstance(env.get(n), _Lambda)]
                lines += ["    " + line for line in scope]
                lines.append("}")
            return lines + stores_to
        exact = element(rng_init, writeback)
        speculative = None
        if thresh and deferred and draws:
            # a random draw is rare (Poisson: one per spike): a vector pass
            # over a block whose draws only count (RngProbe) keeps its
            # results unless something was drawn; then the block runs again,
            # drawing, one neuron at a time
            speculative = (element("RngProbe _rng{_need};",
                                   [f"_wb_{loc}[i - _s0] = {loc};"
                                    for _, loc, _ in stores]),
                           [(ct, f"_wb_{loc}") for _, loc, ct in stores],
                           [f"{el} = _wb_{loc}[i - _s0];"
                            for el, loc, _ in stores])
        self.target.neuron_loop(fn, N, setup, resets, exact,
                                emit if thresh and deferred else None,
                                speculative)
        return fn

    def event_conditions(self, fn, pop, var_locals):
        """(condition, event count, event list) of each outgoing synapse
        group with spike-like events, its presynaptic names bound to
        ``var_locals``."""
        out = []
        for sg in pop.out_syn:
            cond = sg.wu.model.code.get("pre_event_threshold_condition_code")
            if not cond:
                continue
            cenv = self.common_env(fn, sg, [("", sg.wu.model)])
            cenv["id_pre"] = Symbol("i", kind="builtin")
            self.wu_pre_symbols(fn, sg, cenv, var_locals, neuron_side=True)
            expr, _ = self.block(cond, cenv, Where(
                sg.wu.model.class_name, sg.name,
                "pre_event_threshold_condition_code"), expression=True)
            out.append((expr, fn.ptr(sg.ev_cnt), fn.ptr(sg.ev)))
        return out

    def event_source_body(self, fn, pop, recording):
        """One batch slot's step of an event-driven spike source
        (genn_engine/event_source.py): emit the segment's due events, record
        them, and replay the previous segment's record backwards as
        spike-like events. Work is proportional to the events."""
        model = pop.model
        if pop.in_syn:
            raise DefinitionError("an event source takes no synaptic input",
                                  model=model.class_name, population=pop.name)
        for sg in pop.out_syn:
            hooks = [f for f in ("pre_spike_code", "pre_dynamics_code")
                     if sg.wu.model.code.get(f)]
            if hooks or sg.pre_vars:
                raise DefinitionError(
                    "presynaptic weight-update variables and code "
                    f"({hooks or list(sg.pre_vars)}) are not supported on an "
                    "event source", model=sg.wu.model.class_name,
                    population=sg.name)
        N = pop.num_neurons
        R = self.target.restrict
        spk_cnt, spk = fn.ptr(pop.spk_cnt), fn.ptr(pop.spk)
        v = {n: fn.ptr(pop.vars[n].storage) for n in pop.vars}
        egp = {n: fn.ptr(e.cname, _ctype(e.type.rstrip("*")))
               for n, e in pop.extra_global_params.items()
               if n in ("eventStep", "eventUnit", "recordStep", "recordUnit")}
        p_drop = fn.param(pop, "p_drop", "scalar")
        replay_end = fn.param(pop, "replay_end", "int")
        cap = fn.param(pop, "record_capacity", "int")
        gid = zlib.crc32(f"{pop.name}/events".encode()) & 0x7FFFFFFF
        # spike-like events: the weight update's condition, with this
        # population's per-slot variables and back_spike = 1
        var_locals = {n: f"{v[n]}[b]" for n in pop.vars}
        var_locals["back_spike"] = "((uint8_t)1)"
        # the slot's own lists: a plain increment, no atomics
        raise_events = [f"if ({expr}) {{ {ev}[(size_t)b * {N} + "
                        f"{ev_cnt}[b]++] = i; }}"
                        for expr, ev_cnt, ev in
                        self.event_conditions(fn, pop, var_locals)]
        rec_bit = ["rec[i / 32] |= 1u << (i % 32);"] if recording else []
        return [
            f"int l_step = {v['step']}[b];",
            f"uint32_t cur = {v['startEvent']}[b];",
            f"const uint32_t cend = {v['endEvent']}[b];",
            f"int n_rec = {v['nRecord']}[b];",
            f"int n_rep = {v['nReplay']}[b];",
            f"int par = {v['parity']}[b];",
            f"const size_t cap = (size_t)({cap} > 0 ? {cap} : 0);",
            "// a segment starts: the record of the last one is replayed",
            "if (l_step == 0) { n_rep = n_rec; n_rec = 0; par = 1 - par; }",
            f"int* {R} rs = {egp['recordStep']} + ((size_t)b * 2 + par) * cap;",
            f"uint16_t* {R} ru = {egp['recordUnit']} + ((size_t)b * 2 + par) * cap;",
            f"uint32_t* {R} out = {spk} + (size_t)b * {N};",
            "uint32_t n_spk = 0;",
            f"while (cur < cend && {egp['eventStep']}[cur] <= l_step) {{",
            f"    const uint32_t i = {egp['eventUnit']}[cur];",
            "    const uint32_t e = cur++;",
            f"    if ({p_drop} > 0) {{",
            f"        PhiloxStream rng(g_seed, {gid}u, e, b, timestep);",
            f"        if (rng.uniform<scalar>() < {p_drop}) continue;",
            "    }",
            "    out[n_spk++] = i;",
            *["    " + x for x in rec_bit],
            "    if ((size_t)n_rec < cap) { rs[n_rec] = l_step; "
            "ru[n_rec] = (uint16_t)i; n_rec++; }",
            f"    else {{ {v['overflow']}[b]++; }}",
            "}",
            f"{spk_cnt}[b] = n_spk;",
            "// replay backwards: recorded at step n -> events in step replay_end - n",
            f"const int* {R} ps = {egp['recordStep']} + ((size_t)b * 2 + 1 - par) * cap;",
            f"const uint16_t* {R} pu = {egp['recordUnit']} + ((size_t)b * 2 + 1 - par) * cap;",
            f"const int due = {replay_end} - l_step;",
            "while (n_rep > 0 && ps[n_rep - 1] >= due) {",
            "    n_rep--;",
            "    if (ps[n_rep] == due) {",
            "        const uint32_t i = pu[n_rep];",
            *["        " + x for x in raise_events],
            "    }",
            "}",
            f"{v['step']}[b] = l_step + 1;",
            f"{v['startEvent']}[b] = cur;",
            f"{v['nRecord']}[b] = n_rec;",
            f"{v['nReplay']}[b] = n_rep;",
            f"{v['parity']}[b] = par;",
        ]

    def neuron_vars_written(self, pop):
        """Variables of ``pop`` that any code running in its update may assign."""
        names = list(pop.vars)
        codes = [pop.model.code.get(f) for f in
                 ("sim_code", "reset_code", "threshold_condition_code")]
        written = set()
        for c in codes:
            written |= written_names(c, names)
        refs = [r for sg in pop.in_syn for r in sg.psm_var_refs.values()]
        refs += [r for sg in pop.out_syn for r in sg.pre_var_refs.values()]
        refs += [r for sg in pop.in_syn for r in sg.post_var_refs.values()]
        written |= {ref.var_name for decl, ref in refs
                    if decl.access.name == "READ_WRITE"}
        return written

    def target_var(self, sg, target, env, pop):
        if target not in env or env[target].kind != "input":
            inputs = ["Isyn"] + [n for n, _, _ in
                                 pop.model.extra["additional_input_vars"]]
            raise DefinitionError(f"target variable '{target}' is not an input"
                                  f" of population '{pop.name}' (inputs: "
                                  f"{inputs})", population=sg.name)
        return env[target].cpp

    def postsynaptic(self, fn, sg, neuron_env, var_locals):
        psm = sg.psm.model
        env = self.common_env(fn, sg, [("psm_", psm)])
        env["id"] = Symbol("i", kind="builtin")
        lines = ["{"]
        in_syn = fn.ptr(sg.in_syn)
        idx = sg.in_syn.index("b", "i")
        body = [f"scalar l_inSyn = {in_syn}[{idx}];"]
        env["inSyn"] = Symbol("l_inSyn", writable=True, kind="variable")
        wb = []
        self.var_symbols(fn, env, sg.psm_vars.values(), "lp_", lines=body,
                         writeback=wb)
        for rname, (decl, ref) in sg.psm_var_refs.items():
            env[rname] = Symbol(var_locals[ref.var_name],
                                writable=decl.access.name == "READ_WRITE",
                                kind="variable reference")
        tgt = self.target_var(sg, sg.post_target_var, neuron_env, sg.trg)
        env["injectCurrent"] = _Lambda(
            "_inject", f"auto _inject = [&](scalar x) {{ {tgt} += x; }};")
        self.emit_code(body, psm.code.get("sim_code"), env,
                       Where(psm.class_name, sg.name, "postsynaptic sim_code"),
                       rng=("_rng_psm", sg, "psm", "i"))
        body.append(f"{in_syn}[{idx}] = l_inSyn;")
        body += wb
        lines += ["    " + line for line in body]
        lines.append("}")
        return lines

    def _shared_kind(self, kind, neuron_side):
        """(may write, kind) of per-neuron state seen from synapse code: a
        target whose synapse threads share neurons (CUDA) keeps it
        read-only there."""
        if neuron_side or getattr(self.target, "synapse_code_writes_neurons",
                                  True):
            return True, kind
        return False, (f"{kind} (on the {self.target.name} target synapse "
                       "code only reads neuron state)")

    def wu_pre_symbols(self, fn, sg, env, var_locals, neuron_side, b="b",
                       i="i"):
        """Presynaptic neuron var refs and WU pre vars, by side of the code."""
        may, ref_kind = self._shared_kind("variable reference", neuron_side)
        for rname, (decl, ref) in sg.pre_var_refs.items():
            writable = decl.access.name == "READ_WRITE" and may
            if neuron_side:
                env[rname] = Symbol(var_locals[ref.var_name], writable,
                                    ref_kind)
            else:
                st = ref.storage
                env[rname] = Symbol(f"{fn.ptr(st)}[{st.index(b, i)}]",
                                    writable, ref_kind)
        may, var_kind = self._shared_kind("variable", neuron_side)
        for v in sg.pre_vars.values():
            st = v.storage
            env[v.name] = Symbol(f"{fn.ptr(st)}[{st.index(b, i)}]",
                                 v.access.name == "READ_WRITE" and may,
                                 var_kind)

    def wu_post_symbols(self, fn, sg, env, var_locals, neuron_side, b="b",
                        j="j"):
        may, ref_kind = self._shared_kind("variable reference", neuron_side)
        for rname, (decl, ref) in sg.post_var_refs.items():
            writable = decl.access.name == "READ_WRITE" and may
            if neuron_side:
                env[rname] = Symbol(var_locals[ref.var_name], writable,
                                    ref_kind)
            else:
                st = ref.storage
                env[rname] = Symbol(f"{fn.ptr(st)}[{st.index(b, j)}]",
                                    writable, ref_kind)
        may, var_kind = self._shared_kind("variable", neuron_side)
        for v in sg.post_vars.values():
            st = v.storage
            env[v.name] = Symbol(f"{fn.ptr(st)}[{st.index(b, j)}]",
                                 v.access.name == "READ_WRITE" and may,
                                 var_kind)

    def wu_neuron_hooks(self, fn, pop, var_locals):
        """WU pre/post dynamics and spike code that runs in the neuron loop."""
        hooks = {"dynamics": [], "spike": []}
        sides = [(sg, "pre") for sg in pop.out_syn] + \
                [(sg, "post") for sg in pop.in_syn]
        for sg, side in sides:
            wu = sg.wu.model
            for kind in ("dynamics", "spike"):
                field = f"{side}_{kind}_code"
                code = wu.code.get(field)
                if not code:
                    continue
                env = self.common_env(fn, sg, [("", wu)])
                env["id"] = Symbol("i", kind="builtin")
                if side == "pre":
                    self.wu_pre_symbols(fn, sg, env, var_locals, True)
                else:
                    self.wu_post_symbols(fn, sg, env, var_locals, True,
                                         j="i")
                self.emit_code(hooks[kind], code, env,
                               Where(wu.class_name, sg.name, field),
                               rng=(f"_rng_{side}{kind}", sg, field, "i"))
        return hooks

    # -- synapses -------------------------------------------------------
    def synapse_env(self, fn, sg, row_acc=False):
        """``row_acc``: addToPre adds to ``_lpre``, a register the target's
        presynaptic loop declares per row and adds to revInSyn once."""
        wu = sg.wu.model
        env = self.common_env(fn, sg, [("", wu)])
        env["id_pre"] = Symbol("i", kind="builtin")
        env["id_post"] = Symbol("j", kind="builtin")
        env["id_syn"] = Symbol("syn", kind="builtin")
        env["num_pre"] = Symbol(str(sg.src.num_neurons), kind="builtin")
        env["num_post"] = Symbol(str(sg.trg.num_neurons), kind="builtin")
        for v in sg.vars.values():
            st = v.storage
            env[v.name] = Symbol(f"{fn.ptr(st)}[{st.index('b', 'syn')}]",
                                 v.access.name == "READ_WRITE", "variable",
                                 v.type)
        self.wu_pre_symbols(fn, sg, env, None, False)
        self.wu_post_symbols(fn, sg, env, None, False)
        in_syn = fn.ptr(sg.in_syn)
        acc = self.target.accumulate
        env["addToPost"] = _Lambda(
            "_addToPost", f"auto _addToPost = [&](scalar x) {{ "
                          + acc(f"{in_syn}[{sg.in_syn.index('b', 'j')}]", "x")
                          + " };")
        if sg.uses_add_to_pre:
            target = "_lpre" if row_acc else self._rev_target(fn, sg)
            env["addToPre"] = _Lambda(
                "_addToPre", "auto _addToPre = [&](scalar x) { "
                             + (f"{target} += x;" if row_acc else acc(target, "x"))
                             + " };")
        return env

    @staticmethod
    def _rev_target(fn, sg):
        return f"{fn.ptr(sg.rev_in_syn)}[{sg.rev_in_syn.index('b', 'i')}]"

    def connectivity(self, fn, sg):
        """What a target needs to know to walk a synapse group's matrix."""
        c = Connectivity(sg.dense, sg.src.num_neurons, sg.trg.num_neurons,
                         sg.n_syn)
        if not sg.dense:
            c.row = fn.ptr(f"{sg.name}_rowStart", "uint32_t")
            c.ind = fn.ptr(f"{sg.name}_ind", "uint32_t")
        return c

    def synapse_update(self, sg):
        """One function per kind of synaptic work (spikes, events, post
        spikes, dynamics), in that order: a target may run each with its own
        parallel layout."""
        wu = sg.wu.model
        fns = []
        for field, cnt_st, lst_st in (
                ("pre_spike_syn_code", sg.src.spk_cnt, sg.src.spk),
                ("pre_event_syn_code", sg.ev_cnt, sg.ev)):
            code = wu.code.get(field)
            if not code:
                continue
            fn = self._synapse_fn(sg, field)
            # a row has one presynaptic neuron: its addToPre sum can stay in
            # a register (targets whose threads split rows keep atomics)
            row_acc = sg.uses_add_to_pre and self.target.row_accumulates_pre
            inner = self._synapse_body(fn, sg, field, code, row_acc)
            self.target.presynaptic_loop(
                fn, self.connectivity(fn, sg), fn.ptr(cnt_st), fn.ptr(lst_st),
                inner, pre_acc=self._rev_target(fn, sg) if row_acc else None)
            fns.append(fn)
        code = wu.code.get("post_spike_syn_code")
        if code:
            if not sg.dense:
                raise DefinitionError("post_spike_syn_code needs DENSE "
                                      "connectivity in this engine",
                                      model=wu.class_name, population=sg.name)
            fn = self._synapse_fn(sg, "post_spike_syn_code")
            inner = self._synapse_body(fn, sg, "post_spike_syn_code", code)
            self.target.postsynaptic_loop(fn, self.connectivity(fn, sg),
                                          fn.ptr(sg.trg.spk_cnt),
                                          fn.ptr(sg.trg.spk), inner)
            fns.append(fn)
        code = wu.code.get("synapse_dynamics_code")
        if code:
            fn = self._synapse_fn(sg, "synapse_dynamics_code")
            inner = self._synapse_body(fn, sg, "synapse_dynamics_code", code)
            c = self.connectivity(fn, sg)
            if not sg.dense:
                c.pre_ind = fn.ptr(f"{sg.name}_preInd", "uint32_t")
            self.target.synapse_dynamics_loop(fn, c, inner)
            fns.append(fn)
        return fns

    def _synapse_fn(self, sg, field):
        short = field.replace("_syn_code", "").replace("_code", "")
        fn = Function(self, f"synapse_update_{sg.name}_{short}", "synapse")
        fn.group = sg.name
        self.functions.append(fn)
        return fn

    def _synapse_body(self, fn, sg, field, code, row_acc=False):
        env = self.synapse_env(fn, sg, row_acc)
        inner = []
        self.emit_code(inner, code, env, Where(sg.wu.model.class_name,
                                               sg.name, field),
                       rng=("_rng", sg, field, "syn"))
        return inner

    # -- custom updates -------------------------------------------------
    def custom_update(self, cu, k):
        model = cu.model
        where = Where(model.class_name, cu.name, "update_code")
        reds = []          # (symbol, op, kind, storage)
        for v in cu.vars.values():
            op = reduction_op(v.access)
            if op:
                kind = "batch" if v.access.name.startswith("REDUCE_BATCH") \
                    else "neuron"
                reds.append((v.name, op, kind, v.storage))
        for rname, (decl, ref) in cu.var_refs.items():
            kind = ref_reduction(decl, ref)
            if kind:
                reds.append((rname, reduction_op(decl.access), kind,
                             ref.storage))
        kinds = {r[2] for r in reds}
        if len(kinds) > 1:
            raise DefinitionError("a custom update cannot reduce over both "
                                  "the batch and neurons", model=model.class_name,
                                  population=cu.name)
        if "neuron" in kinds and cu.element_kind != "neuron":
            raise DefinitionError("neuron reductions need a custom update over"
                                  " neuron variables", model=model.class_name,
                                  population=cu.name)
        red_kind = kinds.pop() if kinds else None
        if red_kind == "batch":
            kind = "global_batch_reduce"
        elif cu.batched or red_kind == "neuron":
            kind = "per_batch"
        else:
            kind = "shared"
        cu.exec_kind = kind
        name = f"custom_update_{k}_{cu.name}"
        fn = Function(self, name, "cu_" + kind)
        self.functions.append(fn)

        env = self.common_env(fn, cu, [("", model)])
        for n, egp in cu.egp_refs.items():
            env[n] = _LazyPtr(fn, egp.cname, _ctype(egp.type.rstrip("*")),
                              kind="egp")
        env["id"] = Symbol("i", kind="builtin")
        if cu.element_kind == "neuron":
            env["num_neurons"] = Symbol(str(cu.size), kind="builtin")
        else:
            env["id_syn"] = Symbol("i", kind="builtin")
            env["id_pre"] = Symbol("id_pre", kind="builtin")
            env["id_post"] = Symbol("id_post", kind="builtin")
        red_names = {r[0] for r in reds}
        load, writeback = [], []
        for v in cu.vars.values():
            if v.name in red_names:
                continue
            self.var_symbols(fn, env, [v], "l_", lines=load,
                             writeback=writeback)
        for rname, (decl, ref) in cu.var_refs.items():
            if rname in red_names:
                continue
            st = ref.storage
            arr = fn.ptr(st)
            writable = decl.access.name == "READ_WRITE"
            local = f"r_{rname}"
            env[rname] = Symbol(local, writable, "variable reference",
                                decl.type)
            load.append(f"{'' if writable else 'const '}{st.ctype} {local} = "
                        f"{arr}[{st.index('b', 'i')}];")
            if writable:
                writeback.append(f"{arr}[{st.index('b', 'i')}] = {local};")
        red_init = []
        for rname, op, _, st in reds:
            env[rname] = Symbol(f"red_{rname}", True, "reduction target")
            red_init.append(f"{st.ctype} red_{rname} = {_neutral(op, st)};")
        elem = []
        if cu.element_kind == "synapse":
            elem += self.synapse_indices(fn, cu)
        elem += load + red_init
        self.emit_code(elem, model.code.get("update_code"), env, where,
                       rng=("_rng", cu, "update_code", "i"))
        elem += writeback
        acc = [f"{st.ctype} acc_{n} = {_neutral(op, st)};"
               for n, op, _, st in reds]
        fold = [_fold(n, op) for n, op, _, _ in reds]
        size = cu.size
        if kind == "global_batch_reduce":
            # fold each slot's value straight into the shared target
            into = []
            for n, op, _, st in reds:
                tgt = f"{fn.ptr(st)}[{st.index('b', 'i')}]"
                new = (f"red_{n}" if op == "sum" else
                       f"std::max({tgt}, red_{n})")
                into.append(f"{tgt} = (b == 0) ? red_{n} : "
                            + (f"{tgt} + red_{n};" if op == "sum" else f"{new};"))
            self.target.batch_reduce_loop(fn, size, elem + into)
        elif kind == "per_batch" and red_kind == "neuron":
            final = [f"{fn.ptr(st)}[{st.index('b', '0')}] = acc_{n};"
                     for n, _, _, st in reds]
            self.target.neuron_reduce_loop(fn, size, acc, elem + fold, final)
        elif kind == "per_batch":
            self.target.per_batch_loop(fn, size, elem)
        else:
            self.target.shared_loop(fn, size, elem)
        return kind, fn

    def synapse_indices(self, fn, cu):
        sg = _synapse_group_of(cu)
        if sg.dense:
            Npost = sg.trg.num_neurons
            return [f"const size_t id_pre = i / {Npost};",
                    f"const size_t id_post = i % {Npost};"]
        pre = fn.ptr(f"{sg.name}_preInd", "uint32_t")
        ind = fn.ptr(f"{sg.name}_ind", "uint32_t")
        return [f"const size_t id_pre = {pre}[i];",
                f"const size_t id_post = {ind}[i];"]


_NOT_STRAIGHT_BUT_RNG = re.compile(r"\b(while|for|do|goto)\b|\+\+|--")
_NOT_STRAIGHT = re.compile(_NOT_STRAIGHT_BUT_RNG.pattern + r"|_rng")


def _straight_line(lines, allow_rng=False):
    """Whether generated element code is free of loops, random draws and
    appends: what keeps a compiler from vectorising the loop around it."""
    pattern = _NOT_STRAIGHT_BUT_RNG if allow_rng else _NOT_STRAIGHT
    return not any(pattern.search(line) for line in lines)


def _synapse_group_of(cu):
    from .groups import SynapseGroup
    g = cu.target
    while not isinstance(g, SynapseGroup):
        g = g.target
    return g


def _neutral(op, st):
    if op == "sum":
        return "0"
    return "-SCALAR_MAX" if st.ctype == "scalar" else \
        f"std::numeric_limits<{st.ctype}>::lowest()"


def _fold(name, op):
    if op == "sum":
        return f"acc_{name} += red_{name};"
    return f"acc_{name} = std::max(acc_{name}, red_{name});"


def _ctype(t):
    from .snippets import c_type
    return c_type(t)


def _literal(v):
    if isinstance(v, str):
        return v
    return repr(float(v))


class _LazyParam(Symbol):
    """A parameter whose local is declared only when the code uses it."""

    def __init__(self, fn, group, name, ctype):
        super().__init__(cpp=None, writable=False, kind="parameter",
                         type=ctype)
        self._fn, self._group, self._name = fn, group, name

    @property
    def cpp(self):
        return self._fn.param(self._group, self._name, self.type)

    @cpp.setter
    def cpp(self, v):
        pass


class _LazyPtr(Symbol):
    def __init__(self, fn, cname, ctype, kind):
        super().__init__(cpp=None, writable=False, kind=kind, type=ctype)
        self._fn, self._cname = fn, cname

    @property
    def cpp(self):
        return self._fn.ptr(self._cname, self.type)

    @cpp.setter
    def cpp(self, v):
        pass


class _Lambda(Symbol):
    """A function the context provides, defined as a C++ lambda when used."""

    def __init__(self, cpp, definition):
        super().__init__(cpp=cpp, writable=False, kind="func")
        self.definition = definition
