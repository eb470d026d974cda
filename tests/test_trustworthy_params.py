"""Parameters behind trustworthy runs (issue 12): OVERWRITE, a reproducible
MODEL_SEED and no NaN or infinity in any value."""
import numpy as np
import pytest

from params import describe
from params.mnist import defaults as mnist_defaults
from params.shd import defaults as shd_defaults
from params.yinyang import defaults as yinyang_defaults


def test_overwrite_is_a_described_parameter_of_every_benchmark():
    for p in (yinyang_defaults(), mnist_defaults(), shd_defaults()):
        assert p["OVERWRITE"] is False
        assert "OVERWRITE" in describe("OVERWRITE", p.benchmark)
        with pytest.raises(TypeError, match="OVERWRITE"):
            p["OVERWRITE"] = "yes"


def test_model_seed_zero_is_rejected():
    """GeNN takes seed 0 for "draw one": a run with it could not be repeated."""
    p = yinyang_defaults()
    with pytest.raises(ValueError, match="MODEL_SEED"):
        p["MODEL_SEED"] = 0
    with pytest.raises(ValueError, match="MODEL_SEED"):
        p["MODEL_SEED"] = -3
    p["MODEL_SEED"] = None
    p["MODEL_SEED"] = 1


@pytest.mark.parametrize("key,value,where", [
    ("ETA", float("nan"), "'ETA'"), ("TAU_MEM", float("inf"), "'TAU_MEM'"),
    ("V_THRESH", -np.inf, "'V_THRESH'"),
    ("AUGMENTATION", {"random_shift": float("inf")}, "'AUGMENTATION'"),
])
def test_non_finite_parameter_values_are_rejected(key, value, where):
    """A NaN learning rate or time constant would only show mid-training."""
    p = mnist_defaults() if key == "AUGMENTATION" else yinyang_defaults()
    with pytest.raises(ValueError, match=f"{where}.*finite"):
        p[key] = value
    with pytest.raises(ValueError, match="finite"):
        type(p)(p.benchmark, {key: value})
