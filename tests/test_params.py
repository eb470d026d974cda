"""Tests of the validating parameter dicts in params/."""

import json
import pickle

import pytest

import params
from params import Params, UnknownParameterError, describe, spk_rec_steps, validate
from params import mnist, shd, yinyang

# Keys of the parameter tables of the original genn_eventprop README.
YINYANG_TABLE = {
    "OUT_DIR": ".", "DT_MS": 0.1, "BUILD": True, "TIMING": True,
    "TRAIN_DATA_SEED": 123, "TEST_DATA_SEED": 456, "TRIAL_MS": 30.0, "N_MAX_SPIKE": 400,
    "N_BATCH": 32, "N_TRAIN": 96000, "N_EPOCHS": 10, "N_TEST": 2400,
    "NUM_HIDDEN": 200,
    "TAU_SYN": 5.0, "TAU_MEM": 20.0, "V_THRESH": 1.0, "V_RESET": 0.0, "TAU_0": 0.5,
    "TAU_1": 6.4, "ALPHA": 3e-3, "INPUT_HIDDEN_MEAN": 1.5, "INPUT_HIDDEN_STD": 0.78,
    "HIDDEN_OUTPUT_MEAN": 0.93, "HIDDEN_OUTPUT_STD": 0.1,
    "ETA": 5e-3, "ADAM_BETA1": 0.9, "ADAM_BETA2": 0.999, "ADAM_EPS": 1e-8, "ETA_DECAY": 0.95,
    "SPK_REC_STEPS": None, "REC_SPIKES": [], "REC_NEURONS": [], "REC_SYNAPSES": [],
    "WRITE_TO_DISK": True, "TRAINING_PLOT": False, "TRAINING_PLOT_INTERVAL": 10,
    "FANCY_PLOTS": False, "LOAD_LAST": False, "W_REPORT_INTERVAL": 100,
    "W_EPOCH_INTERVAL": 10,
}

MNIST_TABLE = {
    "NAME": "test", "DEBUG_HIDDEN_N": False, "OUT_DIR": ".", "DT_MS": 1.0, "BUILD": True,
    "TIMING": True,
    "TRAIN_DATA_SEED": 123, "TEST_DATA_SEED": 456, "MODEL_SEED": None, "TRIAL_MS": 20.0,
    "N_MAX_SPIKE": 50, "N_TRAIN": 55000, "N_VALIDATE": 5000, "SHUFFLE": True,
    "N_TEST": 10000,
    "NUM_HIDDEN": 128, "RECURRENT": False,
    "TAU_SYN": 5.0, "TAU_MEM": 20.0, "V_THRESH": 1.0, "V_RESET": 0.0,
    "INPUT_HIDDEN_MEAN": 0.078, "INPUT_HIDDEN_STD": 0.045, "HIDDEN_OUTPUT_MEAN": 0.2,
    "HIDDEN_OUTPUT_STD": 0.37, "HIDDEN_HIDDEN_MEAN": 0.2, "HIDDEN_HIDDEN_STD": 0.37,
    "PDROP_INPUT": 0.2, "PDROP_HIDDEN": 0.0, "REG_TYPE": "none", "LBD_UPPER": 0.000005,
    "LBD_LOWER": 0.001, "NU_UPPER": 2, "RHO_UPPER": 5000.0, "GLB_UPPER": 1e-5,
    "ETA": 5e-3, "ADAM_BETA1": 0.9, "ADAM_BETA2": 0.999, "ADAM_EPS": 1e-8,
    "W_OUTPUT_EPOCH_TRIAL": [], "SPK_REC_STEPS": None, "REC_SPIKES_EPOCH_TRIAL": [],
    "REC_SPIKES": [], "REC_NEURONS_EPOCH_TRIAL": [], "REC_NEURONS": [],
    "REC_SYNAPSES_EPOCH_TRIAL": [], "REC_SYNAPSES": [], "WRITE_TO_DISK": True,
    "LOAD_LAST": False,
    "LOSS_TYPE": "avg_xentropy", "EVALUATION": "random", "CUDA_VISIBLE_DEVICES": True,
    "AVG_SNSUM": False, "REDUCED_CLASSES": None, "TAU_0": 0.5, "TAU_1": 6.4, "ALPHA": 3e-3,
}

