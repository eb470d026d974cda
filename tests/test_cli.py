"""Command-line entry points: errors a user can act on are one line, exit 2."""
from params.yinyang import defaults
from simulators.yinyang import YinYangModel
from train_scripts.cli import run


def main(argv):
    return run(defaults, YinYangModel, argv)


def test_a_second_run_with_the_same_name_is_refused_in_one_line(tmp_path, capsys):
    argv = [f"OUT_DIR=\"{tmp_path}\"", "N_TRAIN=64", "N_TEST=32", "N_EPOCHS=1",
            "NUM_HIDDEN=8", "N_THREADS=1", "NAME=\"cli\""]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "OVERWRITE=True" in err
    assert "Traceback" not in err
    assert main(argv + ["OVERWRITE=True"]) == 0


def test_unknown_key_is_refused(capsys):
    assert main(["TRAIL_MS=20"]) == 2
    assert "TRIAL_MS" in capsys.readouterr().err


def test_the_value_none_of_a_choice_parses_as_the_choice():
    from params.shd import defaults as shd_defaults
    from train_scripts.cli import build_params
    p, _ = build_params(shd_defaults, ["REG_TYPE=none", "N_TEST=none"])
    assert p["REG_TYPE"] == "none" and p["N_TEST"] is None
    p, _ = build_params(shd_defaults, ["REG_TYPE=simple"])
    assert p["REG_TYPE"] == "simple"
