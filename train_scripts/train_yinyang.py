"""Train Yin-Yang: ``python -m train_scripts.train_yinyang [KEY=VALUE ...]``."""
import sys

from params.yinyang import defaults
from simulators.yinyang import YinYangModel
from train_scripts.cli import run

if __name__ == "__main__":
    sys.exit(run(defaults, YinYangModel))
