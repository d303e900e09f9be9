"""`fennec records`, `fennec tasks`, `fennec evaluate` through the CLI entry point (in-process)."""

import json

import pytest

from fennec.cli import main
from fennec.records import RecordStore


def test_records_init_is_idempotent(tmp_path, capsys):
    path = str(tmp_path / "new.sqlite")
    assert main(["records", "init", "--store", path]) == 0
    first = capsys.readouterr().out
    assert "sfda_supervised_finetune.csv: 121 rows, 121 records added, 0 already present" in first
    assert first.rstrip().endswith("3045 records")  # what init added, not what opening the store had added
    assert main(["records", "init", "--store", path]) == 0
    again = capsys.readouterr().out
    assert "121 rows, 0 records added, 121 already present" in again and again.rstrip().endswith("3045 records")
    assert main(["records", "stats", "--store", path]) == 0
    assert "sfda_supervised: 121 records, 11 models, 11 datasets" in capsys.readouterr().out


def test_an_empty_store_for_ones_own_records_only(tmp_path, capsys):
    path = str(tmp_path / "mine.sqlite")
    assert main(["records", "init", "--empty", "--store", path]) == 0
    assert capsys.readouterr().out.strip() == f"store {path}: 0 records"
    (tmp_path / "mine.csv").write_text("benchmark,model,dataset,metric,value\nb,timm:resnet18,leaves,top1_acc,80\n")
    assert main(["records", "ingest", str(tmp_path / "mine.csv"), "--store", path]) == 0
    capsys.readouterr()
    assert main(["records", "stats", "--store", path]) == 0
    assert ": 1 records, 1 models, 1 tasks" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["records", "stats"], ["records", "list"], ["records", "models"],
                                  ["records", "export", "out.csv"], ["tasks", "list"], ["tasks", "show", "pets"],
                                  ["evaluate", "--benchmark", "sfda_supervised", "--method", "prior"],
                                  ["train", "--out", "space"]])
def test_a_command_that_reads_a_store_refuses_one_that_is_not_there(tmp_path, capsys, monkeypatch, argv):
    """A typo in --store made a new store of the shipped records and answered from it, as if it were the user's."""
    monkeypatch.chdir(tmp_path)
    typo = str(tmp_path / "recrods.sqlite")
    assert main([*argv, "--store", typo]) == 2
    err = capsys.readouterr().err
    assert f"--store {typo!r}: no such store; create it with `fennec records init --store" in err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []  # nothing created


