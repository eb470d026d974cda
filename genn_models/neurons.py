"""EventProp neurons: input sources, hidden LIF/hetLIF/ALIF, LI outputs per loss.

Conventions (docs/eventprop.md): forward ``tau_m dV/dt = -V + I``,
``tau_syn dI/dt = -I``, ``I += w`` at a presynaptic spike. Adjoints are
Wunderlich & Pehle's (``tau_m dlambda_V/ds = -lambda_V - dl/dV``,
``tau_syn dlambda_I/ds = -lambda_I + lambda_V`` in reverse time s); then
``dL/dw = -tau_syn_post * sum_k lambda_I_post(t_k)``.

Each trial runs forward while the previous trial runs backward in the same
steps: spike times (and what the backward jump needs) go into per-neuron
buffers of N_max_spike entries, filled from alternate ends (so that n_steps
entries always suffice); a backward spike is
flagged (``back_spike``) one step early so the synapse delivers
``w (lambda_V - lambda_I)_post`` to ``RevISyn`` in the step it is processed.
"""
import numpy as np

from .parts import Part, compose_neuron, merge

# ---------------------------------------------------------------------------
# Exact propagators
# ---------------------------------------------------------------------------


def _alpha(dt, tau):
    return float(np.exp(-dt / tau))


def _coupling(dt, tau_m, tau_s):
    """tau_s/(tau_m - tau_s) (e^{-dt/tau_m} - e^{-dt/tau_s}), with its tau_m == tau_s limit."""
    if abs(tau_m - tau_s) <= 1e-6 * tau_m:
        return dt / tau_m * np.exp(-dt / tau_m)
    return tau_s / (tau_m - tau_s) * (np.exp(-dt / tau_m) - np.exp(-dt / tau_s))


def _taus_part(het):
    """alpha_m, alpha_s and the two coupling factors, per population or per neuron.

    c_vi carries I into V forward; c_li carries lambda_V into lambda_I backward.
    """
    if not het:
        return Part(
            params=["tau_m", "tau_syn"],
            derived=[("alpha_m", lambda p, dt: _alpha(dt, p["tau_m"])),
                     ("alpha_s", lambda p, dt: _alpha(dt, p["tau_syn"])),
                     ("c_vi", lambda p, dt: _coupling(dt, p["tau_m"],
                                                      p["tau_syn"])),
                     ("c_li", lambda p, dt: _coupling(dt, p["tau_m"],
                                                      p["tau_syn"])
                      * p["tau_m"] / p["tau_syn"])])
    return Part(
        vars=[("tau_m", "scalar", "READ_ONLY"),
              ("tau_syn", "scalar", "READ_ONLY")],
        code={"prelude": """
const scalar alpha_m = exp(-dt / tau_m);
const scalar alpha_s = exp(-dt / tau_syn);
const bool equal_taus = fabs(tau_m - tau_syn) <= 1e-6 * tau_m;
const scalar c_vi = equal_taus ? dt / tau_m * alpha_m
                               : tau_syn / (tau_m - tau_syn) * (alpha_m - alpha_s);
const scalar c_li = equal_taus ? c_vi : c_vi * tau_m / tau_syn;
"""})


def _trial_part(loss_scale=True):
    """Local trial time; params every EventProp neuron shares."""
    return Part(
        params=["trial_t"] + (["N_batch"] if loss_scale else []),
        vars=[("rev_t", "timepoint")],   # double: t grows large over training
        # input of the trial's first step is the last step's output of the
        # previous trial: drop it so trials stay independent
        code={"prelude": "const scalar t_loc = t - rev_t;\n"
                         "const scalar Isyn_trial = t_loc > 0.5 * dt ? Isyn : 0.0;\n"},
        trial_reset={"rev_t": "t"})


# ---------------------------------------------------------------------------
# Spike record: one buffer per neuron, filled from alternate ends, read backwards
# ---------------------------------------------------------------------------