# the table's values, except where params/shd.py says why SHD differs
SHD_TABLE = {
    "NAME": "test", "DEBUG_HIDDEN_N": False, "OUT_DIR": ".", "DT_MS": 1.0, "BUILD": True,
    "TIMING": True,
    "TRAIN_DATA_SEED": 123, "TEST_DATA_SEED": 456, "MODEL_SEED": None, "TRIAL_MS": 1400.0,
    "N_MAX_SPIKE": None, "N_TRAIN": 7644, "N_VALIDATE": 512, "SHUFFLE": True,
    "NUM_HIDDEN": 256, "RECURRENT": False, "N_HID_LAYER": 1,
    "TAU_SYN": 5.0, "TAU_MEM": 20.0, "V_THRESH": 1.0, "V_RESET": 0.0,
    "HIDDEN_NEURON_TYPE": "LIF", "OUTPUT_NEURON_TYPE": "LI", "TAU_B": 100.0, "B_INCR": 0.1,
    "B_INIT": 0.0, "INPUT_HIDDEN_MEAN": 0.03, "INPUT_HIDDEN_STD": 0.01,
    "HIDDEN_OUTPUT_MEAN": 0.2, "HIDDEN_OUTPUT_STD": 0.37, "HIDDEN_HIDDEN_MEAN": 0.0,
    "HIDDEN_HIDDEN_STD": 0.02, "HIDDEN_HIDDENFWD_MEAN": 0.02, "HIDDEN_HIDDENFWD_STD": 0.01,
    "PDROP_INPUT": 0.2, "PDROP_HIDDEN": 0.0, "REG_TYPE": "none", "LBD_UPPER": 0.000005,
    "LBD_LOWER": 0.001, "NU_UPPER": 2, "RHO_UPPER": 5000.0, "GLB_UPPER": 1e-5,
    "REWIRE_SILENT": False, "REWIRE_LIFT": 0.0,
    "ETA": 1e-3, "ADAM_BETA1": 0.9, "ADAM_BETA2": 0.999, "ADAM_EPS": 1e-8,
    "EMA_ALPHA1": 0.8, "EMA_ALPHA2": 0.95, "ETA_FAC": 0.5, "MIN_EPOCH_ETA_FIXED": 300,
    "TRAIN_TAU": False, "MIN_TAU_M": 3.0, "MIN_TAU_SYN": 1.0, "TRAIN_TAU_OUTPUT": False,
    "TRAIN_W": True, "TRAIN_W_OUTPUT": True,
    "W_OUTPUT_EPOCH_TRIAL": [], "TAU_OUTPUT_EPOCH_TRIAL": [], "SPK_REC_STEPS": None,
    "REC_SPIKES_EPOCH_TRIAL": [], "REC_SPIKES": [], "REC_NEURONS_EPOCH_TRIAL": [],
    "REC_NEURONS": [], "REC_SYNAPSES_EPOCH_TRIAL": [], "REC_SYNAPSES": [],
    "WRITE_TO_DISK": True, "LOAD_LAST": False, "LOAD_BEST": False,
    "LOSS_TYPE": "sum_weigh_exp", "EVALUATION": "random", "SPEAKER_LEFT": [0],
    "CUDA_VISIBLE_DEVICES": True, "AVG_SNSUM": False, "REDUCED_CLASSES": None, "TAU_0": 1.0,
    "TAU_1": 100.0, "ALPHA": 5e-5, "AUGMENTATION": {}, "COLLECT_CONFUSION": False,
    "REC_PREDICTIONS": False,
}

MODULES = [(yinyang, YINYANG_TABLE), (mnist, MNIST_TABLE), (shd, SHD_TABLE)]


@pytest.mark.parametrize("module,table", MODULES)
def test_every_table_key_with_its_default(module, table):
    p = module.defaults()
    assert isinstance(p, Params) and isinstance(p, dict)
    assert json.loads(json.dumps(dict(p))) == p
    for key, default in table.items():
        assert key in p, key
        assert p[key] == default, (key, p[key], default)
    # every key has a description
    for key in p:
        assert describe(key, module.BENCHMARK).startswith(key + ": ")


