"""`fennec evaluate` through the CLI (in-process): what a user probe found -- the JSON's shape moved with the number
of methods, a one-model benchmark was evaluated (lodo) or refused in contradictory words (lomo), a repeated method
was compared with itself, a paired heading could stand over nothing, --folds was ignored under lodo, and an
unwritable --plot was found only after the table."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fennec.validation import check_can_write_in

RunCli = Callable[..., tuple[int, str, str]]
TOP_KEYS = ["benchmark", "protocol", "seed", "folds", "reports", "paired"]
PAIRED_KEYS = ["method", "versus", "key", "n", "mean", "low", "high", "wins", "losses", "confidence"]


@pytest.fixture
def small_store(tmp_path: Path, run_cli: RunCli) -> Callable[[list[str]], str]:
    """``small_store(rows)``: an empty store with the CSV ``rows`` (benchmark,model,dataset,metric,value) ingested."""

    def make(rows: list[str]) -> str:
        path = str(tmp_path / "small.sqlite")
        csv = tmp_path / "small.csv"
        csv.write_text("\n".join(["benchmark,model,dataset,metric,value", *rows]) + "\n")
        assert run_cli("records", "init", "--empty", "--store", path)[0] == 0
        code, _, err = run_cli("records", "ingest", csv, "--store", path)
        assert code == 0, err
        return path

    return make


ONE_MODEL = ["one,timm:resnet18,d1,top1_acc,80", "one,timm:resnet18,d2,top1_acc,70"]


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err


# ------------------------------------------------------------------------------------------- 1. JSON shape


def test_json_is_one_object_whatever_the_number_of_methods(store_path: str, run_cli: RunCli) -> None:
    base = ("evaluate", "--benchmark", "parc_controlled", "--dataset", "pets", "--dataset", "cub200", "--dataset",
            "nabird", "--store", store_path)
    code, out, err = run_cli(*base, "--method", "prior", "--format", "json")
    assert code == 0, err
    one = json.loads(out)
    code, out, err = run_cli(*base, "--method", "prior", "--method", "params", "--format", "json")
    assert code == 0, err
    two = json.loads(out)
    for summary in (one, two):
        assert list(summary) == TOP_KEYS
        assert (summary["benchmark"], summary["protocol"], summary["seed"], summary["folds"]) == (
            "parc_controlled", "lodo", 0, None)
    assert [r["method"] for r in one["reports"]] == ["prior"] and one["paired"] == []
    assert [r["method"] for r in two["reports"]] == ["prior", "params"]
    assert one["reports"][0] == two["reports"][0]  # the same report, wrapped the same way
    # the table's paired comparison is in the JSON, the same numbers
    assert [list(d) for d in two["paired"]] == [PAIRED_KEYS, PAIRED_KEYS]
    tau, parc = two["paired"]
    assert (tau["method"], tau["versus"], tau["key"], parc["key"]) == ("prior", "params", "weighted_tau",
                                                                       "pearson_parc")
    assert (tau["n"], tau["wins"] + tau["losses"] <= 3, tau["confidence"]) == (3, True, 0.9)
    assert tau["low"] <= tau["mean"] <= tau["high"]
    code, table, _ = run_cli(*base, "--method", "prior", "--method", "params")
    assert code == 0
    for d in (tau, parc):
        k = d["key"]
        fmt = "{:+.1f}" if k == "pearson_parc" else "{:+.3f}"
        line = (f"prior - params  {k}: {fmt.format(d['mean'])}  90% CI [{fmt.format(d['low'])}, "
                f"{fmt.format(d['high'])}]  won {d['wins']} / lost {d['losses']} of 3 datasets")
        assert line in table


def test_json_of_lomo_names_its_folds(store_path: str, run_cli: RunCli) -> None:
    code, out, err = run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--protocol", "lomo",
                             "--dataset", "cifar10", "--format", "json", "--seed", "3", "--store", store_path)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["protocol"], summary["seed"], summary["folds"]) == ("lomo", 3, 5)  # the default, written out


def test_the_command_s_default_folds_are_the_harness_s() -> None:
    """The command keeps its own copy (importing the harness would load scipy for every command's parser)."""
    import fennec.commands.evaluate
    from fennec.evaluation.protocols import LOMO_FOLDS

    assert fennec.commands.evaluate.LOMO_FOLDS == LOMO_FOLDS


# ------------------------------------------------------------------------------------ 2. one-model benchmarks


@pytest.mark.parametrize("protocol", ["lodo", "lomo"])
def test_a_benchmark_of_one_model_is_refused_in_words_that_fit(small_store, run_cli: RunCli, protocol: str) -> None:
    """lodo printed rel@1 = 1.000 and every correlation '-' with exit 0; lomo said "1 models, fewer than 5 folds;
    use --folds 1 or fewer (at least 2)"."""
    store = small_store(ONE_MODEL)
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "one", "--method", "params", "--protocol", protocol,
                                   "--store", store))
    assert ("--benchmark 'one': results of 1 model (timm:resnet18) on its target datasets; ranking methods needs "
            "at least 2 models") in err
    assert "folds" not in err