def _record_part(extra_buffers=()):
    """Forward spikes into a per-neuron buffer; backward reads it in reverse.

    Consecutive trials fill the buffer from opposite ends (``wdown``): one
    upward from entry 0, the next downward from entry N_max_spike - 1. The
    previous trial is replayed latest spike first, so the entries it frees
    are the ones the current trial writes into next. At local step n at
    most n spikes of this trial and N - 1 - n unreplayed spikes of the
    previous one are held: N_max_spike = n_steps entries can never
    overflow. Overflow (more entries held at once than N_max_spike) is
    counted in ``overflow`` and the spike is not recorded.

    Stored times are positive, or negative for a spike that was not
    transmitted (dropout): its own adjoint jump still happens, its backward
    event does not. ``rp`` is the previous trial's next entry to replay.
    """
    bufs = ["tk"] + list(extra_buffers)
    store = "".join(f"        {b}[off + wp] = {b}_now;\n"
                    for b in extra_buffers)
    # the previous trial ran the other way: written upward (this one writes
    # down), its latest unreplayed spike is entry n_back - 1, else nmax - n_back
    step_back = ("n_back--; rp = wdown ? n_back - 1 : nmax - n_back;\n"
                 "    t_next = n_back > 0 ? tk[off + rp] : 0.0;")
    return Part(
        params=["N_max_spike"],
        vars=[("rp", "int"), ("wdown", "int"), ("n_fwd", "int"),
              ("n_back", "int"), ("back_spike", "uint8_t"),
              ("overflow", "unsigned int"), ("t_next", "scalar")],
        egps=[(b, "scalar*") for b in bufs],
        trial_reset_egps=[("tk", "scalar*")],
        code={
            # t_next caches tk[off + rp], so the buffer is only touched at spikes
            "prelude": f"""
const int nmax = (int) N_max_spike;
const int off = (batch * num_neurons + id) * nmax;
// entries at or after the current backward time are done (t_k = T carries no gradient)
while (n_back > 0 && fabs(t_next) > trial_t - t_loc + 0.5 * dt) {{
    {step_back}
}}
const bool back_now = n_back > 0 && fabs(fabs(t_next) - (trial_t - t_loc)) < 0.5 * dt;
""",
            "backward_flag": f"""
if (back_now) {{
    {step_back}
}}
// flag the next backward spike one step early: its event is delivered next step
back_spike = (n_back > 0 && t_next > 0.0
              && fabs(t_next - (trial_t - t_loc - dt)) < 0.5 * dt) ? 1 : 0;
"""},
        # nmax and off are the sim code's (GeNN 5: one scope)
        reset=f"""
    if (n_fwd + n_back >= nmax) {{
        overflow++;
    }}
    else {{
        const int wp = wdown ? nmax - 1 - n_fwd : n_fwd;
        tk[off + wp] = drop ? -(t_loc + dt) : (t_loc + dt);
{store}        n_fwd++;
    }}
""",
        # in order: the trial just run becomes the one to replay
        trial_reset={"t_next": "n_fwd > 0 ? tk[(batch * num_neurons + id) * (int) N_max_spike"
                               " + (wdown ? (int) N_max_spike - n_fwd : n_fwd - 1)] : 0.0",
                     "n_back": "n_fwd", "n_fwd": "0", "wdown": "1 - wdown",
                     "rp": "wdown ? n_back - 1 : (int) N_max_spike - n_back",
                     "back_spike": "0"})


def _dropout_part(pdrop):
    """Spikes not transmitted with probability p_drop (decided at the spike)."""
    if not pdrop:
        return Part(reset="    const bool drop = false;\n")
    return Part(params=["p_drop"], vars=[("dropped", "uint8_t")],
                reset="    const bool drop = gennrand_uniform() < p_drop;\n"
                      "    dropped = drop;\n")


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def input_neuron(api, pdrop=False, name="EVP_input"):
    """Spike source whose sample per batch slot is chosen on the device.

    ``spikeTimes`` holds every sample's spike times (neuron-major, local
    trial time in ms); the trial reset picks ``order[trial * N_batch + batch]``
    and sets ``startSpike``/``endSpike`` from ``allStart``/``allEnd``.
    Input dropout removes a spike entirely (not sent, not recorded).

    A spike at t_s is emitted in the first step n of the trial with
    t_n = n dt >= t_s: n = ceil(t_s / dt), so a spike on the grid point n dt
    is emitted in step n. Both sides are compared in whole steps, the trial's
    step from round((t - rev_t) / dt): with t and rev_t large late in
    training, their difference is n dt only up to rounding, and a direct
    comparison with t_s would move on-grid spikes by a step depending on the
    absolute time. Spike times within a relative 1e-6 of a grid point count
    as on it (single precision stores t_s and dt to ~1e-7).
    """
    due = ("round((t - rev_t) / dt) >= ceil(spikeTimes[startSpike] / dt"
           " - 1e-6 * fmax(spikeTimes[startSpike] / dt, 1.0))")
    drop_code = (f"while (startSpike != endSpike && {due}"
                 " && gennrand_uniform() < p_drop) startSpike++;\n"
                 if pdrop else "")
    parts = [
        _trial_part(loss_scale=False),
        Part(vars=[("startSpike", "unsigned int"), ("endSpike", "unsigned int"),
                   ("dropped", "uint8_t")],
             params=["p_drop"] if pdrop else [],
             egps=[("spikeTimes", "scalar*"), ("allStart", "int*"),
                   ("allEnd", "int*"), ("order", "int*"), ("labels", "int*")],
             code={"forward": drop_code},
             threshold=f"startSpike != endSpike && {due}",
             reset="    startSpike++;\n",
             trial_reset_params=["trial", "N_batch"],
             trial_reset_egps=[("allStart", "int*"), ("allEnd", "int*"),
                               ("order", "int*")],
             trial_reset_code="""
const int sample = order[(int) trial * (int) N_batch + batch];
startSpike = sample >= 0 ? allStart[sample * num_neurons + id] : 0;
endSpike = sample >= 0 ? allEnd[sample * num_neurons + id] : 0;
"""),
        Part(reset="    const bool drop = false;\n"),
        _record_part(),
    ]
    return compose_neuron(api, name, *parts)


