"""What score-zoo and finetune write, found by a user probe: an existing --out keeps every row and column, the CSV
and --store routes store the same records and model metadata, and bad input (an empty --benchmark, a bad model
id, a class a scorer cannot use) is one line naming it before any model runs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from fennec.records import RecordStore
from fennec.tasks import read_task
from fennec.validation import FennecInputError, FennecInputWarning
from fennec.zoo import COLUMNS, score_zoo
from fennec.zoo.finetune import Finetuner
from fennec.zoo.finetune_sweep import finetune_zoo
from fennec.zoo.runner import read_records_table

# Scorers rightly warn that a 9-image probe has fewer rows than feature dims; that is the point of a tiny test.
pytestmark = pytest.mark.filterwarnings("ignore::fennec.validation.FennecInputWarning")

TINY = "timm:test_convnext"  # 0.27M parameters: seeded random weights (--allow-random)
HUES = {"red": (200, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 200)}
RICH_HEADER = ["benchmark", "model", "dataset", "metric", "value", "source", "architecture", "pretraining",
               "protocol", "note"]
RICH_ROWS = [
    ["published", "timm:resnet50", "pets", "top1", "93.10", "paper", "resnet50", "supervised on ImageNet-1k",
     "finetune", "kept as written"],
    ["published", "my-net", "cars", "top1", "1e1", "", "resnet18", "my own data", "linear_probe", ""],
]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _score_args(folder: Path, *extra: object) -> list[object]:
    return ["score-zoo", "--models", TINY, "--task", folder, "--method", "logme", "--max-images", "9",
            "--allow-random", "--no-progress", *extra]


# ------------------------------------------------------------------------------------------------- 1. no loss


def test_score_zoo_keeps_every_row_and_column_of_an_existing_out(folder: Path, tmp_path: Path,
                                                                 run_cli: Any) -> None:
    """The file kept only benchmark,model,dataset,metric,value,source: the other columns of every row were lost."""
    out = _write_csv(tmp_path / "f.csv", RICH_HEADER, RICH_ROWS)
    code, _, err = run_cli(*_score_args(folder, "--out", out))
    assert code == 0, err
    header, rows = _read_csv(out)
    assert header[: len(RICH_HEADER)] == RICH_HEADER and set(COLUMNS) <= set(header)
    assert [[r[c] for c in RICH_HEADER] for r in rows[:2]] == RICH_ROWS  # old rows whole, values as written
    (new,) = rows[2:]
    assert (new["model"], new["metric"], new["protocol"], new["note"]) == (TINY, "logme", "score", "")


def test_finetune_keeps_every_row_and_column_of_an_existing_out(tmp_path: Path, make_folder: Any) -> None:
    task = read_task(str(make_folder(tmp_path / "hues", HUES, per_class=5, size=24)))
    out = _write_csv(tmp_path / "f.csv", RICH_HEADER, RICH_ROWS)
    tuner = Finetuner(protocol="linear_probe", image_size=16, allow_random=True)
    res = finetune_zoo(["timm:test_resnet"], task, tuner, out=out, log=lambda msg: None)
    assert len(res.records) == 1 and not res.failures
    header, rows = _read_csv(out)
    assert header[: len(RICH_HEADER)] == RICH_HEADER
    assert [[r[c] for c in RICH_HEADER] for r in rows[:2]] == RICH_ROWS
    assert (rows[2]["model"], rows[2]["protocol"], rows[2]["note"]) == ("timm:test_resnet", "linear_probe", "")


def test_an_existing_out_a_rewrite_could_not_keep_whole_is_refused_before_any_model(folder: Path, tmp_path: Path,
                                                                                    run_cli: Any) -> None:
    long_row = _write_csv(tmp_path / "long.csv", RICH_HEADER[:6], [[*RICH_ROWS[0][:6], "stray"]])
    twice = _write_csv(tmp_path / "twice.csv", [*RICH_HEADER[:6], "note", "note"], [[*RICH_ROWS[0][:6], "a", "b"]])
    for path, match in ((long_row, "line 2 has more fields than the header's 6"), (twice, "['note'] appear twice")):
        before = path.read_bytes()
        code, _, err = run_cli(*_score_args(folder, "--out", path))
        assert code == 2 and match in err and "--out" in err and len(err.strip().splitlines()) == 1, err
        assert path.read_bytes() == before
    # a short row and a header without data rows are kept: blanks, and the columns
    short = _write_csv(tmp_path / "short.csv", [*RICH_HEADER[:6], "note"], [RICH_ROWS[0][:5]])
    header, rows = read_records_table(short)
    assert header == [*RICH_HEADER[:6], "note"] and rows[0]["source"] == "" and rows[0]["note"] == ""
    bare = _write_csv(tmp_path / "bare.csv", [*RICH_HEADER[:6], "note"], [])
    assert run_cli(*_score_args(folder, "--out", bare))[0] == 0
    assert _read_csv(bare)[0][:7] == [*RICH_HEADER[:6], "note"]


# ---------------------------------------------------------------------------------- 2. one run, two routes


def _stored(path: Path) -> tuple[list[tuple], list[tuple]]:
    with RecordStore(path, seed=False) as db:
        recs = sorted((r.benchmark, r.model, r.dataset, r.metric, r.value, r.source, r.protocol)
                      for r in db.records())
        models = sorted((m.id, m.name, m.architecture, m.pretraining) for m in db.models())
    return recs, models


def _both_routes(run_cli: Any, argv: list[object], tmp_path: Path) -> tuple[tuple, tuple]:
    """The stores of one run's two routes: --store directly, and --out then `fennec records ingest` (one run
    writing both: two runs differ in their sources, the second's features read from the cache)."""
    direct, via_csv, out = tmp_path / "direct.sqlite", tmp_path / "via_csv.sqlite", tmp_path / "run.csv"
    for store in (direct, via_csv):
        RecordStore(store, seed=False).close()
    code, _, err = run_cli(*argv, "--store", direct, "--out", out)
    assert code == 0, err
    code, _, err = run_cli("records", "ingest", out, "--store", via_csv)
    assert code == 0, err
    return _stored(direct), _stored(via_csv)