def test_a_target_dataset_of_one_model_is_refused_naming_it(small_store, run_cli: RunCli) -> None:
    store = small_store(["b,timm:resnet18,d1,top1_acc,80", "b,timm:resnet34,d1,top1_acc,82",
                         "b,timm:resnet18,d2,top1_acc,70", "b,timm:resnet34,d2,top1_acc,75",
                         "b,timm:resnet50,lonely,top1_acc,60"])
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "b", "--method", "params", "--store", store))
    assert "target dataset 'lonely' (1 model): ranking needs results of at least 2 models per dataset" in err
    assert "evaluate the others (--dataset d1 --dataset d2)" in err
    code, out, err = run_cli("evaluate", "--benchmark", "b", "--method", "params", "--dataset", "d1",
                             "--dataset", "d2", "--store", store)
    assert code == 0, err
    assert "d1" in out and "lonely" not in out


def test_lomo_with_more_folds_than_models_says_what_fits(small_store, run_cli: RunCli) -> None:
    store = small_store(["b,timm:resnet18,d1,top1_acc,80", "b,timm:resnet34,d1,top1_acc,82"])
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "b", "--method", "params", "--protocol", "lomo",
                                   "--store", store))
    assert "--benchmark 'b': 2 models, fewer than 5 folds; use --folds 2 (" in err
    code, _, err = run_cli("evaluate", "--benchmark", "b", "--method", "params", "--protocol", "lomo", "--folds",
                           "2", "--store", store)
    assert code == 0, err


# ------------------------------------------------------------------------------------------ 3. repeated methods


def test_a_repeated_method_is_evaluated_once(store_path: str, run_cli: RunCli) -> None:
    argv = ("evaluate", "--benchmark", "sfda_supervised", "--dataset", "cifar10", "--dataset", "pets",
            "--store", store_path)
    code, out, err = run_cli(*argv, "--method", "prior", "--method", "prior")
    assert code == 0, err
    assert out.count("method=prior") == 1 and "paired" not in out and "prior - prior" not in out
    code, out, err = run_cli(*argv, "--method", "prior", "--method", "params", "--method", "prior",
                             "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    assert [r["method"] for r in summary["reports"]] == ["prior", "params"]  # first occurrence, order kept
    assert {d["versus"] for d in summary["paired"]} == {"params"}


# ------------------------------------------------------------------------------- 4. a heading over nothing


def test_the_paired_heading_never_stands_over_nothing(store_path: str, run_cli: RunCli) -> None:
    """Under lomo the prior scores no cold-start model: no weighted tau anywhere, so nothing pairs with it."""
    code, out, err = run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--method", "prior",
                             "--method", "random", "--protocol", "lomo", "--dataset", "cifar10", "--dataset", "pets",
                             "--dataset", "dtd", "--store", store_path)
    assert code == 0, err
    after = out.split("paired over target datasets (bootstrap, seeded):\n")[1].splitlines()
    assert after[0] == "params - prior  nothing to compare: prior has no weighted_tau on any target dataset"
    assert after[1].startswith("params - random  weighted_tau: +")


# ------------------------------------------------------------------------------------------- 5. --folds


def test_folds_is_refused_outside_lomo(store_path: str, run_cli: RunCli) -> None:
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--folds", "3",
                                   "--store", store_path))
    assert "--folds 3: --folds applies to --protocol lomo" in err and "drop --folds or add --protocol lomo" in err
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--protocol",
                                   "lomo", "--folds", "1", "--store", store_path))
    assert "--folds 1: expected at least 2 folds" in err


# ------------------------------------------------------------------------------------- 6. an unwritable --plot


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_plot_in_proc_fails_before_the_evaluation(store_path: str, run_cli: RunCli) -> None:
    """As root, permission bits say /proc is writable: the table printed, then the plot failed (exit 2)."""
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--plot",
                                   "/proc/x.png", "--store", store_path))
    assert "--plot '/proc/x.png': cannot write in '/proc'" in err


def test_a_plot_on_a_read_only_mount_fails_before_the_store_is_opened(tmp_path: Path, run_cli: RunCli,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def read_only(*_args: object, **_kwargs: object) -> str:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    missing_store = tmp_path / "not_there.sqlite"  # opening it would be an error of its own: never reached
    err = _one_line_error(*run_cli("evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--plot",
                                   tmp_path / "sub" / "x.png", "--store", missing_store))
    plot = str(tmp_path / "sub" / "x.png")
    assert f"--plot {plot!r}: cannot write in {str(tmp_path)!r} (Read-only file system)" in err
    assert list(tmp_path.iterdir()) == []


def test_the_write_check_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.png"  # missing folders: checked where they would be made
    assert check_can_write_in(target, "--plot") == target
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("x")
    # a file in the way is check_output_file's to word; this check leaves it alone
    assert check_can_write_in(tmp_path / "afile" / "x.png", "--plot") == tmp_path / "afile" / "x.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