EVENT_INPUT_EGPS = [("sampleStart", "unsigned int*"), ("order", "int*"),
                    ("labels", "int*")]


def event_input(api, n_steps, name="EVP_event_input"):
    """Event-driven input (the engine's event source, genn_engine/event_source.py).

    The same forward spikes and input-weight gradients as ``input_neuron``
    at a cost proportional to the spikes: the sample's events (int32 step,
    uint16 unit; genn_models/input_data.py) are read with one cursor per
    batch slot; the kept spikes of a trial are recorded and replayed
    backwards during the next trial, a spike emitted in step n raising the
    input synapses' backward event in step N - 2 - n (where ``input_neuron``
    flags ``back_spike``). Input dropout (parameter ``p_drop``) is drawn per
    spike. The trial reset points the cursors at the sample of each slot
    (``sampleStart`` indexes the events of every sample) and restarts the
    local step count, which makes the source replay the trial just ended.
    Trials of fewer than 65536 steps store steps as uint16 (4 bytes per
    event).
    """
    step_type = "uint16_t" if n_steps < 2 ** 16 else "int"
    model = api.create_event_source_model(
        f"{name}_{step_type}", extra_global_params=EVENT_INPUT_EGPS,
        step_type=step_type)
    part = Part(
        vars=[("startEvent", "unsigned int"), ("endEvent", "unsigned int"),
              ("step", "int")],
        trial_reset_params=["trial", "N_batch"],
        trial_reset_egps=[("sampleStart", "unsigned int*"), ("order", "int*")],
        # per-slot variables: the same values for every element of the reset
        trial_reset_code="""
const int sample = order[(int) trial * (int) N_batch + batch];
startEvent = sample >= 0 ? sampleStart[sample] : 0;
endEvent = sample >= 0 ? sampleStart[sample + 1] : 0;
""",
        trial_reset={"step": "0"})
    return model, part


# ---------------------------------------------------------------------------
# Hidden neurons
# ---------------------------------------------------------------------------

def _lif_forward():
    return Part(
        params=["V_thresh", "V_reset"],
        vars=[("V", "scalar"), ("I", "scalar"), ("lambda_V", "scalar"),
              ("lambda_I", "scalar")],
        inputs=[("RevISyn", "scalar", 0.0)],
        code={
            "backward_decay": """
lambda_I = lambda_I * alpha_s + lambda_V * c_li;
lambda_V = lambda_V * alpha_m;
""",
            "forward": """
I += Isyn_trial;
V = V * alpha_m + I * c_vi;
I *= alpha_s;
"""},
        trial_reset={"V": "V_reset", "I": "0.0", "lambda_V": "0.0",
                     "lambda_I": "0.0"})


