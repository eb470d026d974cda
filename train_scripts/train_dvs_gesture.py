"""Train DVS128 Gesture: ``python -m train_scripts.train_dvs_gesture [KEY=VALUE ...]``.

DATA_DIR is the folder tonic's ``DVSGesture(save_to=...)`` downloaded to
(see params/dvs_gesture.py); the first run reads it once through tonic and
caches the binned data.
"""
import sys

from params.dvs_gesture import defaults
from simulators.dvs_gesture import DVSGestureModel
from train_scripts.cli import run


def main(argv=None):
    """Run the command line (``argv`` defaults to sys.argv[1:]); return the exit code."""
    return run(defaults, DVSGestureModel, argv)


if __name__ == "__main__":
    sys.exit(main())
