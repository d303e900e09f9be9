"""Build the small shipped example task ``data/examples/example_task.npz`` (deterministic, < 200 KB).

Target task: scikit-learn's 8x8 digits, second half of the examples, 10 classes; ``features`` are the raw
pixels (N x 64, uint8). ``probs`` come from a "source model": a logistic regression trained on the *first*
half of the examples with a different label space (digit mod 5, 5 source classes), applied to the target
examples, so that LEEP / NCE see a real source-to-target label shift. No gradients: every scorer except
``lgc`` can run on it.

    python bench/make_example_task.py [--out data/examples/example_task.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from fennec.io import write_npz
from fennec.validation import FennecInputError, check_output_file

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "examples" / "example_task.npz"


def make_task() -> dict[str, np.ndarray]:
    """The example task's arrays: features (uint8), labels (int64), probs (float32, rows sum to 1)."""
    digits = load_digits()
    x, y = digits.data, digits.target
    half = x.shape[0] // 2
    source = LogisticRegression(max_iter=2000).fit(x[:half] / 16.0, y[:half] % 5)
    probs = source.predict_proba(x[half:] / 16.0)
    return {
        "features": x[half:].astype(np.uint8),
        "labels": y[half:].astype(np.int64),
        "probs": probs.astype(np.float32),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the example task; a bad --out is one line on stderr and exit code 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        check_output_file(args.out, "--out")
        arrays = make_task()
        write_npz(args.out, **arrays)
    except FennecInputError as err:
        print(f"make_example_task: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB): "
          + ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in arrays.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