@pytest.mark.parametrize("kind", ["random", "local"])
def test_score_zoo_stores_the_same_records_through_its_csv_as_directly(folder: Path, tmp_path: Path,
                                                                       run_cli: Any, kind: str) -> None:
    """--store stored protocol 'score' and no pre-training text; its CSV, ingested, 'finetune' and ImageNet."""
    model = TINY
    if kind == "local":  # a model trained here: only its checkpoint says its architecture and pre-training
        import timm

        from fennec.zoo.checkpoints import save_checkpoint

        ck = tmp_path / "convnext-colors.pt"
        save_checkpoint(ck, timm.create_model("test_convnext", pretrained=False, num_classes=3), "test_convnext",
                        "supervised on colours (3 classes)", 32, ["r", "g", "b"])
        model = f"local:{ck}"
    argv = ["score-zoo", "--models", model, "--task", folder, "--method", "logme", "--method", "leep",
            "--max-images", "9", "--allow-random", "--no-progress"]
    direct, via_csv = _both_routes(run_cli, argv, tmp_path)
    assert direct == via_csv
    recs, models = direct
    assert [r[6] for r in recs] == ["score", "score"]
    ((mid, _, arch, pre),) = models
    expected = {"random": (TINY, "test_convnext", "random init (no pretrained weights)"),
                "local": (model, "test_convnext", "supervised on colours (3 classes)")}[kind]
    assert (mid, arch, pre) == expected


def test_finetune_stores_the_same_records_through_its_csv_as_directly(tmp_path: Path, make_folder: Any,
                                                                      run_cli: Any) -> None:
    """linear_probe via --store, 'finetune' and an ImageNet pre-training text via the CSV."""
    task = make_folder(tmp_path / "hues", HUES, per_class=5, size=24)
    argv = ["finetune", "--protocol", "linear_probe", "--models", "timm:test_resnet", "--task", task,
            "--image-size", "16", "--allow-random"]
    direct, via_csv = _both_routes(run_cli, argv, tmp_path)
    assert direct == via_csv
    (rec,), ((_, _, arch, pre),) = direct
    assert (rec[3], rec[6]) == ("linear_probe_top1_acc_pct", "linear_probe")
    assert (arch, pre) == ("test_resnet", "random init (no pretrained weights)")


def test_a_record_finetune_copies_between_its_outputs_keeps_protocol_and_model(tmp_path: Path,
                                                                               make_folder: Any) -> None:
    """A record in one output only is copied to the other: as the run would have written it, not as a default
    finetune record (a CSV of an earlier version, without the protocol column, included)."""
    task = read_task(str(make_folder(tmp_path / "hues", HUES, per_class=5, size=24)))
    tuner = Finetuner(protocol="linear_probe", image_size=16, allow_random=True)
    first, second, out = tmp_path / "first.sqlite", tmp_path / "second.sqlite", tmp_path / "copy.csv"
    for store in (first, second):
        RecordStore(store, seed=False).close()
    finetune_zoo(["timm:test_resnet"], task, tuner, store=first, log=lambda msg: None)
    res = finetune_zoo(["timm:test_resnet"], task, tuner, store=first, out=out, log=lambda msg: None)
    assert res.skipped and not res.records  # the store's record, copied to the CSV, not measured again
    (row,) = read_records_table(out)[1]
    assert (row["protocol"], row["pretraining"]) == ("linear_probe", "random init (no pretrained weights)")
    header, rows = read_records_table(out)  # as an earlier version wrote it: six columns
    _write_csv(out, header[:6], [[r[c] for c in header[:6]] for r in rows])
    finetune_zoo(["timm:test_resnet"], task, tuner, store=second, out=out, log=lambda msg: None)
    with RecordStore(second, seed=False) as db:
        (rec,) = db.records()
    assert (rec.protocol, rec.value) == ("linear_probe", float(row["value"]))


