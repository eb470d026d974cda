"""SHD training learns at realistic trial lengths (1 s at dt 1 ms).

The task (tests/timing_task.py) has equal spike counts in every class: only
spike timing tells the classes apart, so a network learns it only through
correct gradients of the hidden layer over the whole trial. Before the
sum-family readout integrated V exactly over each step, its adjoint came in
pulses on the time grid and the hidden gradients at dt 1 ms were dominated by
that sampling: these networks stayed near chance (or anti-learned).
"""
import warnings
import numpy as np
import pytest

from params.shd import defaults
from simulators.shd import SHDModel
from tests.shd_files import write_vlen
from tests.timing_task import N_CH, N_CLASSES, make_samples

pytestmark = pytest.mark.filterwarnings("ignore:N_TRAIN=")

CHANCE = 1.0 / N_CLASSES


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("timing_task")
    write_vlen(d / "shd_train.h5", *make_samples(6, seed=0))
    write_vlen(d / "shd_test.h5", *make_samples(4, seed=1))
    return d


def params(data, out, **kw):
    p = defaults()
    p.update({"DATA_DIR": str(data), "DATA_CACHE_DIR": str(data / "cache"),
              "OUT_DIR": str(out), "WRITE_TO_DISK": False, "TRIAL_MS": 1000.0,
              "NUM_HIDDEN": 32, "N_BATCH": 8, "N_VALIDATE": 0, "N_EPOCHS": 30,
              "MODEL_SEED": 1, "N_MAX_SPIKE": 400, "N_THREADS": 1,
              "INPUT_HIDDEN_MEAN": 0.3, "INPUT_HIDDEN_STD": 0.15, "ETA": 1e-2})
    p.update(kw)
    return p


def train_and_test(p):
    m = SHDModel(p, n_channels=N_CH)
    hist = m.train(p)["history"]
    for h in hist:
        assert np.isfinite(h["train_loss"])
    return m, hist, m.test(p)


# (loss, test accuracy it must reach; chance is 0.25). The sum family learns
# this task well; max and the first-spike losses read one instant per output
# and learn it less well in 30 epochs, but clearly above chance. The
# first-spike losses need outputs that spike: stronger output weights.
# sum: 0.61-0.67 over model seeds 1-5 (0.55-0.63 while evaluation kept the
# training dropout): its threshold is 2x chance, not a coin flip at one seed.
SPIKING_OUT = {"HIDDEN_OUTPUT_MEAN": 1.0, "HIDDEN_OUTPUT_STD": 0.5}
LOSSES = [("sum_weigh_exp", 0.75, {}), ("sum", 0.5, {}), ("sum_weigh_linear", 0.75, {}),
          ("sum_weigh_sigmoid", 0.75, {}), ("sum_weigh_input", 0.75, {}),
          ("max", 0.4, {}), ("first_spike", 0.5, SPIKING_OUT),
          ("first_spike_exp", 0.6, SPIKING_OUT)]


@pytest.mark.parametrize("loss,target,kw", LOSSES, ids=[x[0] for x in LOSSES])
def test_every_loss_learns_timing_in_1s_trials(data, tmp_path, loss, target, kw):
    _, hist, test = train_and_test(params(data, tmp_path, LOSS_TYPE=loss, **kw))
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert test["acc"] >= target, f"{loss}: test accuracy {test['acc']:.3f}"


def test_avg_xentropy_learns_timing_in_1s_trials_through_its_readout(data, tmp_path):
    """avg_xentropy scores every time step, and in 1 s trials most steps carry
    no class evidence: its exact gradient lowers the hidden activity (output
    fluctuations raise the per-step cross-entropy) until the layer falls
    silent. Its readout gradient must still learn the task. Without input
    dropout: the outcome at this threshold depended on the dropout stream
    (test accuracy 0.30-0.52 over model seeds, with either input source)."""
    _, hist, test = train_and_test(params(data, tmp_path, LOSS_TYPE="avg_xentropy",
                                          TRAIN_W=False, N_EPOCHS=10, PDROP_INPUT=0.0,
                                          HIDDEN_OUTPUT_MEAN=0.0,
                                          HIDDEN_OUTPUT_STD=0.01, ETA=5e-3))
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert test["acc"] >= 0.4


