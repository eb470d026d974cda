"""Train spiking sequential MNIST: ``python -m train_scripts.train_smnist [KEY=VALUE ...]``.

DATA_DIR is the folder tonic's ``SMNIST(save_to=...)`` downloaded to, with
the MNIST IDX files in its smnist/ folder (see params/smnist.py).
"""
import sys

from params.smnist import defaults
from simulators.smnist import SMNISTModel
from train_scripts.cli import run


def main(argv=None):
    """Run the command line (``argv`` defaults to sys.argv[1:]); return the exit code."""
    return run(defaults, SMNISTModel, argv)


if __name__ == "__main__":
    sys.exit(main())
