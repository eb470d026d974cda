"""Parameter keys shared by the benchmarks.

Each benchmark module composes these groups with :func:`params.base.merge_specs`
and overrides the defaults that differ (e.g. DT_MS, TRIAL_MS), so a key is
declared once.  Descriptions follow the parameter tables of the original
genn_eventprop README; keys marked "(added)" are not in those tables.
"""

from __future__ import annotations

from . import checks
from .base import Spec

ALL_LOSS_TYPES = (
    "first_spike", "first_spike_exp", "max", "sum", "sum_weigh_linear",
    "sum_weigh_exp", "sum_weigh_sigmoid", "sum_weigh_input", "avg_xentropy",
)
HIDDEN_NEURON_TYPES = ("LIF", "hetLIF", "ALIF")
OUTPUT_NEURON_TYPES = ("LI", "hetLI")
REG_TYPES = ("none", "simple", "Thomas1")
AUGMENTATIONS = ("random_shift", "random_dilate", "ID_jitter", "blend")


def _g(group, *specs):
    return [Spec(*s[:3], group=group, **(s[3] if len(s) > 3 else {})) for s in specs]


GENERAL = _g(
    "General parameters",
    ("NAME", "test", "A unique name for an experiment; its files in OUT_DIR start with NAME. "
     "A training run does not replace the files of an earlier run of the same NAME: it "
     "resumes it with LOAD_LAST=True or replaces it with OVERWRITE=True"),
    ("DEBUG_HIDDEN_N", False, "Whether to collect and return information about the "
     "activity levels of hidden neurons"),
    ("OUT_DIR", ".", "Directory where to write results"),
    ("DT_MS", 1.0, "Time step of the simulations in milliseconds", {"check": checks.positive}),
    ("BUILD", True, "Whether to (re)build the GeNN model, can be set to False if there are "
     "repeated runs of the same model: the model library compiled by an earlier run is "
     "then used as it is, and a run stops with an error if there is none (the built-in "
     "engine compiles only when the model code changed either way; the genn* "
     "BACKENDs need True)"),
    ("TIMING", True, "Whether to record timing information during a run (the time_s "
     "column of the results and of the test output)"),
    ("CUDA_VISIBLE_DEVICES", True, "Internal GeNN switch how CUDA devices are addressed "
     "(kept for compatibility; ignored by this package)"),
    ("BACKEND", "cpu", "(added) Backend: the built-in engine (\"cpu\", "
     "\"single_threaded_cpu\", \"cuda\" on an NVIDIA GPU, \"cuda_emulated\""
     " for the CUDA kernels run serially on the CPU) or real GeNN through "
     "pygenn: \"genn\" (its best backend), \"genn_cpu\" (batch size 1 only), "
     "\"genn_cuda\"",
     {"choices": ("cpu", "single_threaded_cpu", "cuda", "cuda_emulated",
                  "genn", "genn_cpu", "genn_cuda")}),
    ("N_THREADS", None, "(added) Number of CPU threads for the cpu backend; None = all cores",
     {"kind": "int", "check": checks.positive}),
    ("VERBOSE", False, "(added) Whether to print progress details"),
)

EXPERIMENT = _g(
    "Experiment parameters",
    ("TRAIN_DATA_SEED", 123, "Seed for the random number generator used for generating "
     "training data", {"allow_none": True}),
    ("TEST_DATA_SEED", 456, "Seed for the random number generator used for generating "
     "testing data", {"allow_none": True}),
    ("MODEL_SEED", None, "A separate random number seed for the random number generator that "
     "is used during model generation, e.g. for random initial values of synapse weights; "
     "None draws one, which is recorded in NAME.json and the checkpoints",
     {"kind": "int", "check": checks.seed}),
    ("TRIAL_MS", 20.0, "Duration of trials in milliseconds", {"check": checks.positive}),
    ("N_MAX_SPIKE", 400, "Size of the buffer for saved spikes in number of spikes per "
     "neuron; it holds this trial's spikes and the previous trial's not yet replayed "
     "backwards, at most one trial's number of steps (TRIAL_MS / DT_MS), which None "
     "chooses: no spike can then overflow (the engine's event-driven input sizes its "
     "own record to the data)",
     {"kind": "int", "check": checks.positive, "allow_none": True}),
    ("N_BATCH", 32, "Size of mini-batches run in parallel", {"check": checks.positive}),
    ("N_TRAIN", 55000, "Number of training examples", {"check": checks.positive}),
    ("N_EPOCHS", 10, "Number of epochs to train", {"check": checks.non_negative}),
    ("SHUFFLE", True, "Whether to shuffle the inputs in the training set"),
)

N_VALIDATE = Spec("N_VALIDATE", 5000, "Number of examples in the validation set",
                  group="Experiment parameters", check=checks.non_negative)
