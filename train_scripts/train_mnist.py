"""Train MNIST: ``python -m train_scripts.train_mnist DATA_DIR=path [KEY=VALUE ...]``."""
import sys

from params.mnist import defaults
from simulators.mnist import MNISTModel
from train_scripts.cli import run

if __name__ == "__main__":
    sys.exit(run(defaults, MNISTModel))