def _jump(kind, train_tau, reg):
    """The backward jump of lambda_V at a spike of this neuron (docs/eventprop.md)."""
    alif = kind == "ALIF"
    lines = ["if (back_now) {",
             "    const scalar Ik = Ik_buf[off + rp];"]
    if alif:
        lines += ["    const scalar Bk = Bk_buf[off + rp];",
                  "    const scalar den = Ik - V_thresh - Bk + tau_m * Bk / tau_B;",
                  "    const scalar num = lambda_V * (Ik - V_reset) - B_incr * lambda_B + RevISyn;"]
    else:
        lines += ["    const scalar den = Ik - V_thresh;",
                  "    const scalar num = lambda_V * (Ik - V_reset) + RevISyn;"]
    # the threshold is crossed from below, so tau_m (V - threshold)' > 0; a
    # value near 0 or below comes from the time grid (a grazing crossing) and
    # would amplify lambda without bound: floor it
    lines.append("    scalar lv = num / fmax(den, 0.1 * fabs(V_thresh - V_reset));")
    if train_tau:
        lines += ["    dtau_m += RevISyn * dtkm_buf[off + rp];",
                  "    dtau_syn += RevISyn * dtks_buf[off + rp];"]
    if alif:
        lines.append("    lambda_B -= tau_m / tau_B * lv;")
    if reg in ("simple", "avg"):
        count = "sNSum_avg" if reg == "avg" else "sNSum"
        lines += [f"    const scalar cnt = {count};",
                  "    lv -= (cnt > nu_upper ? lbd_upper : lbd_lower) * (cnt - nu_upper) / N_batch;"]
    elif reg == "Thomas1":
        lines += ["    lv -= glb_upper * (sNSum_layer - rho_upper) / N_batch;"]
    lines += ["    lambda_V = lv;", "}", ""]
    return "\n".join(lines)


def _alif_part():
    return Part(
        params=["tau_B", "B_incr", "B_init"],
        derived=[("alpha_B", lambda p, dt: _alpha(dt, p["tau_B"]))],
        vars=[("B", "scalar"), ("lambda_B", "scalar")],
        code={"backward_decay": "lambda_B *= alpha_B;\n",
              "forward_after": "B *= alpha_B;\n"},
        trial_reset={"B": "B_init", "lambda_B": "0.0"})


def _tau_sensitivity_part():
    """Forward sensitivities of V (and I) to this neuron's own tau_m and tau_syn.

    dL/dtau = sum_k D_k dt_k/dtau, D_k the backward event input (RevISyn),
    dt_k/dtau = -S_V/(dV/dt) stored with the spike; S follows the reset.
    """
    return Part(
        vars=[("S_m", "scalar"), ("S_s", "scalar"), ("S_I", "scalar"),
              ("dtau_m", "scalar"), ("dtau_syn", "scalar")],
        code={"forward": """
{
    // derivatives of the exact one-step propagator (taus moved apart if equal)
    const scalar ts = equal_taus ? tau_m * (1.0 - 1e-3) : tau_syn;
    const scalar as2 = exp(-dt / ts);
    const scalar d = tau_m - ts;
    const scalar dam = alpha_m * dt / (tau_m * tau_m);
    const scalar das = as2 * dt / (ts * ts);
    const scalar dc_m = -ts / (d * d) * (alpha_m - as2) + ts / d * dam;
    const scalar dc_s = tau_m / (d * d) * (alpha_m - as2) - ts / d * das;
    const scalar Iin = I + Isyn_trial;
    S_m = alpha_m * S_m + dam * V + dc_m * Iin;
    S_s = alpha_m * S_s + c_vi * S_I + dc_s * Iin;
    S_I = alpha_s * S_I + das * Iin;
}
"""},
        reset="""
    const scalar vdot_minus = (I_cross - V_thresh) / tau_m;
    const scalar vd = fabs(vdot_minus) > 1e-9 ? vdot_minus : copysign(1e-9, vdot_minus);
    const scalar dtkm_buf_now = -S_m / vd;
    const scalar dtks_buf_now = -S_s / vd;
    S_m = -(I - V_reset) / tau_m * dtkm_buf_now;
    S_s = -(I - V_reset) / tau_m * dtks_buf_now;
""",
        trial_reset={"S_m": "0.0", "S_s": "0.0", "S_I": "0.0"})


