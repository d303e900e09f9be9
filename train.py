"""Train the transfer space from the records store: ``python train.py [--store PATH] [--out DIR]``."""

import sys

from fennec.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
