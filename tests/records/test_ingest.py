"""Ingest: idempotence, all-or-nothing transactions, bad rows rejected with FILE:LINE: reason."""

import re
import sqlite3

import pytest

from fennec.records import RecordStore, ingest_file
from fennec.records.aliases import data_dir
from fennec.records.ingest import SHIPPED_RECORD_FILES, seed_shipped
from fennec.validation import FennecInputError

HEADER = "benchmark,model,dataset,metric,value,source\n"


def _write(tmp_path, text, name="rows.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _snapshot(store):
    return (store.records(), store.models(), store.task_names(),
            store.conn.execute("SELECT COUNT(*) FROM ingests").fetchone()[0])


def test_ingest_twice_adds_nothing(store):
    before = _snapshot(store)[:3]
    for name in SHIPPED_RECORD_FILES:
        res = ingest_file(store, data_dir() / "records" / name)
        assert res.added == 0 and res.unchanged == res.rows
    assert seed_shipped(store)[0].added == 0
    assert _snapshot(store)[:3] == before


def test_parc_verbatim_file_matches_the_tidy_records(store):
    res = ingest_file(store, data_dir() / "records" / "parc_oracles_all.csv")
    assert (res.rows, res.added, res.unchanged, res.no_result) == (469, 0, 459, 10)


def test_parc_format_into_empty_store(empty_store):
    res = ingest_file(empty_store, data_dir() / "records" / "parc_oracles_all.csv")
    assert res.added == 459 and res.no_result == 10
    b = empty_store.benchmarks()
    assert b["parc_controlled"]["records"] == 196 and b["parc_external"]["records"] == 263
    m = empty_store.model("parc:resnet50/moco_imagenet")
    assert m.architecture == "resnet50" and "MoCo" in m.pretraining


def test_crash_in_the_middle_leaves_the_store_as_it_was(store, tmp_path, monkeypatch):
    rows = "".join(f"newbench,timm:resnet{d},cifar10,acc,{40 + d / 4},me\n" for d in (18, 34, 50, 101))
    path = _write(tmp_path, HEADER + rows)
    before = _snapshot(store)
    calls = {"n": 0}
    real = RecordStore.insert_record

    def crashing(self, rec, dataset_name=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(self, rec, dataset_name)

    monkeypatch.setattr(RecordStore, "insert_record", crashing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_file(store, path)
    assert calls["n"] == 3  # two rows were written inside the transaction before the crash
    assert _snapshot(store) == before
    # Another connection sees the same (nothing committed), and a retry works.
    other = RecordStore(store.path)
    assert other.records() == before[0]
    monkeypatch.setattr(RecordStore, "insert_record", real)
    assert ingest_file(store, path).added == 4


def test_interrupt_rolls_back(store, tmp_path, monkeypatch):
    path = _write(tmp_path, HEADER + "nb,timm:resnet18,cifar10,acc,50,me\nnb,timm:resnet34,cifar10,acc,51,me\n")
    before = _snapshot(store)

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(RecordStore, "log_ingest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(store, path)
    assert _snapshot(store) == before


@pytest.mark.parametrize(("body", "line", "reason"), [
    ("b,timm:resnet18,cifar10,acc,nan,s\n", 2, "not a finite number"),
    ("b,timm:resnet18,cifar10,acc,,s\n", 2, "empty value"),
    ("b,timm:resnet18,cifar10,acc,high,s\n", 2, "not a number"),
    ("b,timm:resnet18,cifar10,acc,0.5,s\nb,timm:resnet34,cifar10,acc,0.6,s\nb,timm:resnet18,cifar10,acc,0.7,s\n", 4,
     "duplicate of line 2"),
    ("b,timm:resnet18,cifar10,acc,0.51,s\nb,timm:resnet34,cifar10,acc,0.62,s\nb,timm:resnet50,cifar10,acc,74.3,s\n"
     "b,timm:resnet101,cifar10,acc,0.7,s\n", 4, "looks like a percentage"),
    ("b,timm:resnet18,cifar10,test_accuracy_fraction_0_1,91.2,s\n", 2, "outside [0, 1]"),
    ("b,mystery_net,cifar10,acc,0.5,s\n", 2, "not in the alias table"),
    ("b,timm:resnet18,,acc,0.5,s\n", 2, "empty dataset"),
    ("b,timm:resnet18,cifar10,top1_acc,-5,s\n", 2,
     "column 'value': value '-5' is outside [0, 100] for the accuracy-like metric 'top1_acc'"),
    ("b,timm:resnet18,cifar10,top1_acc,80,s\nb,timm:resnet34,cifar10,top1_acc,150,s\n", 3,
     "column 'value': value '150' is outside [0, 100]"),
    ("b,timm:resnet18,cifar10,top1_acc,1e300,s\n", 2, "column 'value': value '1e300' is implausibly large"),
    ("b,timm:resnet18,cifar10,logme,-2e9,s\n", 2, "implausibly large"),
    ("b,timm:resnet18,cifar10,top1_acc,9_1.2,s\n", 2, "value '9_1.2' is not a number (an underscore in it)"),
    ("b,timm:resnet18,cifar10,acc,0.5\n", 2, "5 fields"),
    ("b,timm:,cifar10,acc,0.5,s\n", 2, "model 'timm:': expected 'source:id'"),
    ("b,local:,cifar10,acc,0.5,s\n", 2, "model 'local:': expected 'source:id'"),
])
def test_bad_rows_are_rejected_with_file_line_reason(empty_store, tmp_path, body, line, reason):
    path = _write(tmp_path, HEADER + body)
    with pytest.raises(FennecInputError) as exc:
        ingest_file(empty_store, path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{line}: ") and reason in msg and "\n" not in msg
    assert empty_store.records() == []


def test_unknown_and_missing_columns(empty_store, tmp_path):
    p = _write(tmp_path, "benchmark,model,dataset,metric,value,source,colour\nb,timm:a,c,acc,1,s,red\n")
    with pytest.raises(FennecInputError, match=re.escape(f"{p}:1: unknown column(s) 'colour'")):
        ingest_file(empty_store, p)
    p = _write(tmp_path, "model,dataset,metric,value\ntimm:resnet18,c,acc,0.5\n")
    with pytest.raises(FennecInputError, match="missing column"):
        ingest_file(empty_store, p)
    assert ingest_file(empty_store, p, benchmark="mine").added == 1


def test_conflict_with_stored_value(store, tmp_path):
    p = _write(tmp_path, HEADER + "sfda_supervised,resnet50,cifar10,finetune_top1_acc,12.5,me\n")
    with pytest.raises(FennecInputError, match=r":2: .* already has the value \S+ \(source .*\), the file says 12.5; "
                                               r"a record has one value: correct the file"):
        ingest_file(store, p)


def test_percentage_among_stored_fractions(store, tmp_path):
    p = _write(tmp_path, HEADER + "transfergraph_records,timm:resnet18,cifar10,test_accuracy_fraction_0_1,0.9,me\n"
               "transfergraph_records,timm:resnet34,cifar10,test_accuracy_fraction_0_1,93.1,me\n")
    with pytest.raises(FennecInputError, match=":3: "):
        ingest_file(store, p)


def test_architecture_and_pretraining_columns(empty_store, tmp_path):
    p = _write(tmp_path, "benchmark,model,dataset,metric,value,source,architecture,pretraining\n"
               "mine,my_cool_net,oxford_pets,acc,0.8,me,convnext_tiny,DINO on my photos\n")
    ingest_file(empty_store, p)
    m = empty_store.model("published:my_cool_net")
    assert (m.architecture, m.pretraining) == ("convnext_tiny", "DINO on my photos")
    assert empty_store.records()[0].dataset == "pets"
    p2 = _write(tmp_path, "benchmark,model,dataset,metric,value,source,architecture\n"
                "mine,my_cool_net,cifar10,acc,0.8,me,resnet18\n", "b.csv")
    with pytest.raises(FennecInputError, match=r":2: .*conflicts with the stored"):
        ingest_file(empty_store, p2)
    # a pre-training text given for a stored model is checked as the architecture is (it was dropped, silently)
    p3 = _write(tmp_path, "benchmark,model,dataset,metric,value,source,architecture,pretraining\n"
                "mine,my_cool_net,cifar10,acc,0.8,me,convnext_tiny,supervised on birds\n", "c.csv")
    with pytest.raises(FennecInputError, match=r"c.csv:2: model 'published:my_cool_net': pre-training 'supervised on "
                                               r"birds' conflicts with the stored 'DINO on my photos'"):
        ingest_file(empty_store, p3)
    p4 = _write(tmp_path, "benchmark,model,dataset,metric,value,source,architecture,pretraining\n"
                "mine,my_cool_net,cifar10,acc,0.8,me,convnext_tiny,DINO on my photos\n", "d.csv")
    assert ingest_file(empty_store, p4).added == 1  # the same text again is no conflict


def test_concurrent_reader_sees_committed_state(store, tmp_path):
    p = _write(tmp_path, HEADER + "nb,timm:resnet18,cifar10,acc,50,me\n")
    reader = sqlite3.connect(store.path)
    n0 = reader.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    ingest_file(store, p)
    assert reader.execute("SELECT COUNT(*) FROM records").fetchone()[0] == n0 + 1


def test_the_imagenet_table_is_pretraining_accuracy(store, empty_store, tmp_path):
    from fennec.records.metrics import PRETRAIN

    recs = store.records()
    imagenet = [r for r in recs if r.benchmark == "torchvision_imagenet"]
    assert imagenet and {r.protocol for r in imagenet} == {PRETRAIN}
    assert {r.protocol for r in recs if r.benchmark != "torchvision_imagenet"} == {"finetune"}
    # a user's file: --protocol fills rows without one, a row's own value wins
    p = tmp_path / "r.csv"
    p.write_text("benchmark,model,dataset,metric,value,protocol\n"
                 "mine,timm:resnet18,imagenet,top1_acc,69.7,\n"
                 "mine,timm:resnet18,pets,top1_acc,88.0,finetune\n")
    ingest_file(empty_store, p, protocol=PRETRAIN)
    assert {(r.dataset, r.protocol) for r in empty_store.records()} == {("imagenet", PRETRAIN), ("pets", "finetune")}


def test_protocols_are_checked_and_a_changed_protocol_is_a_conflict(empty_store, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("benchmark,model,dataset,metric,value\nmine,timm:resnet18,imagenet,top1_acc,69.7\n")
    with pytest.raises(FennecInputError, match=r"^--protocol: unknown protocol 'pretrian'; did you mean pretrain"):
        ingest_file(empty_store, p, protocol="pretrian")
    bad_row = tmp_path / "bad.csv"
    bad_row.write_text("benchmark,model,dataset,metric,value,protocol\nmine,timm:resnet18,pets,top1_acc,88,fine\n")
    with pytest.raises(FennecInputError, match=r"bad.csv:2: unknown protocol 'fine'; did you mean finetune"):
        ingest_file(empty_store, bad_row)
    assert empty_store.stats()["records"] == 0
    ingest_file(empty_store, p, protocol="Pretrain")  # the case of a word does not make another protocol
    assert {r.protocol for r in empty_store.records()} == {"pretrain"}
    with pytest.raises(FennecInputError, match=r"stored with protocol 'pretrain', the file .* says 'finetune'"):
        ingest_file(empty_store, p, protocol="finetune")
    ingest_file(empty_store, p)  # no protocol given: the stored one stands
    assert {r.protocol for r in empty_store.records()} == {"pretrain"}


def test_a_parc_file_takes_the_protocol_given(empty_store, tmp_path):
    p = tmp_path / "oracles.csv"
    p.write_text("Architecture,Source Dataset,Target Dataset,Oracle\nresnet50,imagenet,cifar10,91.2\n")
    ingest_file(empty_store, p, protocol="linear_probe")
    assert [r.protocol for r in empty_store.records()] == ["linear_probe"]


def test_parc_oracle_minus_inf_is_refused_not_taken_for_no_result(empty_store, tmp_path):
    """PARC's -1 means "no result" and is skipped; -inf was skipped with it, as any negative number."""
    p = _write(tmp_path, "Architecture,Source Dataset,Target Dataset,Oracle\nresnet50,imagenet,cifar10,-inf\n")
    with pytest.raises(FennecInputError, match=re.escape(f"{p}:2: column 'Oracle': value '-inf' is not a finite")):
        ingest_file(empty_store, p)


def test_parc_oracle_over_100_is_rejected(empty_store, tmp_path):
    p = _write(tmp_path, "Architecture,Source Dataset,Target Dataset,Oracle\nresnet50,imagenet,cifar10,101.5\n")
    with pytest.raises(FennecInputError, match=re.escape(f"{p}:2: column 'Oracle': value '101.5' is outside [0, 100]")):
        ingest_file(empty_store, p)
    assert empty_store.records() == []


def test_values_published_tables_hold_are_accepted(empty_store, tmp_path):
    # negative regression scores, error rates, fractions, a difference of accuracies and scores outside [0, 100]
    p = _write(tmp_path, HEADER + "b,timm:resnet18,cifar10,regression_finetune_score_as_given_higher_better,-395.5,s\n"
               "b,timm:resnet18,cifar10,top1_error,21.7,s\nb,timm:resnet18,cifar10,test_accuracy_fraction_0_1,0.91,s\n"
               "b,timm:resnet18,cifar10,top1_acc_gain,-3.5,s\nb,timm:resnet18,cifar10,leep,-250.0,s\n"
               "b,timm:resnet18,cifar10,top1_acc,0,s\nb,timm:resnet34,cifar10,top1_acc,100,s\n")
    assert ingest_file(empty_store, p).added == 7


def test_a_file_that_is_not_utf8_is_a_one_line_error(empty_store, tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes((HEADER + "b,timm:resnet18,caf\xe9,acc,0.5,s\n").encode("latin-1"))
    with pytest.raises(FennecInputError, match=re.escape(f"records file {str(p)!r}: not UTF-8 text (byte 0xe9 on "
                                                         "line 2); save the file as UTF-8")):
        ingest_file(empty_store, p)
    p.write_bytes(("\ufeff" + HEADER + "b,timm:resnet18,café,acc,0.5,s\n").encode())  # a BOM is fine
    assert ingest_file(empty_store, p).added == 1


@pytest.mark.parametrize("first_unit", ["percent", "fraction"])
def test_a_file_in_the_other_unit_from_the_stores_is_refused(empty_store, tmp_path, first_unit):
    """A fraction among percentages may be a failed run; a whole file of them for a column the store holds as
    percentages (or the reverse) is a unit mix-up, which passed in either order (found by a probe)."""
    def rows(ds: str, values: list[float]) -> str:
        nets = ("resnet18", "resnet34", "resnet50")
        return HEADER + "".join(f"pb,timm:{m},{ds},top1_acc,{v},me\n" for m, v in zip(nets, values, strict=False))

    pct, frac = rows("pets", [80.0, 82.0, 85.0]), rows("dtd", [0.61, 0.64])
    first, second = (pct, frac) if first_unit == "percent" else (frac, pct)
    ingest_file(empty_store, _write(tmp_path, first, "a.csv"))
    with pytest.raises(FennecInputError, match=r"b.csv:2: every value of benchmark 'pb', metric 'top1_acc' in the "
                                               r"file is in the other unit"):
        ingest_file(empty_store, _write(tmp_path, second, "b.csv"))
    failed_run = HEADER + "pb,timm:resnet18,cars,top1_acc,0.5,me\npb,timm:resnet34,cars,top1_acc,70,me\n"
    if first_unit == "percent":  # one value below 1 among percentages is kept: a run that failed
        assert ingest_file(empty_store, _write(tmp_path, failed_run, "c.csv")).added == 2


@pytest.mark.parametrize("benchmark", ["", "   "])
def test_a_blank_benchmark_option_is_named(empty_store, tmp_path, benchmark):
    """'' read as a missing --benchmark (\"give --benchmark NAME\"), '   ' as a record without a benchmark."""
    path = _write(tmp_path, "model,dataset,metric,value\ntimm:resnet18,cifar10,top1_acc,80\n")
    with pytest.raises(FennecInputError, match=r"^--benchmark: expected a benchmark name, got '\s*'; give one or "
                                               r"leave --benchmark out for the file's benchmark column$"):
        ingest_file(empty_store, path, benchmark=benchmark)