def _crossing_part(het, alif):
    """``I_cross``: the synaptic current where V crossed the threshold in this step.

    The spike is emitted at the end of the step, when I has decayed for the
    whole step; the adjoint jump needs tau_m dV/dt at the crossing, which lies
    inside the step. V and I at the start of the step follow from their end
    values; the crossing is placed by linear interpolation of V.
    """
    if het:
        coeffs = """
    const scalar am_x = exp(-dt / tau_m);
    const scalar as_x = exp(-dt / tau_syn);
    const scalar cvi_x = fabs(tau_m - tau_syn) <= 1e-6 * tau_m ? dt / tau_m * am_x
                         : tau_syn / (tau_m - tau_syn) * (am_x - as_x);
"""
    else:
        coeffs = """
    const scalar am_x = alpha_m;
    const scalar as_x = alpha_s;
    const scalar cvi_x = c_vi;
"""
    thr = "V_thresh + B" if alif else "V_thresh"
    return Part(reset=coeffs + f"""
    const scalar I0_x = I / as_x;
    const scalar V0_x = (V - I0_x * cvi_x) / am_x;
    const scalar fr_x = fmin(fmax(({thr} - V0_x) / fmax(V - V0_x, 1e-9), 0.0), 1.0);
    const scalar I_cross = I0_x * exp(fr_x * log(as_x));
""")


def _reg_part(reg):
    """Spike-count regularisation (loss shaping; a heuristic, not a gradient)."""
    if reg in (None, "none"):
        return None
    part = Part(vars=[("sNSum", "scalar")], trial_reset={"sNSum": "n_fwd"})
    if reg == "Thomas1":
        part.params += ["glb_upper", "rho_upper"]
        part.vars.append(("sNSum_layer", "scalar",
                          "READ_ONLY_SHARED_NEURON"))
    else:
        part.params += ["lbd_upper", "lbd_lower", "nu_upper"]
        if reg == "avg":
            part.vars.append(("sNSum_avg", "scalar"))
    return part


def hidden_neuron(api, kind="LIF", train_tau=False, reg=None, pdrop=False):
    """Hidden EventProp neuron: (model, part). kind in LIF, hetLIF, ALIF.

    ``reg``: None, "simple" (own spike count vs nu_upper), "avg" (the count
    averaged over the batch, AVG_SNSUM) or "Thomas1" (layer count vs rho_upper).
    ``train_tau`` makes tau_m, tau_syn per-neuron and accumulates their gradients.
    """
    if kind not in ("LIF", "hetLIF", "ALIF"):
        raise ValueError(f"unknown hidden neuron type {kind!r}; use LIF, "
                         "hetLIF or ALIF")
    if train_tau and kind == "ALIF":
        raise ValueError("TRAIN_TAU is supported for LIF/hetLIF hidden "
                         "neurons, not ALIF")
    het = kind == "hetLIF" or train_tau
    alif = kind == "ALIF"
    extra = ["Ik_buf"] + (["Bk_buf"] if alif else []) + \
        (["dtkm_buf", "dtks_buf"] if train_tau else [])
    # values the backward jump needs, captured at the spike before the reset
    capture = Part(reset="    const scalar Ik_buf_now = I_cross;\n"
                   + ("    const scalar Bk_buf_now = B;\n" if alif else ""))
    parts = [
        _trial_part(), _taus_part(het), _crossing_part(het, alif), _dropout_part(pdrop),
        # sensitivities read V and I before the forward update below
        _tau_sensitivity_part() if train_tau else None,
        _lif_forward(), _alif_part() if alif else None,
        Part(code={"backward": _jump(kind, train_tau, reg)}),
        _reg_part(reg), capture, _record_part(extra),
        Part(threshold="V >= V_thresh + B" if alif else "V >= V_thresh",
             reset="    V = V_reset;\n" + ("    B += B_incr;\n" if alif else "")),
    ]
    name = (f"EVP_{kind}" + ("_tau" if train_tau else "")
            + (f"_reg{reg}" if reg not in (None, "none") else "")
            + ("_drop" if pdrop else ""))
    return compose_neuron(api, name, *parts)


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------

# Time weightings g of the "sum" family, z_k = (1/T) sum_n g_n int_{step n} V_k dt:
# V is integrated exactly over each step and g taken at the step's midpoint
# {t} (step index {n}). A loss that sampled V only at grid points would put
# its adjoint source in pulses at the grid, and the spike times, which also
# lie on the grid, would see a gradient of that sampling (a bias of a few
# percent of lambda, larger than the true signal in long trials).
# "sum_weigh_input" reads g_in[s * n_steps + n] of sample {s}.
WEIGHTINGS = {
    "sum": "1.0",
    "sum_weigh_linear": "(1.0 - ({t}) / trial_t)",
    "sum_weigh_exp": "exp(-({t}) / trial_t)",
    "sum_weigh_sigmoid": "(1.0 / (1.0 + exp((({t}) - 0.5 * trial_t) / (0.1 * trial_t))))",
    "sum_weigh_input": "(({s}) >= 0 ? g_in[({s}) * (int) n_steps + (int) fmin(fmax("
                       "{n}, 0.0), n_steps - 1.0)] : 0.0)",
}
# forward: step n of the current trial; backward (one trial later): the
# mirrored step N-1-n of the previous trial
_G_FWD = {"t": "t_loc + 0.5 * dt", "n": "round(t_loc / dt)", "s": "sample_id"}
_G_BWD = {"t": "trial_t - t_loc - 0.5 * dt", "n": "n_steps - 1.0 - round(t_loc / dt)",
          "s": "sample_id_prev"}