# ------------------------------------------------------------------------------- 3. and 4. refused up front


@pytest.mark.parametrize("command", ["score-zoo", "finetune"])
@pytest.mark.parametrize(("extra", "match"), [
    pytest.param(["--benchmark", ""], "--benchmark: expected a benchmark name, got ''", id="empty-benchmark"),
    pytest.param(["--benchmark", "  "], "--benchmark: expected a benchmark name", id="blank-benchmark"),
    pytest.param(["--dataset", ""], "--dataset: expected a dataset name", id="empty-dataset"),
    pytest.param(["--models", "bogus"], "--models: model 'timm:bogus': timm has no architecture 'bogus'",
                 id="unknown-name"),
    pytest.param(["--models", "timm:x:/nonexist.pth"],
                 "--models: model 'timm:x:/nonexist.pth': timm has no architecture 'x'", id="unknown-architecture"),
    pytest.param(["--models", "timm:test_convnext:/nonexist.pth"], "file '/nonexist.pth' does not exist",
                 id="missing-weights-file"),
    pytest.param(["--models", "timm:test_convnext.nosuchtag"], "timm has no pre-trained tag 'nosuchtag'",
                 id="unknown-tag"),
    pytest.param(["--models", "hf:google/vit"], "a zoo model is timm:NAME", id="other-source"),
    pytest.param(["--models", "timm:"], "expected 'source:id'", id="no-name"),
    pytest.param(["--models", "local:/nonexist.pt"], "checkpoint file '/nonexist.pt' does not exist",
                 id="missing-checkpoint"),
])
def test_bad_names_and_model_ids_are_refused_before_any_work(tmp_path: Path, run_cli: Any, command: str,
                                                             extra: list[str], match: str) -> None:
    """They ran the model first (an empty --benchmark then failed to store, or wrote an un-ingestable row), or
    failed per model with exit 1. The task does not even exist: nothing was read."""
    argv = [command, "--models", TINY, "--task", tmp_path / "no-such-task", "--allow-random",
            "--out", tmp_path / "out.csv", *extra]
    if command == "score-zoo":
        argv += ["--method", "logme"]
    code, out, err = run_cli(*argv)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert out == "" and not (tmp_path / "out.csv").exists()


def test_the_library_refuses_them_too(folder: Path, tmp_path: Path) -> None:
    task = read_task(folder)
    with pytest.raises(FennecInputError, match="--dataset: expected a dataset name"):
        score_zoo([TINY], task, ["logme"], dataset=" ", progress=False)
    with pytest.raises(FennecInputError, match="--models: model 'timm:bogus'"):
        score_zoo(["bogus"], task, ["logme"], progress=False)
    with pytest.raises(FennecInputError, match="--benchmark: expected a benchmark name"):
        finetune_zoo([TINY], task, Finetuner(), benchmark="")
    with pytest.raises(FennecInputError, match="--models: model 'timm:bogus'"):
        finetune_zoo(["bogus"], task, Finetuner())
    # a name with spaces around is stored as ingest would read it from the CSV
    res = score_zoo([TINY], task, ["logme"], benchmark=" mine ", dataset=" colours ", allow_random=True,
                    max_images=9, progress=False, out=tmp_path / "s.csv")
    assert (res.records[0]["benchmark"], res.records[0]["dataset"]) == ("mine", "colours")


@pytest.mark.parametrize(("extra", "match"), [
    pytest.param(["--save-to", "m.pt", "--pretraining", " "], "--pretraining: expected what the model was trained on",
                 id="blank"),
    pytest.param(["--pretraining", "birds"], "--pretraining: describes the model kept with --save-to",
                 id="without-save-to"),
])
def test_finetune_pretraining_text_is_checked_before_training(tmp_path: Path, run_cli: Any, extra: list[str],
                                                              match: str) -> None:
    """An empty text was saved in the checkpoint after training; one without --save-to was dropped unsaid."""
    code, _, err = run_cli("finetune", "--models", TINY, "--task", tmp_path / "no-such-task", *extra)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err


# ----------------------------------------------------------------------------------------- 5. class names