N_TEST = Spec("N_TEST", 10000, "Number of examples in the test set",
              group="Experiment parameters", kind="int", allow_none=True,
              check=checks.positive)

NETWORK = _g(
    "Network structure",
    ("NUM_HIDDEN", 128, "Number of neurons in the hidden layer", {"check": checks.positive}),
)

MODEL = _g(
    "Model parameters",
    ("TAU_SYN", 5.0, "Synaptic timescale in milliseconds", {"check": checks.positive}),
    ("TAU_MEM", 20.0, "Membrane time constant in milliseconds", {"check": checks.positive}),
    ("V_THRESH", 1.0, "Spiking threshold"),
    ("V_RESET", 0.0, "Reset potential"),
    ("INPUT_HIDDEN_MEAN", 0.078, "Mean synaptic weight from input to hidden neurons"),
    ("INPUT_HIDDEN_STD", 0.045, "Standard deviation of synaptic weights from input to hidden "
     "neurons", {"check": checks.non_negative}),
    ("HIDDEN_OUTPUT_MEAN", 0.2, "Mean synaptic weight from hidden to output neurons"),
    ("HIDDEN_OUTPUT_STD", 0.37, "Standard deviation of synaptic weights from hidden to output "
     "neurons", {"check": checks.non_negative}),
)

# Recurrence, dropout and hidden-layer regularisation (MNIST and SHD).
HIDDEN_EXTRAS = _g(
    "Model parameters",
    ("HIDDEN_HIDDEN_MEAN", 0.2, "Mean of initial synaptic weights of hidden to hidden "
     "recurrent connections"),
    ("HIDDEN_HIDDEN_STD", 0.37, "Standard deviation of initial synaptic weights of hidden to "
     "hidden recurrent connections", {"check": checks.non_negative}),
    ("PDROP_INPUT", 0.2, "Probability of dropping input spikes (training passes; evaluation "
     "sees every spike through input weights scaled by 1 - p)", {"check": checks.probability}),
    ("PDROP_HIDDEN", 0.0, "Probability of dropping spikes in the hidden layer (training "
     "passes; evaluation scales the layer's outgoing weights by 1 - p)",
     {"check": checks.probability}),
    ("REG_TYPE", "none", "Type of regularisation to apply to the hidden layer",
     {"choices": REG_TYPES}),
    ("LBD_UPPER", 0.000005, "Regularisation strength of per-neuron regularisation for "
     "hyper-active neurons"),
    ("LBD_LOWER", 0.001, "Regularisation strength of per-neuron regularisation for neurons "
     "with low activity"),
    ("NU_UPPER", 2.0, "Target activity level per hidden neuron per trial"),
    ("NU_LOWER", 0.1, "(added; no effect) Kept so that parameter files that hold it still "
     "load: the lower regularisation (LBD_LOWER) acts below NU_UPPER, as in genn_eventprop, "
     "so any value other than the default 0.1 is refused", {"check": checks.no_effect(0.1)}),
    ("RHO_UPPER", 5000.0, "Target activity level for the entire hidden layer per trial"),
    ("GLB_UPPER", 1e-5, "Strength of regularisation based on global number of spikes per "
     "trial (type \"Thomas1\")"),
)

LEARNING = _g(
    "Learning parameters",
    ("ETA", 5e-3, "Learning rate", {"check": checks.non_negative}),
    ("ADAM_BETA1", 0.9, "Adam optimiser parameter", {"check": checks.probability}),
    ("ADAM_BETA2", 0.999, "Adam optimiser parameter", {"check": checks.probability}),
    ("ADAM_EPS", 1e-8, "Adam optimiser parameter", {"check": checks.positive}),
    ("WEIGHT_DECAY", 0.0, "(added) Decoupled weight decay (AdamW): each Adam step also "
     "moves every trained weight by -ETA * WEIGHT_DECAY * w (taus are not decayed); 0 = none",
     {"check": checks.non_negative}),
    ("ETA_DECAY", 1.0, "Multiplier for learning rate decay, applied every epoch",
     {"check": checks.positive}),
    ("ETA_WARMUP", 0, "(added) Number of mini-batch updates over which the learning rate "
     "rises linearly to ETA (update n uses ETA * n / ETA_WARMUP); 0 = none. Adam's first "
     "steps move every weight by about ETA whatever its gradient's size, which can silence "
     "much of a hidden layer that sees many input spikes", {"check": checks.non_negative}),
)

# Learning-rate schedule driven by moving averages of validation accuracy:
# when the fast EMA falls below the slow one (and the rate has been fixed for
# MIN_EPOCH_ETA_FIXED epochs) ETA is multiplied by ETA_FAC.
LR_SCHEDULE = _g(
    "Learning parameters",
    ("EMA_ALPHA1", 0.8, "Factor of the fast exponential moving average of accuracy (used for "
     "LR schedule)", {"check": checks.probability}),
    ("EMA_ALPHA2", 0.95, "Factor of the slow exponential moving average of accuracy (used for "
     "LR schedule)", {"check": checks.probability}),
    ("ETA_FAC", 0.5, "Factor by which to multiply the learning rate when applying the LR "
     "schedule", {"check": checks.positive}),
    ("MIN_EPOCH_ETA_FIXED", 300, "Minimal number of epochs that the learning rate stays fixed "
     "during a learning rate schedule", {"check": checks.non_negative}),
)