def _step_integral_part(het):
    """iv_V, iv_I with int_{step} V dt = dt (iv_V V + iv_I I), V and I taken at
    the end of the step (exact for the LI dynamics between input events)."""
    def coeffs(tm, ts, dt):
        am, as_ = np.exp(-dt / tm), np.exp(-dt / ts)
        qv = tm * (1.0 - am) / dt
        if abs(tm - ts) <= 1e-6 * tm:
            qi = tm * (1.0 - am - dt / tm * am) / dt
        else:
            qi = ts / (tm - ts) * (tm * (1.0 - am) - ts * (1.0 - as_)) / dt
        cvi = _coupling(dt, tm, ts)
        return qv / am, (qi - qv * cvi / am) / as_
    if not het:
        return Part(derived=[
            ("iv_V", lambda p, dt: float(coeffs(p["tau_m"], p["tau_syn"], dt)[0])),
            ("iv_I", lambda p, dt: float(coeffs(p["tau_m"], p["tau_syn"], dt)[1]))])
    return Part(code={"prelude": """
const scalar q_v = tau_m * (1.0 - alpha_m) / dt;
const scalar q_i = equal_taus ? (1.0 - alpha_m - dt / tau_m * alpha_m) * tau_m / dt
    : tau_syn / (tau_m - tau_syn) * (tau_m * (1.0 - alpha_m) - tau_syn * (1.0 - alpha_s)) / dt;
const scalar iv_V = q_v / alpha_m;
const scalar iv_I = (q_i - q_v * c_vi / alpha_m) / alpha_s;
"""})


def _source(rate):
    """Backward: ``tau_m dlambda_V/ds = -lambda_V + c`` with c = ``rate``
    constant over the step, integrated exactly (lambda_I follows), after the
    homogeneous decay of the step."""
    return ("{\n"
            f"    const scalar c_src = {rate};\n"
            "    lambda_V += c_src * (1.0 - alpha_m);\n"
            "    lambda_I += c_src * (1.0 - alpha_s - c_li);\n"
            "}\n")


def _input_weighting_part():
    """Per-sample weighting g_in (n_samples x n_steps): the sample ids it needs."""
    return Part(
        params=["n_steps"],
        vars=[("sample_id", "int"), ("sample_id_prev", "int")],
        egps=[("g_in", "scalar*")],
        trial_reset_params=["trial", "N_batch"],
        trial_reset_egps=[("order", "int*")],
        # the backward pass of the previous trial runs during this one
        trial_reset_code="""
sample_id_prev = sample_id;
sample_id = order[(int) trial * (int) N_batch + batch];
""")


SPIKING_LOSSES = ("first_spike", "first_spike_exp")
LOSS_TYPES = tuple(WEIGHTINGS) + ("max", "avg_xentropy") + SPIKING_LOSSES


