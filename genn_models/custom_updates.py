"""Custom updates: gradient reduction, Adam, trial resets, softmax, regularisation.

No warp intrinsics anywhere: reductions are GeNN reductions
(REDUCE_BATCH_SUM, REDUCE_NEURON_MAX/SUM), so the same definitions compile
for the CPU target, a GPU target and real GeNN.
"""
from genn_engine.code import used_names


def grad_reduce(api):
    """reduced = sum over the batch of gradient; gradient = 0."""
    return api.create_custom_update_model(
        "EVP_grad_reduce",
        vars=[("reduced", "scalar", api.CustomUpdateVarAccess.REDUCE_BATCH_SUM)],
        var_refs=[("gradient", "scalar", api.VarAccessMode.READ_WRITE)],
        update_code="reduced = gradient;\ngradient = 0.0;")


def adam(api, bounded=False, decay=False):
    """Adam (Kingma & Ba) on one variable; bias corrections as dynamic params.

    ``moment1_scale`` = 1/(1 - beta1^t), ``moment2_scale`` = 1/(1 - beta2^t);
    ``bounded`` adds a hard lower limit ``min_value`` (MIN_TAU_M, MIN_TAU_SYN);
    ``decay`` adds decoupled weight decay (AdamW, Loshchilov & Hutter): the
    step also moves the variable by -alpha * weight_decay * its old value.
    Without it the code is the plain update, so runs without decay keep
    their results bit for bit.
    """
    code = """
const scalar g = gradient;
m = beta1 * m + (1.0 - beta1) * g;
v = beta2 * v + (1.0 - beta2) * g * g;
"""
    if decay:
        code += "const scalar shrink = alpha * weight_decay * variable;\n"
    code += ("variable -= alpha * m * moment1_scale / "
             "(sqrt(v * moment2_scale) + epsilon);\n")
    if decay:
        code += "variable -= shrink;\n"
    if bounded:
        code += "if (variable < min_value) variable = min_value;\n"
    return api.create_custom_update_model(
        "EVP_adam" + ("_bounded" if bounded else "") + ("_decay" if decay else ""),
        params=["beta1", "beta2", "epsilon", "alpha", "moment1_scale",
                "moment2_scale"] + (["min_value"] if bounded else [])
        + (["weight_decay"] if decay else []),
        vars=[("m", "scalar", api.CustomUpdateVarAccess.READ_WRITE),
              ("v", "scalar", api.CustomUpdateVarAccess.READ_WRITE)],
        var_refs=[("gradient", "scalar", api.VarAccessMode.READ_ONLY),
                  ("variable", "scalar", api.VarAccessMode.READ_WRITE)],
        update_code=code)


def trial_reset(api, name, neuron_model, part):
    """The reset at a trial boundary, generated from a part's reset list.

    Returns (model, var names referenced, params used, egp refs used).
    """
    code = part.trial_reset_code + "".join(
        f"{var} = {expr};\n" for var, expr in part.trial_reset.items())
    # names and types from the part (plain data), not from the backend's model
    var_types = {v[0]: v[1] for v in part.vars}
    refs = [v for v in var_types if v in used_names(code, var_types)]
    param_names = list(part.params)
    params = list(part.trial_reset_params) + [
        p for p in param_names
        if p in used_names(code, param_names) and p not in part.trial_reset_params]
    egps = [e for e in part.trial_reset_egps]
    model = api.create_custom_update_model(
        name, params=params,
        var_refs=[(v, var_types[v], api.VarAccessMode.READ_WRITE) for v in refs],
        extra_global_param_refs=egps, update_code=code)
    return model, refs, params, [e for e, _ in egps]


