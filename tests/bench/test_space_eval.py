"""bench/space_eval.py: the README's numbers come from it, so its seed must reach the harness."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("space_eval", ROOT / "bench" / "space_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_draws_other_cold_start_folds_and_repeats_itself(shipped_store_file, tmp_path):
    script = load_script()

    def run(seed: int, name: str) -> dict:
        out = tmp_path / name
        argv = ["--benchmark", "sfda_supervised", "--protocol", "lomo", "--methods", "random", "params",
                "--store", str(shipped_store_file), "--seed", str(seed), "--out", str(out)]
        assert script.main(argv) == 0
        return json.loads(out.read_text())["sfda_supervised"]["lomo"]

    first, again, other = run(1, "a.json"), run(1, "b.json"), run(2, "c.json")
    assert first["random"]["per_dataset"] == again["random"]["per_dataset"]
    assert first["random"]["per_dataset"] != other["random"]["per_dataset"]
    # the parameter count is a fixed score: the folds it is pooled from do not change it
    assert first["params"]["mean"] == other["params"]["mean"]
