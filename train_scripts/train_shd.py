"""Train SHD or SSC: ``python -m train_scripts.train_shd [KEY=VALUE ...]``.

The HDF5 files are read from DATA_DIR (see params/shd.py); DATASET=\"SSC\"
switches to Spiking Speech Commands.
"""
import sys

from params.shd import defaults
from simulators.shd import SHDModel
from train_scripts.cli import run


def main(argv=None):
    """Run the command line (``argv`` defaults to sys.argv[1:]); return the exit code."""
    return run(defaults, SHDModel, argv)


if __name__ == "__main__":
    sys.exit(main())
