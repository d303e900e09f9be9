"""bench/recommend.py: bad options are one-line errors with exit code 2 before any index is built; p90 >= median."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from tests.bench.script_errors import one_line_error

PINNED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def script(bench_script, monkeypatch):
    """The script with its benches replaced by failures (none may start on bad options) and the thread pins of
    this process restored after the test."""
    module = bench_script("recommend")
    for var in PINNED:
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)

    def no_bench(*args: object, **kwargs: object) -> dict:
        pytest.fail("a bench ran before the options were checked")

    for name in ("bench_large", "bench_batch", "bench_e2e"):
        monkeypatch.setattr(module, name, no_bench)
    return module


def test_bad_options_exit_2_with_one_line_before_any_work(script, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    out = tmp_path / "r.json"
    cases = {"--models: expected a positive integer, got 0": ["--models", "0"],
             "--queries: expected a positive integer, got 0": ["--queries", "0"],
             "--batch-tasks: expected a positive integer, got 0": ["--batch-tasks", "0"],
             "--batch-models: expected a positive integer, got -1": ["--batch-models", "-1"],
             "needs a zoo of at least": ["--models", "1000"],
             "--batch-models 3: the batched search (b) is a top-10 search": ["--batch-models", "3", "--skip-e2e"],
             "--e2e-repeats 0: give at least 1": ["--e2e-repeats", "0"],
             "is a directory": ["--out", str(tmp_path)],
             "is a file, not a folder": ["--out", str(afile / "x.json")],
             "--out: empty path": ["--out", ""],
             "holds no manifest.json": ["--space", str(tmp_path)]}
    for match, argv in cases.items():
        if "--out" not in argv:
            argv = [*argv, "--out", str(out)]
        assert script.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and one_line_error(err, "recommend"), err
    assert not out.exists()


@pytest.mark.parametrize("threads", ["0", "-1", "50000", "100000", str((os.cpu_count() or 1) + 1)])
def test_threads_below_one_or_above_the_cores_are_refused_before_the_pools_are_pinned(script, tmp_path, capsys,
                                                                                         threads):
    before = {var: os.environ.get(var) for var in PINNED}
    assert script.main(["--threads", threads, "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err == (f"recommend: error: --threads: expected a positive integer of at most "
                   f"{os.cpu_count() or 1} (the cores of this machine), got {threads}\n")
    assert {var: os.environ.get(var) for var in PINNED} == before  # OMP_NUM_THREADS=0 was never set


def test_p90_is_numpys_percentile_and_never_below_the_median(script, monkeypatch):
    # two queries of 1 ms and 10 ms: the old times[int(0.9 * (n - 1))] gave 1 ms, below the 5.5 ms median
    clock = iter([0.0, 0.001, 0.0, 0.010])
    monkeypatch.setattr(script, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    tasks = np.zeros((2, 3), np.float32)
    median, p90, found = script.per_task_ms(lambda q: np.zeros((len(q), 1), np.int64), tasks, batched=False)
    assert median == pytest.approx(5.5) and p90 == pytest.approx(9.1)
    assert p90 >= median and len(found) == 2