def test_recurrent_network_with_augmentation_learns_without_nan(data, tmp_path):
    # random_shift moves channels (SHD: 40 of 700); 4 of this task's 40
    p = params(data, tmp_path, RECURRENT=True, HIDDEN_HIDDEN_MEAN=0.0,
               HIDDEN_HIDDEN_STD=0.05, AUGMENTATION={"random_shift": 4},
               REG_TYPE="simple", NU_UPPER=20, LBD_LOWER=1e-6, LBD_UPPER=1e-6,
               N_MAX_SPIKE=800, MODEL_SEED=2)
    m, hist, test = train_and_test(p)
    for name, w in m.net.state_dict().items():
        assert np.all(np.isfinite(w)), name
    assert test["acc"] >= 0.6


def test_readout_only_training_lowers_the_loss(data, tmp_path):
    """Hidden weights frozen: a convex problem in the output weights, whose
    loss must fall steadily (it rose before the readout was fixed)."""
    p = params(data, tmp_path, TRAIN_W=False, N_EPOCHS=15, ETA=3e-2)
    m, hist, test = train_and_test(p)
    losses = np.array([h["train_loss"] for h in hist])
    assert losses[-1] < losses[0] - 0.02
    assert np.all(np.diff(losses[5:]) < 0.01)
    assert test["acc"] > CHANCE + 0.1


@pytest.mark.parametrize("loss", ["first_spike", "first_spike_exp"])
def test_first_spike_losses_with_trained_output_taus_stay_finite(data, tmp_path, loss):
    """96 samples in batches of 10: the last mini-batch has 4 empty slots,
    whose outputs are all silent (a 0/0 in the softmax over spike times)."""
    p = params(data, tmp_path, LOSS_TYPE=loss, N_BATCH=10, N_EPOCHS=2,
               TRAIN_TAU_OUTPUT=True, **SPIKING_OUT)
    m, hist, test = train_and_test(p)
    for name, w in m.net.state_dict().items():
        assert np.all(np.isfinite(w)), name
    assert np.isfinite(test["loss"])


def test_a_silent_hidden_layer_is_reported(data, tmp_path):
    p = params(data, tmp_path, INPUT_HIDDEN_MEAN=0.0, INPUT_HIDDEN_STD=0.0,
               N_EPOCHS=1)
    with pytest.warns(RuntimeWarning, match="hidden layer 0 did not spike"):
        SHDModel(p, n_channels=N_CH).train(p)


def test_a_regulariser_that_silences_the_layer_is_named(data, tmp_path):
    """A regulariser strong against the loss gradient silences the layer
    (on SHD even LBD_UPPER 1e-9 does: Adam makes its steady push full-size);
    the warning names LBD_UPPER."""
    p = params(data, tmp_path, REG_TYPE="simple", LBD_UPPER=1.0, N_EPOCHS=4, ETA=0.1)
    with pytest.warns(RuntimeWarning, match="REG_TYPE='simple' lower LBD_UPPER"):
        SHDModel(p, n_channels=N_CH).train(p)


def test_adam_silencing_much_of_the_layer_is_reported_and_warmup_keeps_it(data, tmp_path):
    """A large ETA silences most of the hidden layer in the first epoch
    (Adam's first updates move every weight by about ETA); the run says so
    once. ETA_WARMUP ramps those updates and keeps the layer spiking."""
    def run(out, **kw):
        p = params(data, tmp_path / out, NUM_HIDDEN=64, N_EPOCHS=4, ETA=0.3, **kw)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            hist = SHDModel(p, n_channels=N_CH).train(p)["history"]
        said = [str(w.message) for w in rec if "of hidden layer 0 did not spike" in str(w.message)]
        return [h["train_hid0_silent"] for h in hist], said

    silent, said = run("plain")
    assert silent[0] == 0.0 and min(silent[1:]) >= 0.5
    assert len(said) == 1 and "ETA_WARMUP" in said[0]
    silent_w, said_w = run("warm", ETA_WARMUP=30)
    assert not said_w
    assert max(silent_w) < 0.5 * min(silent[1:])
