"""The EventProp synapse: forward addToPost(w), backward events carry the adjoint upstream."""

def evp_synapse(api, het_post=False, backprop=True, dropout=False,
                name=None):
    """Weight update model of a trained EventProp connection.

    Forward: ``addToPost(w)`` at each transmitted spike. Backward: at a
    backward spike of the presynaptic neuron (a spike-like event flagged by
    ``back_spike``), ``dw -= tau_syn_post * lambda_I_post`` and, when the
    presynaptic neuron has an adjoint (``backprop``),
    ``addToPre(w * (lambda_V_post - lambda_I_post))`` into its ``RevISyn``.
    ``tau_syn_post`` is a parameter, or a reference to the postsynaptic
    neuron's own ``tau_syn`` for heterogeneous taus.
    """
    VarAccess, VarAccessMode = api.VarAccess, api.VarAccessMode
    ro = VarAccessMode.READ_ONLY
    post_refs = [("lambda_V_post", "scalar", ro), ("lambda_I_post", "scalar", ro)]
    params = []
    if het_post:
        post_refs.append(("tau_syn_post", "scalar", ro))
    else:
        params.append("tau_syn_post")
    pre_refs = [("back_spike_pre", "uint8_t", ro)]
    fwd = "addToPost(w);"
    if dropout:
        pre_refs.append(("dropped_pre", "uint8_t", ro))
        fwd = "if (dropped_pre == 0) addToPost(w);"
    bwd = "dw -= tau_syn_post * lambda_I_post;\n"
    if backprop:
        bwd = "addToPre(w * (lambda_V_post - lambda_I_post));\n" + bwd
    name = name or ("EVP_synapse" + ("_het" if het_post else "")
                    + ("" if backprop else "_input") + ("_drop" if dropout else ""))
    return api.create_weight_update_model(
        name, params=params,
        vars=[("w", "scalar", VarAccess.READ_ONLY), ("dw", "scalar")],
        pre_neuron_var_refs=pre_refs, post_neuron_var_refs=post_refs,
        pre_spike_syn_code=fwd,
        pre_event_threshold_condition_code="back_spike_pre != 0",
        pre_event_syn_code=bwd)


def exp_curr_tau_ref(api):
    """Exponential current synapse that decays with its target's own tau_syn."""
    return api.create_postsynaptic_model(
        "ExpCurrTauRef",
        neuron_var_refs=[("tau_syn", "scalar", api.VarAccessMode.READ_ONLY)],
        sim_code="injectCurrent(inSyn);\ninSyn *= exp(-dt / tau_syn);")