def test_a_class_a_scorer_cannot_use_is_named_before_any_model_runs(tmp_path: Path, make_folder: Any,
                                                                    run_cli: Any) -> None:
    """gbc said "class(es) [0] have fewer than 2 examples" for every model (exit 1); the class is bird."""
    root = make_folder(tmp_path / "single", {"cat": (200, 40, 40), "dog": (40, 200, 40)}, per_class=4, size=8)
    make_folder(root, {"bird": (40, 40, 200)}, per_class=1, size=8)
    out = tmp_path / "out.csv"
    code, _, err = run_cli("score-zoo", "--models", TINY, "--task", root, "--method", "logme", "--method", "gbc",
                           "--allow-random", "--no-progress", "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "gbc needs 2 images of every class" in err and "['bird']" in err and "[0]" not in err
    assert not out.exists()
    code, _, err = run_cli("score-zoo", "--models", TINY, "--task", root, "--method", "logme", "--allow-random",
                           "--no-progress", "--out", out)
    assert code == 0, err  # logme needs no two images of a class


def test_a_class_left_short_by_unreadable_images_is_named_for_that_scorer(tmp_path: Path, make_folder: Any) -> None:
    """Two images of bird pass the check up front; one cannot be read, so gbc alone fails, naming bird."""
    root = make_folder(tmp_path / "short", {"cat": (200, 40, 40), "dog": (40, 200, 40)}, per_class=4, size=8)
    make_folder(root, {"bird": (40, 40, 200)}, per_class=2, size=8)
    (root / "bird" / "1.png").write_bytes(b"not an image")
    res = score_zoo([TINY], read_task(root), ["gbc", "logme"], allow_random=True, progress=False,
                    log=lambda m: None)
    assert [r["metric"] for r in res.records] == ["logme"]
    ((model, metric, msg),) = res.failures
    assert (model, metric) == (TINY, "gbc") and "class(es) ['bird']" in msg and "could be read" in msg


def test_two_runs_writing_one_csv_keep_each_other_s_records(tmp_path: Path) -> None:
    """Two `finetune --out same.csv` at once each rewrote the file with the rows they had read at their start
    plus their own: both said "1 new record", the file held one (a probe). A write reads the file again under
    its lock and keeps what another run added."""
    from fennec.zoo.runner import read_records_csv, write_records_csv

    out = tmp_path / "par.csv"
    row = {"benchmark": "b", "dataset": "d", "metric": "top1_acc", "source": "s", "protocol": "finetune",
           "architecture": "", "pretraining": ""}
    first, second = {**row, "model": "timm:a", "value": 80.0}, {**row, "model": "timm:b", "value": 70.0}
    write_records_csv(out, [first])  # the first run finished its model...
    write_records_csv(out, [second])  # ...the second had read the file empty and now writes its own
    assert [(r["model"], r["value"]) for r in read_records_csv(out)] == [("timm:a", "80.0"), ("timm:b", "70.0")]
    write_records_csv(out, [{**first, "value": 81.0}])  # a record both hold: this run's value
    assert [(r["model"], r["value"]) for r in read_records_csv(out)] == [("timm:b", "70.0"), ("timm:a", "81.0")]


def test_finetune_settings_that_measure_nothing_are_said(tmp_path: Path, make_folder: Any, run_cli: Any) -> None:
    """--image-size 1 failed inside the model as that model's failure (exit 1); --max-test 1 on a task of three
    classes recorded "100 % on 1 test image" as an ordinary result (a probe)."""
    task = make_folder(tmp_path / "hues", HUES, per_class=5, size=24)
    code, _, err = run_cli("finetune", "--models", TINY, "--task", task, "--image-size", "1", "--allow-random")
    assert code == 2 and "image_size: 1 px is below the 16 px" in err and err.count("\n") == 1, err
    tuner = Finetuner(protocol="linear_probe", image_size=16, allow_random=True, max_test=1)
    with pytest.warns(FennecInputWarning, match=r"1 test image\(s\) for \d+ classes; its accuracy says little"):
        tuner.check_task(read_task(str(task)))


def test_a_task_named_like_another_dataset_of_the_store_is_refused(folder: Path, store_path: str) -> None:
    """A folder called cars of three colour classes was recorded as the store's Stanford Cars (196 classes), and a
    new name got a bare task without the class names the run knew (a probe)."""
    task = read_task(str(folder))
    with pytest.raises(FennecInputError, match=r"^--dataset 'cars': the store's task 'cars' has 196 classes and "
                                               r"this task 3, so its records would be learned as that dataset's"):
        score_zoo([TINY], task, ["logme"], dataset="cars", store=store_path, allow_random=True, progress=False)
    score_zoo([TINY], task, ["logme"], dataset="colours", store=store_path, allow_random=True, progress=False)
    with RecordStore(store_path) as store:
        card = store.task_card("colours")
    assert (card.n_classes, card.n_images, card.class_names) == (3, task.n_examples, task.class_names)