def _loss_part(loss):
    """Forward read-out z, and the backward source term of the loss.

    ``dl`` holds dL/dz (or dL/dt_first) of the previous trial, set by the
    end-of-trial softmax; it already carries the 1/N_batch of the batch mean.
    """
    if loss in WEIGHTINGS:
        g_fwd = WEIGHTINGS[loss].format(**_G_FWD)
        g_bwd = WEIGHTINGS[loss].format(**_G_BWD)
        part = Part(
            vars=[("z", "scalar")],
            code={"backward_source": _source(f"-dl * {g_bwd} / trial_t"),
                  "forward_after": f"z += {g_fwd} * (iv_V * V + iv_I * I) * dt / trial_t;\n"},
            trial_reset={"z": "0.0"})
        return merge(part, _input_weighting_part()) \
            if loss == "sum_weigh_input" else part
    if loss == "max":
        # The pulse dl/tau_m at t_max. When inputs arrive at t_max (V taken on
        # the grid just before them) the maximum may sit on a corner of V:
        # V'^- > 0 > V'^+. Then dz/dt_k = V'^- for the arriving spike, which
        # the backward event of that spike collects if the fraction
        # f = V'^- / (V'^- - V'^+) of the pulse is applied before it reads
        # lambda_V (an arrival of weight w_j gets -w_j f dl/tau_m; summed
        # over simultaneous arrivals, dl V'^-). f = 0 when V'^- <= 0 (a smooth
        # maximum before the arrival), f = 1 when V'^+ >= 0 (one just after).
        return Part(
            vars=[("z", "scalar"), ("t_max", "scalar"), ("t_max_prev", "scalar"),
                  ("f_max", "scalar"), ("f_max_prev", "scalar")],
            code={"backward": "if (fabs(t_max_prev - (trial_t - t_loc)) < 0.5 * dt) "
                              "lambda_V -= (1.0 - f_max_prev) * dl / tau_m;\n",
                  # end of the step before: read by the arrivals' backward events
                  "backward_source": "if (fabs(t_max_prev - (trial_t - t_loc - dt)) < 0.5 * dt) "
                                     "lambda_V -= f_max_prev * dl / tau_m;\n",
                  "forward_after": """
if (fabs(t_max - t_loc) < 0.5 * dt) {
    // the maximum is at the start of this step: tau_m V' there before and
    // after this step's input arrived
    const scalar vd_plus = I / alpha_s - z;
    const scalar vd_minus = vd_plus - Isyn_trial;
    f_max = vd_minus <= 0.0 ? 0.0 : (vd_plus >= 0.0 ? 1.0 : vd_minus / (vd_minus - vd_plus));
}
if (V > z) { z = V; t_max = t_loc + dt; f_max = 0.0; }
"""},
            trial_reset={"t_max_prev": "t_max", "f_max_prev": "f_max", "z": "0.0",
                         "t_max": "0.0", "f_max": "0.0"})
    if loss == "avg_xentropy":
        # per-step (p - y)/N_batch of the current trial, read back in reverse:
        # memory is T x N_out for this loss only
        return Part(
            params=["n_steps"],
            vars=[("z", "scalar"), ("p_t", "scalar"), ("parity", "int")],
            egps=[("dl_buf", "scalar*")],
            code={"prelude": """
const int nst = (int) n_steps;
const int step = (int) round(t_loc / dt);
const int boff = (batch * num_neurons + id) * 2 * nst;
// steps outside the trial (run without a trial reset) touch nothing
const bool in_trial = step >= 0 && step < nst;
if (step >= 1 && step < nst) {
    dl_buf[boff + parity * nst + step - 1] = label >= 0 ? (p_t - (id == label ? 1.0 : 0.0)) / N_batch : 0.0;
    if (id == label) loss_acc -= log(fmax(p_t, 1e-30)) * dt / trial_t;
}
""",
                  # the sampled V of each step stands for the whole step
                  "backward_source": "if (in_trial) " + _source(
                      "-dl_buf[boff + (1 - parity) * nst + nst - 1 - step] / trial_t"),
                  "forward_after": "z += V * dt / trial_t;\n"},
            trial_reset={"z": "0.0", "parity": "1 - parity"})
    if loss in SPIKING_LOSSES:
        return Part(
            vars=[("z", "scalar"), ("I_first", "scalar"),
                  ("I_first_prev", "scalar"), ("t_first_prev", "scalar"),
                  ("t_first", "scalar"), ("I_end", "scalar")],
            code={"backward": """
if (fabs(t_first_prev - (trial_t - t_loc)) < 0.5 * dt) {
    // phantom spikes at T (silent correct neuron) get a positive slope
    const scalar den = fmax(I_first_prev - V_thresh, 0.1 * V_thresh);
    lambda_V = (lambda_V * (I_first_prev - V_reset) + dl) / den;
}
""",
                  "forward_after": "I_end = I;\n"},
            threshold="V >= V_thresh",
            reset="""
    if (t_first < 0.0) { t_first = t_loc + dt; I_first = I; }
    V = V_reset;
""",
            trial_reset={"t_first_prev": "t_first", "I_first_prev": "I_first",
                         "t_first": "-1.0", "z": "0.0"})
    raise ValueError(f"unknown loss type {loss!r}; known: {LOSS_TYPES}")