def softmax_stage(api, name, loss, stage, step=False):
    """End-of-trial (or, with ``step``, per-timestep) softmax over output neurons.

    Stage 1 reduces the max logit, stage 2 the sum of exponentials, stage 3
    computes p, the loss and dl (dL/dz or dL/dt_first, over N_batch).
    """
    mode = api.VarAccessMode
    if step:    # per time step for avg_xentropy: p_t = softmax(V(t))
        refs = {1: [("V", mode.READ_ONLY), ("MaxV", mode.REDUCE_MAX)],
                2: [("V", mode.READ_ONLY), ("MaxV", mode.READ_ONLY),
                    ("SumExpV", mode.REDUCE_SUM)],
                3: [("V", mode.READ_ONLY), ("MaxV", mode.READ_ONLY),
                    ("SumExpV", mode.READ_ONLY), ("p_t", mode.READ_WRITE)]}
        code = {1: "MaxV = V;", 2: "SumExpV = exp(V - MaxV);",
                3: "p_t = exp(V - MaxV) / SumExpV;"}
        return api.create_custom_update_model(
            name, var_refs=[(n, "scalar", m) for n, m in refs[stage]],
            update_code=code[stage]), [n for n, _ in refs[stage]], []
    spiking = loss.startswith("first_spike")
    if spiking:
        # a silent output: a logit far below any real one (end_trial reads
        # z < -1e30 as "no spike"); written as a literal, GeNN 5 has no SCALAR_MAX
        logit = "(t_first >= 0.0 ? -t_first / tau0 : -1.0e37)"
        expo = "(t_first >= 0.0 ? exp(-t_first / tau0 - MaxZ) : 0.0)"
    else:
        logit = "z"
        expo = "exp(z - MaxZ)"
    if stage == 1:
        code = f"MaxZ = {logit};\n"
        if spiking:
            code = (f"z = {logit};\n"
                    "if (t_first < 0.0 && id == label) { t_first = trial_t; I_first = I_end; }\n"
                    + code)
    elif stage == 2:
        code = f"SumExp = {expo};\n"
    else:
        # all outputs silent (an empty batch slot of the last mini-batch, or a
        # silent trial of a first-spike loss): SumExp is 0, and 0/0 must not
        # reach dl; empty slots (label -1) contribute no gradient
        code = (f"p = SumExp > 0.0 ? {expo} / SumExp : 0.0;\n"
                "const scalar y = id == label ? 1.0 : 0.0;\n"
                "const scalar in_batch = label >= 0 ? 1.0 : 0.0;\n")
        if spiking:
            pen, dpen = {
                "first_spike": ("alpha / ((1.01 * trial_t - t_first) * (1.01 * trial_t - t_first))",
                                "2.0 * alpha / pow(1.01 * trial_t - t_first, 3)"),
                "first_spike_exp": ("alpha * exp(t_first / tau1)",
                                    "alpha * exp(t_first / tau1) / tau1")}[loss]
            code += (f"dl = in_batch * ((y - p) / tau0 + y * {dpen}) / N_batch;\n"
                     f"loss_acc = y * (-log(fmax(p, 1e-30)) + {pen});\n")
        elif loss == "avg_xentropy":
            code += ("dl = 0.0;\n"
                     "const int nst = (int) n_steps;\n"
                     "dl_buf[(batch * num_neurons + id) * 2 * nst + parity * nst + nst - 1] = "
                     "in_batch * (p_t - y) / N_batch;\n"
                     "loss_acc -= y * log(fmax(p_t, 1e-30)) * dt / trial_t;\n")
        else:
            code += ("dl = in_batch * (p - y) / N_batch;\n"
                     "loss_acc = -y * log(fmax(p, 1e-30));\n")
    candidates = ["z", "t_first", "I_first", "I_end", "label", "MaxZ",
                  "SumExp", "p", "dl", "loss_acc", "p_t", "parity"]
    used = [c for c in candidates if c in used_names(code, candidates)]
    reduce = {1: "MaxZ", 2: "SumExp"}.get(stage)
    types = {"label": "int", "parity": "int"}
    var_refs = []
    for n in used:
        if n == reduce:
            m = mode.REDUCE_MAX if stage == 1 else mode.REDUCE_SUM
        elif (stage == 1 and n in ("z", "t_first", "I_first")) or \
                (stage == 3 and n in ("p", "dl", "loss_acc")):
            m = mode.READ_WRITE
        else:
            m = mode.READ_ONLY
        var_refs.append((n, types.get(n, "scalar"), m))
    params = [p for p in ("tau0", "tau1", "alpha", "trial_t", "N_batch", "n_steps")
              if p in used_names(code, ["tau0", "tau1", "alpha", "trial_t",
                                        "N_batch", "n_steps"])]
    egps = [("dl_buf", "scalar*")] if "dl_buf" in code else []
    model = api.create_custom_update_model(
        name, params=params, var_refs=var_refs, extra_global_param_refs=egps,
        update_code=code)
    return model, used, params


def reg_reduce(api):
    """Batch sum of the hidden spike counts (AVG_SNSUM)."""
    return api.create_custom_update_model(
        "EVP_reg_reduce",
        vars=[("reduced", "scalar", api.CustomUpdateVarAccess.REDUCE_BATCH_SUM)],
        var_refs=[("sNSum", "scalar", api.VarAccessMode.READ_ONLY)],
        update_code="reduced = sNSum;")


def reg_apply(api):
    return api.create_custom_update_model(
        "EVP_reg_apply", params=["N_batch"],
        var_refs=[("reduced", "scalar", api.VarAccessMode.READ_ONLY),
                  ("sNSum_avg", "scalar", api.VarAccessMode.READ_WRITE)],
        update_code="sNSum_avg = reduced / N_batch;")


def reg_layer_sum(api):
    """Spike count of the whole layer per batch slot (REG_TYPE Thomas1)."""
    return api.create_custom_update_model(
        "EVP_reg_layer",
        var_refs=[("sNSum", "scalar", api.VarAccessMode.READ_ONLY),
                  ("sNSum_layer", "scalar", api.VarAccessMode.REDUCE_SUM)],
        update_code="sNSum_layer = sNSum;")