RECORDING = _g(
    "Recording controls",
    ("SPK_REC_STEPS", None, "Size of the GeNN spike recording buffer in timesteps; None "
     "means TRIAL_MS/DT_MS. Spikes are read out after each trial that "
     "REC_SPIKES_EPOCH_TRIAL names, so one trial is the only size with a use: a run "
     "refuses any other value", {"kind": "int", "check": checks.positive}),
    ("REC_SPIKES", [], "List of neuron populations to record spikes from, possible entries "
     "\"input\", \"hidden\", \"output\" (at the trials of REC_SPIKES_EPOCH_TRIAL: a run "
     "refuses one without the other)", {"check": checks.str_list}),
    ("REC_NEURONS", [], "List of pairs (neuron population, variable name) to record from, "
     "possible entries for population are \"input\", \"hidden\", \"output\" (at the "
     "trials of REC_NEURONS_EPOCH_TRIAL: a run refuses one without the other)",
     {"check": checks.pair_list}),
    ("REC_SYNAPSES", [], "List of pairs (synapse population, synapse variable name) to "
     "record from, possible entries for synapse population are \"in_to_hid\", "
     "\"hid_to_out\" (at the trials of REC_SYNAPSES_EPOCH_TRIAL: a run refuses one "
     "without the other)", {"check": checks.pair_list}),
    ("REC_SPIKES_EPOCH_TRIAL", [], "Controls at which [epoch,trial] to record spikes",
     {"check": checks.epoch_trial_list}),
    ("REC_NEURONS_EPOCH_TRIAL", [], "Controls at which [epoch,trial] to record neuron vars",
     {"check": checks.epoch_trial_list}),
    ("REC_SYNAPSES_EPOCH_TRIAL", [], "Controls at which [epoch,trial] to record synapse vars",
     {"check": checks.epoch_trial_list}),
    ("W_OUTPUT_EPOCH_TRIAL", [], "List of 2-entry lists [epoch,trial] at which to save "
     "weights (replaces the intervals)", {"check": checks.epoch_trial_list}),
    ("W_REPORT_INTERVAL", 100, "How often to save weight matrices; interval in number of "
     "trials", {"check": checks.positive}),
    ("W_EPOCH_INTERVAL", 10, "How often to save weight matrices; interval in terms of epochs",
     {"check": checks.positive}),
    ("WRITE_TO_DISK", True, "Whether to write outputs to disk or just return them from the "
     "run function"),
    ("TRAINING_PLOT", False, "Whether to display plots during training"),
    ("TRAINING_PLOT_INTERVAL", 10, "How often to display a training plot in number of epochs",
     {"check": checks.positive}),
    ("FANCY_PLOTS", False, "Whether to display additional plots"),
    ("CHECKPOINT", True, "(added) Whether to save checkpoints (weights, taus and optimiser "
     "state) of the last and of the best epoch into OUT_DIR"),
    ("LOAD_LAST", False, "Whether to load a checkpoint from a previous run"),
    ("LOAD_BEST", False, "Whether to load a checkpoint of a best observed training stage"),
    ("OVERWRITE", False, "(added) Whether a training run may replace the files of an earlier "
     "run with the same NAME in OUT_DIR (results, parameters, checkpoints); without it such "
     "a run stops with an error unless it resumes that run (LOAD_LAST)"),
    ("COLLECT_CONFUSION", False, "Whether to collect confusion matrices during training / "
     "testing"),
    ("REC_PREDICTIONS", False, "Whether to record the individual predictions during "
     "training / testing (a test pass also writes each sample's output scores, "
     "which train_scripts.ensemble combines)"),
)

LOSS = _g(
    "Loss types and parameters",
    ("LOSS_TYPE", "avg_xentropy", "The loss function to use", {"choices": ALL_LOSS_TYPES}),
    ("EVALUATION", "random", "How to form a validation set", {"choices": ("random",)}),
    ("AVG_SNSUM", False, "Whether to average spike counts across a mini-batch for "
     "regularisation spike counts"),
    ("REDUCED_CLASSES", None, "A list of classes to train; if None, all classes are trained",
     {"kind": "list", "check": checks.int_list}),
    ("TAU_0", 0.5, "Parameter of the first_spike loss functions", {"check": checks.positive}),
    ("TAU_1", 6.4, "Parameter of the first_spike loss functions", {"check": checks.positive}),
    ("ALPHA", 3e-3, "Parameter of the first_spike loss functions"),
)
