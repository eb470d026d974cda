"""Independent event-driven reference simulator and losses for checking EventProp gradients.

Model (continuous time, double precision, no synaptic delays)
-----------------------------------------------------------
Current-based LIF neurons with exponential synapses:

    tau_m dV/dt = -V + I,    tau_s dI/dt = -I,
    presynaptic spike of j at t:  I_i += w_ji   (weight matrices are (n_pre, n_post)).

A neuron spikes when V reaches its threshold from below; then V = v_reset (I is not
reset). Between events the state is advanced in closed form (tau_m == tau_s and nearly
equal taus included); spike times are found with brentq on that closed form, and all
events of the network are processed in exact time order, a spike reaching its targets
at the same instant. Kinds: "LIF" (taus may be scalars), "hetLIF" (per-neuron taus),
"ALIF" (threshold v_thresh + B, tau_b dB/dt = -B, B += b_incr at each own spike,
B(0) = b_init), "LI"/"hetLI" (never spike). Initial state V = I = 0 at t = 0; events at
t >= T are ignored.

Network: input channels (lists of spike times) -> hidden layers (w_in, w_ff[k], optional
w_rec[k]) -> output layer (w_out). Outputs never spike, except for the first-spike
losses, where they spike and reset with their v_thresh/v_reset and their spikes go
nowhere.

Losses (one trial with label y, outputs k; batch loss = mean over trials)
------------------------------------------------------------------------
sum:               z_k = (1/T) int_0^T V_k dt,           L = -log softmax(z)_y
sum_weigh_linear:  z_k = (1/T) int g V_k, g = 1 - t/T
sum_weigh_exp:     g = exp(-t/T)
sum_weigh_sigmoid: g = 1/(1 + exp((t - T/2)/(0.1 T)))
sum_weigh_input:   g = loss_params["g"] (callable), optional loss_params["g_breaks"]
max:               z_k = max_{[0,T]} V_k
avg_xentropy:      L = (1/T) int_0^T -log softmax(V(t))_y dt
first_spike:       L = -log(exp(-t_y/tau0) / sum_k exp(-t_k/tau0)) + alpha/(1.01 T - t_y)^2
first_spike_exp:   same cross-entropy + alpha exp(t_y/tau1)
t_k is the first spike of output k (inf if silent); the loss is nan if output y is
silent. loss_params defaults: tau0=0.5, tau1=6.4, alpha=3e-3.

API
---
Layer, Network (``with_param``/``get_param`` for named parameters w_in, w_ffK, w_recK,
w_out, tau_mK, tau_sK, tau_m_out, tau_s_out), simulate, trial_loss, batch_loss,
fd_gradient.
"""

from .losses import (DEFAULT_LOSS_PARAMS, LOSS_TYPES, batch_loss, fd_gradient,
                     loss_from_result, trial_loss)
from .model import Layer, Network
from .simulator import LayerTrace, SimResult, simulate

__all__ = ["Layer", "Network", "simulate", "trial_loss", "batch_loss", "fd_gradient",
           "loss_from_result", "SimResult", "LayerTrace", "LOSS_TYPES",
           "DEFAULT_LOSS_PARAMS"]