def test_added_keys_present():
    for module in (yinyang, mnist, shd):
        p = module.defaults()
        for key in ("N_BATCH", "NAME", "MODEL_SEED", "N_EPOCHS", "VERBOSE", "BACKEND",
                    "N_THREADS", "CHECKPOINT", "LOAD_BEST", "TRAINING_PLOT"):
            assert key in p, (module.BENCHMARK, key)
    assert mnist.defaults()["DATA_DIR"] == "data/mnist"
    s = shd.defaults()
    assert s["DATA_DIR"] == "data/shd" and s["DATASET"] == "SHD"
    assert s["N_INPUT_DELAY"] == 0 and s["INPUT_DELAY"] == 30.0
    assert s["NORMALISE_SPIKE_NUMBER"] is False and s["ETA_DECAY"] == 1.0
    assert mnist.defaults()["ETA_DECAY"] == 1.0
    assert isinstance(yinyang.defaults()["N_TRAIN"], int)


def test_defaults_are_fresh_objects():
    a, b = shd.defaults(), shd.defaults()
    assert a is not b and a == b
    a["REC_SPIKES"].append("hidden")
    a["AUGMENTATION"]["random_shift"] = 40
    a["SPEAKER_LEFT"].append(3)
    assert b["REC_SPIKES"] == [] and b["AUGMENTATION"] == {} and b["SPEAKER_LEFT"] == [0]
    assert shd.defaults()["REC_SPIKES"] == []


def test_misspelt_key_names_nearest():
    p = yinyang.defaults()
    with pytest.raises(KeyError) as err:
        p["TRAIL_MS"] = 100
    assert "TRAIL_MS" in str(err.value) and "'TRIAL_MS'" in str(err.value)
    assert "yinyang" in str(err.value)
    with pytest.raises(UnknownParameterError, match="NUM_HIDDEN"):
        shd.defaults()["NUM_HIDEN"]
    with pytest.raises(KeyError, match="ADAM_BETA1"):
        mnist.defaults().get("ADAM_BETA_1")
    # keys renamed from the original code say what they are now called
    with pytest.raises(KeyError, match="N_EPOCHS"):
        shd.defaults()["N_EPOCH"] = 10
    with pytest.raises(KeyError, match="DATASET"):
        shd.defaults()["DATA_SET"] = "SSC"
    # the misspelt key was not stored
    assert "TRAIL_MS" not in p


def test_wrong_types():
    p = shd.defaults()
    with pytest.raises(TypeError, match="TRIAL_MS.*float"):
        p["TRIAL_MS"] = "1000"
    with pytest.raises(TypeError, match="NUM_HIDDEN.*int"):
        p["NUM_HIDDEN"] = 256.5
    with pytest.raises(TypeError, match="RECURRENT.*bool"):
        p["RECURRENT"] = 1
    with pytest.raises(TypeError, match="REC_SPIKES"):
        p["REC_SPIKES"] = "hidden"
    with pytest.raises(TypeError, match="AUGMENTATION.*dict"):
        p["AUGMENTATION"] = [1]
    with pytest.raises(TypeError, match="ETA"):
        p["ETA"] = None
    # accepted conversions
    p["TRIAL_MS"] = 1000
    assert p["TRIAL_MS"] == 1000.0 and isinstance(p["TRIAL_MS"], float)
    p["REC_SPIKES"] = ("input", "hidden")
    assert p["REC_SPIKES"] == ["input", "hidden"]
    p["MODEL_SEED"] = 7
    p["MODEL_SEED"] = None
    p["SPK_REC_STEPS"] = 500
    p["REDUCED_CLASSES"] = [0, 1]
    p["SPEAKER_LEFT"] = 2  # the original code's bare int
    assert p["SPEAKER_LEFT"] == [2]