def test_a_fennec_store_variable_with_a_typo_is_refused_as_the_option_is(tmp_path, capsys, monkeypatch):
    """$FENNEC_STORE pointing at no file made and seeded a new store, answered from as if it were the user's."""
    typo = str(tmp_path / "recrods.sqlite")
    monkeypatch.setenv("FENNEC_STORE", typo)
    assert main(["records", "list", "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert err == (f"fennec records: error: $FENNEC_STORE {typo!r}: no such store; create it with `fennec records "
                   f"init --store {typo}` (the shipped records; --empty for none), or unset FENNEC_STORE for the "
                   "default store\n")
    assert list(tmp_path.iterdir()) == []
    assert main(["records", "init", "--empty"]) == 0  # a command that makes the store still does
    assert (tmp_path / "recrods.sqlite").is_file()


@pytest.mark.parametrize("table", ["invoices", "records"])
def test_a_database_of_something_else_is_not_made_into_a_store(tmp_path, capsys, table):
    """Any SQLite file was taken for a new store and seeded beside its own tables (even by `records stats`); one
    with a table called records was a traceback."""
    import hashlib
    import sqlite3

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {table}(x)")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(["records", "stats", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"fennec records: error: --store {str(path)!r}: an SQLite database but not a fennec records store "
                   f"(it holds the tables {table}); give a fennec store, or a new path for one\n")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_damaged_store_is_one_line_not_a_traceback(store_path, capsys):
    """A page overwritten inside the file passed the store's opening checks and raised sqlite3.DatabaseError."""
    import os

    size = os.path.getsize(store_path)
    with open(store_path, "r+b") as fh:  # a page in the middle: the header and schema still read
        fh.seek(size // 4096 // 2 * 4096)
        fh.write(b"\xff" * 4096)
    code = main(["records", "stats", "--store", store_path])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("fennec records: error: the records store cannot be read (")
    assert "restore a copy or make a new store with `fennec records init --store NEW.sqlite`" in err


def test_records_list_says_which_filter_named_nothing_in_the_store(store_path, capsys):
    """A typo in --model or --dataset printed the header alone, exit 0, as if there were no such records."""
    assert main(["records", "list", "--model", "torchvision:resnet5", "--dataset", "cifar1",
                 "--store", store_path]) == 0
    out, err = capsys.readouterr()
    assert out == "benchmark\tmodel\tdataset\tmetric\tvalue\n"
    assert ("note: --model 'torchvision:resnet5' is not in the store; did you mean torchvision:resnet50" in err
            and "note: --dataset 'cifar1' is not in the store; did you mean cifar10" in err)
    # filters that name what the store holds but match no record together: no note
    assert main(["records", "list", "--model", "torchvision:resnet50", "--dataset", "utkface",
                 "--store", store_path]) == 0
    assert capsys.readouterr().err == ""


def test_init_empty_on_a_store_with_records_says_it_kept_them(store_path, capsys):
    assert main(["records", "init", "--empty", "--store", store_path]) == 0
    assert capsys.readouterr().out.strip() == (f"store {store_path}: 3045 records (--empty: it already held them; "
                                               "none were added or removed)")


@pytest.mark.parametrize(("argv", "message"), [
    (["records", "list", "--benchmark", "sfda_suprvised"], "unknown benchmark 'sfda_suprvised'; did you mean "
                                                           "sfda_supervised?"),
    (["records", "export", "OUT.csv", "--benchmark", "nobench"], "--benchmark: unknown benchmark 'nobench'"),
    (["records", "export", "OUT.txt"], "should end with .csv, which `fennec records ingest` reads back"),
])
def test_records_list_and_export_refuse_what_would_give_nothing_or_cannot_be_read_back(store_path, tmp_path, capsys,
                                                                                      argv, message):
    """An unknown benchmark listed nothing and exported an empty file with exit 0; a .txt export could not be
    ingested again (found by a probe)."""
    argv = [str(tmp_path / a) if a.startswith("OUT.") else a for a in argv]
    assert main([*argv, "--store", store_path]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not any(p.name.startswith("OUT") for p in tmp_path.iterdir())


def test_records_ingest_export_list(store_path, tmp_path, capsys):
    f = tmp_path / "mine.csv"
    f.write_text("model,dataset,metric,value,source\ntimm:resnet18,oxford_pets,acc,0.81,me\n")
    assert main(["records", "ingest", str(f), "--benchmark", "mine", "--store", store_path]) == 0
    assert "1 records added" in capsys.readouterr().out
    assert main(["records", "ingest", str(f), "--benchmark", "mine", "--store", store_path]) == 0
    assert "0 records added, 1 already present" in capsys.readouterr().out
    assert main(["records", "list", "--benchmark", "mine", "--dataset", "pets", "--store", store_path]) == 0
    assert "mine\ttimm:resnet18\tpets\tacc\t0.81" in capsys.readouterr().out
    out = tmp_path / "export.csv"
    assert main(["records", "export", str(out), "--benchmark", "mine", "--store", store_path]) == 0
    assert out.read_text().splitlines()[1].startswith("mine,timm:resnet18,pets,acc,0.81,me,resnet18")


def test_records_ingest_bad_row_exit_2(store_path, tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("benchmark,model,dataset,metric,value,source\nb,timm:resnet18,cifar10,acc,0.8,s\n"
                 "b,timm:resnet34,cifar10,acc,NaN,s\n")
    assert main(["records", "ingest", str(f), "--store", store_path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fennec records: error: ") and f"{f}:3: " in err and "\n" not in err
    assert RecordStore(store_path).records(benchmark="b") == []  # nothing half-written


def test_tasks_add_list_show(store_path, capsys):
    assert main(["tasks", "add", "leaves", "--classes", "oak,maple,birch", "--description", "leaf photos",
                 "--alias", "tree_leaves", "--store", store_path]) == 0
    assert main(["tasks", "show", "tree_leaves", "--format", "json", "--store", store_path]) == 0
    out = capsys.readouterr().out
    card = json.loads(out[out.index("{"):])
    assert card["name"] == "leaves" and card["class_names"] == ["oak", "maple", "birch"]
    assert main(["tasks", "list", "--store", store_path]) == 0
    assert "\nleaves\t3\t" in capsys.readouterr().out
    assert main(["tasks", "show", "nope_nope", "--store", store_path]) == 2
    assert main(["tasks", "add", "x", "--classes", "solo", "--store", store_path]) == 2


def test_tasks_add_on_a_known_task_keeps_what_it_does_not_give(store_path, capsys):
    """Giving cifar10's class names again wiped its 60000 images and its description, and made utkface, a
    regression task, a classification one without its notes (a probe)."""
    store = RecordStore(store_path)
    before = store.task_card("cifar10")
    store.close()
    assert before.n_images > 0 and before.description
    names = ",".join(before.class_names)
    assert main(["tasks", "add", "cifar10", "--classes", names, "--store", store_path]) == 0
    assert capsys.readouterr().out.strip() == "task cifar10: 10 classes; kept its images and description"
    store = RecordStore(store_path)
    after = store.task_card("cifar10")
    assert (after.n_images, after.description, after.task_type, after.notes, after.aliases) == \
        (before.n_images, before.description, before.task_type, before.notes, before.aliases)
    assert main(["tasks", "add", "cifar10", "--classes", names, "--n-images", "5", "--description", "tiny photos",
                 "--store", store_path]) == 0
    after = store.task_card("cifar10")
    assert (after.n_images, after.description) == (5, "tiny photos")
    store.close()


def test_evaluate_json_and_plot(store_path, tmp_path, capsys):
    png = tmp_path / "bars.png"
    assert main(["evaluate", "--benchmark", "parc_controlled", "--method", "prior", "--method", "params",
                 "--format", "json", "--plot", str(png), "--store", store_path]) == 0
    out = json.loads(capsys.readouterr().out)
    reps = out["reports"]
    assert [r["method"] for r in reps] == ["prior", "params"]
    assert round(reps[0]["mean"]["pearson_parc"], 1) == 61.0
    assert [(d["versus"], d["key"]) for d in out["paired"]] == [("params", "weighted_tau"),
                                                                ("params", "pearson_parc")]
    assert png.stat().st_size > 1000
    assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--store", store_path]) == 0
    out = capsys.readouterr().out
    assert "0.837" in out and "paired" not in out  # one method: nothing to pair


def test_evaluate_table_pairs_the_first_method_with_the_others(store_path, capsys):
    assert main(["evaluate", "--benchmark", "parc_controlled", "--method", "prior", "--method", "random",
                 "--store", store_path]) == 0
    out = capsys.readouterr().out.split("paired over target datasets")[1]
    tau, parc = out.strip().splitlines()[-2:]
    # the prior is far ahead of random rankings on every one of PARC's six targets
    assert tau.startswith("prior - random  weighted_tau: +0.6") and "won 6 / lost 0 of 6" in tau
    assert parc.startswith("prior - random  pearson_parc: +61.") and "90% CI [+" in parc


def test_evaluate_bad_input(store_path, capsys):
    assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "prio", "--store", store_path]) == 2
    assert "did you mean prior" in capsys.readouterr().err
    assert main(["evaluate", "--benchmark", "nope", "--method", "prior", "--store", store_path]) == 2
    assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "prior", "--dataset", "mnist",
                 "--store", store_path]) == 2


def test_evaluate_lomo_folds(store_path, capsys):
    # sfda_supervised has 11 models: 12 folds are too many, and the message says what to use instead
    assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--protocol", "lomo",
                 "--folds", "12", "--store", store_path]) == 2
    err = capsys.readouterr().err
    assert "11 models, fewer than 12 folds; use --folds 11 or fewer" in err and err.count("\n") == 1
    assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--protocol", "lomo",
                 "--folds", "1", "--store", store_path]) == 2
    assert "at least 2" in capsys.readouterr().err
    # --folds reached the harness (the errors above); params needs no training, so the pooled per-dataset numbers
    # must not depend on how the models were split
    reports = []
    for k in ("2", "11"):
        assert main(["evaluate", "--benchmark", "sfda_supervised", "--method", "params", "--protocol", "lomo",
                     "--folds", k, "--format", "json", "--store", store_path]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["folds"] == int(k)
        reports.append(out["reports"][0])
    assert reports[0]["per_dataset"] == reports[1]["per_dataset"]
