"""Rank the zoo for a new task: ``python recommend.py TASK [--space DIR] [--top-k 10]``."""

import sys

from fennec.cli import main

if __name__ == "__main__":
    sys.exit(main(["recommend", *sys.argv[1:]]))