@pytest.mark.parametrize("key,value,module", [
    ("LOSS_TYPE", "cross_entropy", shd),
    ("LOSS_TYPE", "sum_weigh_exp", mnist),   # not in MNIST's subset
    ("HIDDEN_NEURON_TYPE", "Izhikevich", shd),
    ("OUTPUT_NEURON_TYPE", "LIF", shd),
    ("REG_TYPE", "L2", mnist),
    ("EVALUATION", "speaker", mnist),
    ("EVALUATION", "kfold", shd),
    ("DATASET", "MNIST", shd),
    ("AUGMENTATION", {"random_shfit": 4}, shd),
])
def test_bad_choice_lists_choices(key, value, module):
    p = module.defaults()
    with pytest.raises(ValueError) as err:
        p[key] = value
    assert key in str(err.value)
    spec = params.base.specs_for(module.BENCHMARK)[key]
    for choice in spec.choices:
        assert repr(choice) in str(err.value)


def test_good_choices_and_value_checks():
    p = shd.defaults()
    for v in ("first_spike", "max", "sum_weigh_input", "avg_xentropy"):
        p["LOSS_TYPE"] = v
    p["HIDDEN_NEURON_TYPE"] = "ALIF"
    p["EVALUATION"] = "speaker"
    p["DATASET"] = "SSC"
    p["AUGMENTATION"] = {"random_shift": 40, "random_dilate": (0.9, 1.1), "ID_jitter": 5,
                         "blend": [0.5, 0.5]}
    assert p["AUGMENTATION"]["random_dilate"] == [0.9, 1.1]
    with pytest.raises(ValueError, match="random_dilate"):
        p["AUGMENTATION"] = {"random_dilate": [1.2, 0.9]}
    with pytest.raises(ValueError, match="PDROP_INPUT"):
        p["PDROP_INPUT"] = 1.5
    with pytest.raises(ValueError, match="SPEAKER_LEFT"):
        p["SPEAKER_LEFT"] = [10]
    with pytest.raises(ValueError, match="epoch, trial"):
        p["W_OUTPUT_EPOCH_TRIAL"] = [[1, 2, 3]]


def test_json_round_trip_and_validate():
    p = shd.defaults()
    p["TRIAL_MS"] = 1000.0
    p["AUGMENTATION"] = {"random_shift": 40}
    p["REC_NEURONS"] = [("hidden", "V")]
    text = json.dumps(dict(p))
    q = validate(json.loads(text), "shd")
    assert isinstance(q, Params) and q == p
    # missing keys take defaults; bad keys in a loaded file are caught
    r = validate({"TRIAL_MS": 500}, "shd")
    assert r["TRIAL_MS"] == 500.0 and r["NUM_HIDDEN"] == 256
    with pytest.raises(KeyError, match="TRIAL_MS"):
        validate({"TRAIL_MS": 500}, "shd")
    with pytest.raises(ValueError, match="benchmark"):
        validate({}, "cifar")


def test_pickle_copy_and_update():
    p = mnist.defaults()
    p["NUM_HIDDEN"] = 350
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is Params and q == p and q.benchmark == "mnist"
    with pytest.raises(KeyError):
        q["TRAIL_MS"] = 1
    c = p.copy()
    assert type(c) is Params and c == p
    c["REC_SPIKES"].append("output")
    assert p["REC_SPIKES"] == []
    with pytest.raises(KeyError, match="TRIAL_MS"):
        p.update({"TRAIL_MS": 3})
    with pytest.raises(KeyError, match="TRIAL_MS"):
        p |= {"TRAIL_MS": 3}
    merged = p | {"TRIAL_MS": 25}
    assert type(merged) is Params and merged["TRIAL_MS"] == 25.0 and p["TRIAL_MS"] == 20.0
    with pytest.raises(TypeError):
        del p["NAME"]
    assert p.changed() == {"NUM_HIDDEN": 350}


def test_spk_rec_steps_default():
    p = yinyang.defaults()
    assert p["SPK_REC_STEPS"] is None
    assert spk_rec_steps(p) == 300
    p["SPK_REC_STEPS"] = 123
    assert spk_rec_steps(p) == 123


def test_describe_all_mentions_every_key():
    text = params.describe_all("shd")
    for key in shd.defaults():
        assert f"| {key} |" in text