def _output_tau_part(loss):
    """Output tau gradients by forward sensitivities: dL/dtau = int dl/dV S dt
    (or dL/dt_first dt_first/dtau for the first-spike losses)."""
    part = _tau_sensitivity_part()
    part.reset = ""
    part.vars = [v for v in part.vars] + [("A_m", "scalar"), ("A_s", "scalar")]
    if loss in WEIGHTINGS:
        g = WEIGHTINGS[loss].format(**_G_FWD)
        part.code["forward_after"] = (f"A_m += {g} * S_m * dt / trial_t;\n"
                                      f"A_s += {g} * S_s * dt / trial_t;\n")
    elif loss == "max":
        part.code["forward_after"] = "if (V >= z) { A_m = S_m; A_s = S_s; }\n"
    elif loss == "avg_xentropy":
        # per grid point t_step: (p - y)/N_batch as stored for the backward
        # pass, times S there; summed over the trial in A and moved into dtau
        # at the trial reset (with the last grid point, T), so that the
        # gradient read after trial k+1 is trial k's, as for the weights
        part.code["backward"] = """
if (in_trial && step >= 1) {
    const scalar dlt = dl_buf[boff + parity * nst + step - 1] * dt / trial_t;
    A_m += dlt * S_m_prevstep; A_s += dlt * S_s_prevstep;
}
"""
        part.vars += [("S_m_prevstep", "scalar"), ("S_s_prevstep", "scalar")]
        part.code["forward_after"] = "S_m_prevstep = S_m; S_s_prevstep = S_s;\n"
        part.trial_reset_egps = [("dl_buf", "scalar*")]
        part.trial_reset_code = """
{
    const int nst = (int) n_steps;
    const scalar dl_T = dl_buf[(batch * num_neurons + id) * 2 * nst + parity * nst + nst - 1];
    dtau_m += A_m + dl_T * S_m / n_steps;
    dtau_syn += A_s + dl_T * S_s / n_steps;
}
"""
    elif loss in SPIKING_LOSSES:
        # only the first spike enters the loss: A holds dt_first/dtau
        part.reset = """
    if (t_first < 0.0) {
        const scalar vd0 = (I - V_thresh) / tau_m;
        const scalar vd = fabs(vd0) > 1e-9 ? vd0 : copysign(1e-9, vd0);
        A_m = -S_m / vd;
        A_s = -S_s / vd;
    }
"""
    else:
        raise ValueError(f"TRAIN_TAU_OUTPUT is not supported with loss {loss!r}")
    if loss != "avg_xentropy":
        part.trial_reset_code = "dtau_m += dl * A_m;\ndtau_syn += dl * A_s;\n"
    part.trial_reset.update({"A_m": "0.0", "A_s": "0.0"})
    return part


def _output_common(loss):
    shared = "READ_ONLY_SHARED_NEURON"
    part = Part(
        vars=[("label", "int"), ("dl", "scalar"), ("p", "scalar"),
              ("loss_acc", "scalar"), ("MaxZ", "scalar", shared),
              ("SumExp", "scalar", shared)],
        trial_reset_params=["trial", "N_batch"],
        trial_reset_egps=[("order", "int*"), ("labels", "int*")],
        trial_reset_code="""
{
    const int sample = order[(int) trial * (int) N_batch + batch];
    label = sample >= 0 ? labels[sample] : -1;
}
""",
        trial_reset={"loss_acc": "0.0"})
    if loss == "avg_xentropy":
        part.vars += [("MaxV", "scalar", shared), ("SumExpV", "scalar", shared)]
    return part


def output_neuron(api, loss, kind="LI", train_tau=False):
    """Output neuron for ``loss``: LI (no threshold) or, for first-spike losses, LIF.

    kind "hetLI" makes tau_m, tau_syn per-neuron; ``train_tau`` accumulates
    their gradients (dtau_m, dtau_syn). "sum_weigh_input" reads its weighting
    from the EGP ``g_in`` (n_samples x n_steps, see
    ``EventPropNetwork.set_input_weighting``).
    """
    if kind not in ("LI", "hetLI"):
        raise ValueError(f"unknown output neuron type {kind!r}; use LI or hetLI")
    het = kind == "hetLI" or train_tau
    parts = [
        _trial_part(), _taus_part(het),
        _output_common(loss),
        _output_tau_part(loss) if train_tau else None,
        _lif_forward(), _loss_part(loss),
        _step_integral_part(het) if loss in WEIGHTINGS else None,
    ]
    name = f"EVP_out_{loss}_{kind}" + ("_tau" if train_tau else "")
    return compose_neuron(api, name, *parts)
