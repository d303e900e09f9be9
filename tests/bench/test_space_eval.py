"""bench/space_eval.py: the README's numbers come from it, so its seed must reach the harness."""

from __future__ import annotations

import json


def test_seed_draws_other_cold_start_folds_and_repeats_itself(shipped_store_file, tmp_path, bench_script):
    script = bench_script("space_eval")

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
