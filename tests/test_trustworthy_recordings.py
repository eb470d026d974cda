"""Recordings survive a killed run (issue 12): weight snapshots
(W_OUTPUT_EPOCH_TRIAL) reach OUT_DIR when taken and spike recordings after
every epoch, instead of only at the end of the run; a resumed run keeps the
recordings of the epochs before its checkpoint.

A child process trains and kills itself (SIGKILL, no clean-up) in epoch 1.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulators.yinyang import YinYangModel
from tests.test_trustworthy_runs import small

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from tests.test_trustworthy_runs import small
from simulators.yinyang import YinYangModel

p = small(sys.argv[1], N_EPOCHS=3, REC_SPIKES=["hidden"],
          REC_SPIKES_EPOCH_TRIAL=[[0, 1], [1, 1]], W_OUTPUT_EPOCH_TRIAL=[[0, 1], [1, 0]])
m = YinYangModel(p)

def end_of_epoch(p, epoch, train_stats, row):
    if epoch == 1:          # epoch 1 trained and recorded, not yet saved
        os.kill(os.getpid(), signal.SIGKILL)
m.end_of_epoch = end_of_epoch
m.train(p)
"""


def keys(path):
    with np.load(path) as z:
        return sorted({k.split("_b")[0] for k in z.files})


@pytest.mark.filterwarnings("ignore:resuming from")
def test_recordings_of_finished_epochs_survive_a_kill_and_a_resume(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    # epoch 0 ended: its snapshots are on disk; epoch 1's weights were
    # written when taken, its spikes only go out at the end of an epoch
    assert (tmp_path / "test_w_e0_t1.npz").exists()
    assert (tmp_path / "test_w_e1_t0.npz").exists()
    assert keys(tmp_path / "test_spikes_hidden.npz") == ["e0_t1"]
    with np.load(tmp_path / "test_w_e0_t1.npz") as z:
        assert set(z.files) >= {"w_in0", "w_out"}
    # the resume redoes epoch 1 and keeps epoch 0's recordings
    p = small(tmp_path, N_EPOCHS=2, LOAD_LAST=True, REC_SPIKES=["hidden"],
              REC_SPIKES_EPOCH_TRIAL=[[0, 1], [1, 1]],
              W_OUTPUT_EPOCH_TRIAL=[[0, 1], [1, 0]])
    with pytest.warns(UserWarning, match="stale lock"):     # the killed run's
        res = YinYangModel(p).train(p)
    assert [r["epoch"] for r in res["history"]] == [1]
    assert keys(tmp_path / "test_spikes_hidden.npz") == ["e0_t1", "e1_t1"]
    assert not list(tmp_path.glob(".*.tmp"))
