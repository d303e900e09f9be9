"""The fine-tuning runner: a planted task it must get right, resume equals an uninterrupted run, records and CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from fennec.records import RecordStore
from fennec.tasks import read_task
from fennec.validation import FennecInputError
from fennec.zoo import read_records_csv
from fennec.zoo.finetune import Finetuner
from fennec.zoo.finetune_data import task_split
from fennec.zoo.finetune_sweep import finetune_zoo

# Hues of one luminance: told apart by colour only, so a colour-blind model cannot learn the task.
HUES = {"red": (200, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 200)}


class TinyNet(nn.Module):
    """A timm-like small convnet (get_classifier, forward_features, forward_head) with dropout before the head;
    ``gray`` averages the colour channels first, which makes it blind to :data:`HUES`; ``distilled`` gives it a
    second head, as DeiT's (get_classifier returns both)."""

    def __init__(self, n_classes: int, gray: bool = False, distilled: bool = False) -> None:
        super().__init__()
        self.gray = gray
        with torch.random.fork_rng():  # the same "pre-trained" body every time, as a weights file would give
            torch.manual_seed(0)
            self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(8, n_classes)  # the loader's seed: the runner's
        self.head_dist = nn.Linear(8, n_classes) if distilled else None

    def get_classifier(self) -> Any:
        return (self.head, self.head_dist) if self.head_dist is not None else self.head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.gray:
            x = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
        return self.body(x)

    def forward_head(self, f: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if pre_logits:
            return f
        out = self.head(self.drop(f))
        return out if self.head_dist is None else (out + self.head_dist(self.drop(f))) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


CFG = {"input_size": [3, 16, 16], "crop_pct": 1.0, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
       "interpolation": "bilinear"}


def tiny_loader(built: list[Any] | None = None) -> Any:
    """A model loader: ``tiny:gray`` is the colour-blind TinyNet, ``tiny:distilled`` one with two heads, anything
    else the seeing one."""

    def load(model_id: str, n_classes: int, allow_random: bool) -> tuple[nn.Module, dict, str]:
        model = TinyNet(n_classes, gray=model_id.endswith("gray"), distilled=model_id.endswith("distilled"))
        if built is not None:
            built.append(model)
        return model, CFG, "random"

    return load


@pytest.fixture
def hues(tmp_path: Path, make_folder: Any) -> Any:
    return read_task(str(make_folder(tmp_path / "hues", HUES, per_class=20, size=24)))


@pytest.mark.parametrize("protocol", ["finetune", "linear_probe"])
def test_the_model_that_can_see_the_task_wins(hues: Any, protocol: str) -> None:
    tuner = Finetuner(protocol=protocol, epochs=8, lr=0.05, batch_size=16)
    seeing = tuner.run("tiny:seeing", hues, loader=tiny_loader())
    blind = tuner.run("tiny:gray", hues, loader=tiny_loader())
    assert (seeing.n_train, seeing.n_test) == (48, 12)  # 20 per class, a fifth held out
    assert seeing.top1 >= 90.0
    assert blind.top1 <= 60.0  # three equally likely classes it cannot tell apart
    assert seeing.protocol == protocol and seeing.epochs == (8 if protocol == "finetune" else 0)
    if protocol == "linear_probe":  # 16 training images per class: the penalty is cross-validated
        assert seeing.details["cv_folds"] == 5 and seeing.details["C"] in np.logspace(-4, 4, 9)


def test_a_resumed_run_trains_exactly_what_an_uninterrupted_one_does(hues: Any, tmp_path: Path) -> None:
    tuner = Finetuner(epochs=3, lr=0.05, batch_size=16)
    straight: list[Any] = []
    torch.manual_seed(123)  # whatever the global stream holds, the run draws its own
    full = tuner.run("tiny:seeing", hues, loader=tiny_loader(straight))

    def stop(epoch: int, loss: float) -> None:
        if epoch == 2:
            raise KeyboardInterrupt  # the session ends after epoch 2's checkpoint

    with pytest.raises(KeyboardInterrupt):
        tuner.run("tiny:seeing", hues, checkpoints=tmp_path / "ck", loader=tiny_loader(), on_epoch=stop)
    assert len(list((tmp_path / "ck").glob("*.pt"))) == 1
    resumed: list[Any] = []
    torch.manual_seed(456)
    again = tuner.run("tiny:seeing", hues, checkpoints=tmp_path / "ck", loader=tiny_loader(resumed))
    assert again.resumed_from == 2 and full.resumed_from == 0
    assert again.top1 == full.top1
    # dropout is in the net: equal weights need its draws to be the uninterrupted run's too
    for a, b in zip(straight[0].state_dict().values(), resumed[0].state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert again.checkpoint is not None and again.checkpoint.is_file()  # kept until the result is recorded


def test_a_damaged_checkpoint_is_reported_and_the_model_starts_again(hues: Any, tmp_path: Path) -> None:
    tuner = Finetuner(epochs=2, lr=0.05, batch_size=16)
    clean = tuner.run("tiny:seeing", hues, loader=tiny_loader())
    first = tuner.run("tiny:seeing", hues, checkpoints=tmp_path, loader=tiny_loader())
    first.checkpoint.write_bytes(b"torn")  # a checkpoint cut short
    with pytest.warns(UserWarning, match="unreadable"):
        again = tuner.run("tiny:seeing", hues, checkpoints=tmp_path, loader=tiny_loader())
    assert again.resumed_from == 0 and again.top1 == clean.top1


def test_a_checkpoint_of_other_settings_is_not_resumed(hues: Any, tmp_path: Path) -> None:
    def stop(epoch: int, loss: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Finetuner(epochs=3, lr=0.05).run("tiny:seeing", hues, checkpoints=tmp_path, loader=tiny_loader(),
                                         on_epoch=stop)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    other = Finetuner(epochs=3, lr=0.02).run("tiny:seeing", hues, checkpoints=tmp_path, loader=tiny_loader())
    assert other.resumed_from == 0


def test_a_diverging_run_is_an_error_not_a_record(hues: Any, tmp_path: Path) -> None:
    with pytest.raises(FennecInputError, match="lower --lr"):
        Finetuner(epochs=2, lr=1e12, batch_size=16).run("tiny:seeing", hues, loader=tiny_loader())
    res = finetune_zoo(["tiny:seeing"], hues, Finetuner(epochs=2, lr=1e12), out=tmp_path / "r.csv",
                       loader=tiny_loader(), log=lambda msg: None)
    assert not res.records and "lower --lr" in res.failures[0][2] and not read_records_csv(tmp_path / "r.csv")


def test_a_model_with_two_heads_trains_both(hues: Any) -> None:
    built: list[Any] = []
    res = Finetuner(epochs=6, lr=0.05, batch_size=16).run("tiny:distilled", hues, loader=tiny_loader(built))
    assert res.top1 >= 90.0
    from fennec.zoo.finetune import param_groups

    groups = param_groups(built[0], 0.01, 0.1, 1e-4)
    head = {id(p) for g in groups if g["lr"] == 0.1 for p in g["params"]}
    assert head == {id(p) for m in (built[0].head, built[0].head_dist) for p in m.parameters()}
    no_decay = {id(p) for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert id(built[0].body[1].weight) in no_decay and id(built[0].body[0].weight) not in no_decay


def test_a_last_batch_of_one_waits_for_the_next_epoch(tmp_path: Path, make_folder: Any) -> None:
    # 3 classes x 6 images: 15 training images, batches of 7 leave one over, which BatchNorm cannot train on
    task = read_task(str(make_folder(tmp_path / "odd", HUES, per_class=6, size=24)))
    res = Finetuner(epochs=2, lr=0.05, batch_size=7).run("tiny:seeing", task, loader=tiny_loader())
    assert res.n_train == 15


def test_sweep_writes_one_record_per_model_and_skips_finished_ones(hues: Any, tmp_path: Path) -> None:
    tuner = Finetuner(epochs=4, lr=0.05, batch_size=16)
    out, db = tmp_path / "ft.csv", tmp_path / "records.sqlite"
    built: list[Any] = []
    res = finetune_zoo(["tiny:seeing", "tiny:gray"], hues, tuner, out=out, store=db, loader=tiny_loader(built),
                       log=lambda msg: None)
    assert len(res.records) == 2 and not res.failures and len(built) == 2
    rows = {r["model"]: float(r["value"]) for r in read_records_csv(out)}
    assert rows["tiny:seeing"] > rows["tiny:gray"]
    with RecordStore(db) as store:
        recs = [r for r in store.records() if r.benchmark == "fennec_finetune"]
    assert {(r.model, r.metric, r.protocol) for r in recs} == {
        ("tiny:seeing", "finetune_top1_acc_pct", "finetune"), ("tiny:gray", "finetune_top1_acc_pct", "finetune")}
    again = finetune_zoo(["tiny:seeing", "tiny:gray"], hues, tuner, out=out, store=db, loader=tiny_loader(built),
                         log=lambda msg: None)
    assert not again.records and len(again.skipped) == 2 and len(built) == 2  # nothing trained again


def test_a_failing_model_is_reported_and_the_others_run(hues: Any, tmp_path: Path) -> None:
    def load(model_id: str, n_classes: int, allow_random: bool) -> Any:
        if model_id.endswith("broken"):
            raise FennecInputError(f"{model_id}: no pretrained weights found offline")
        return tiny_loader()(model_id, n_classes, allow_random)

    res = finetune_zoo(["tiny:broken", "tiny:seeing"], hues, Finetuner(epochs=1), loader=load,
                       log=lambda msg: None)
    assert [f[0] for f in res.failures] == ["tiny:broken"] and [r["model"] for r in res.records] == ["tiny:seeing"]
    with pytest.raises(FennecInputError, match="no pretrained weights"):
        finetune_zoo(["tiny:broken"], hues, Finetuner(epochs=1), loader=load, fail_fast=True)


def test_a_record_in_one_output_only_is_copied_to_the_other(hues: Any, tmp_path: Path) -> None:
    tuner = Finetuner(epochs=2, lr=0.05, batch_size=16)
    out, db = tmp_path / "ft.csv", tmp_path / "records.sqlite"
    built: list[Any] = []
    finetune_zoo(["tiny:seeing"], hues, tuner, store=db, loader=tiny_loader(built), log=lambda msg: None)
    res = finetune_zoo(["tiny:seeing"], hues, tuner, out=out, store=db, loader=tiny_loader(built),
                       log=lambda msg: None)
    assert len(built) == 1 and res.skipped == [("tiny:seeing", "finetune_top1_acc_pct")]
    (row,) = read_records_csv(out)  # the store's record, now in the CSV too
    with RecordStore(db) as store:
        value, source, _ = store.find_record("fennec_finetune", "tiny:seeing", "hues", "finetune_top1_acc_pct")
    assert (float(row["value"]), row["source"]) == (value, source)

    db2 = tmp_path / "other.sqlite"
    finetune_zoo(["tiny:seeing"], hues, tuner, out=out, store=db2, loader=tiny_loader(built), log=lambda msg: None)
    assert len(built) == 1  # the CSV's record went to the new store without training again
    with RecordStore(db2) as store:
        assert store.find_record("fennec_finetune", "tiny:seeing", "hues", "finetune_top1_acc_pct")[0] == value


def test_other_settings_under_the_same_benchmark_are_refused(hues: Any, tmp_path: Path) -> None:
    out = tmp_path / "ft.csv"
    finetune_zoo(["tiny:seeing"], hues, Finetuner(epochs=1), out=out, loader=tiny_loader(), log=lambda msg: None)
    with pytest.raises(FennecInputError, match="another --benchmark"):
        finetune_zoo(["tiny:seeing"], hues, Finetuner(epochs=2), out=out, loader=tiny_loader(),
                     log=lambda msg: None)
    res = finetune_zoo(["tiny:seeing"], hues, Finetuner(epochs=2), out=out, benchmark="ft_2_epochs",
                       loader=tiny_loader(), log=lambda msg: None)
    assert len(res.records) == 1 and len(read_records_csv(out)) == 2


def test_an_unreadable_image_stops_the_sweep(tmp_path: Path, make_folder: Any) -> None:
    root = make_folder(tmp_path / "hues", HUES, per_class=5, size=24)
    next(root.rglob("*.png")).write_bytes(b"not an image")
    task = read_task(str(root))
    with pytest.raises(FennecInputError, match="fix or remove that image"):
        finetune_zoo(["tiny:seeing", "tiny:gray"], task, Finetuner(epochs=1), loader=tiny_loader(),
                     log=lambda msg: None)


def test_splits(tmp_path: Path, make_folder: Any) -> None:
    root = tmp_path / "split"
    make_folder(root, HUES, per_class=3, size=8, split="train")
    make_folder(root, HUES, per_class=2, size=8, split="test")
    task = read_task(str(root))
    train, test = task_split(task)
    assert set(task.splits[train]) == {"train"} and set(task.splits[test]) == {"test"}

    flat = read_task(str(make_folder(tmp_path / "flat", HUES, per_class=5, size=8)))
    train, test = task_split(flat, seed=3)
    assert not set(train) & set(test) and len(test) == 3  # one of five per class
    assert set(flat.labels[train]) == set(flat.labels[test]) == {0, 1, 2}
    assert np.array_equal(task_split(flat, seed=3)[1], test)

    only_train = tmp_path / "only"
    make_folder(only_train, HUES, per_class=2, size=8, split="train")
    with pytest.raises(FennecInputError, match="'test'"):
        task_split(read_task(str(only_train)))
    one_class = tmp_path / "one_class"  # a train split of one class (found by a probe: sklearn's error, per model)
    make_folder(one_class, {"red": HUES["red"]}, per_class=2, size=8, split="train")
    make_folder(one_class, HUES, per_class=2, size=8, split="test")
    with pytest.raises(FennecInputError, match=r"the train split holds 1 class\(es\) \(red\)"):
        task_split(read_task(str(one_class)))
    two = read_task(str(make_folder(tmp_path / "two", HUES, per_class=2, size=8)))
    with pytest.raises(FennecInputError, match="at least 3 images per class"):
        task_split(two)
    with pytest.raises(FennecInputError, match="at least 3 images per class"):  # once, not once per model
        finetune_zoo(["tiny:seeing", "tiny:gray"], two, Finetuner(epochs=1), loader=tiny_loader())
    three = read_task(str(make_folder(tmp_path / "three", HUES, per_class=3, size=8)))
    assert len(task_split(three)[1]) == 3


@pytest.mark.parametrize(("kwargs", "match"), [({"epochs": 0}, "epochs"), ({"protocol": "finetuning"}, "protocol"),
                                               ({"lr": -1.0}, "lr"), ({"lr": float("inf")}, "lr"),
                                               ({"weight_decay": float("nan")}, "weight_decay"),
                                               ({"seed": -1}, "seed"), ({"max_train": 0}, "max_train")])
def test_bad_settings(hues: Any, kwargs: dict, match: str) -> None:
    with pytest.raises(FennecInputError, match=match):
        Finetuner(**kwargs).run("tiny:seeing", hues, loader=tiny_loader())


def test_cli_fine_tunes_a_timm_model_into_the_store(tmp_path: Path, make_folder: Any, run_cli: Any) -> None:
    task = make_folder(tmp_path / "hues", HUES, per_class=5, size=24)
    db = tmp_path / "records.sqlite"
    args = ["finetune", "--models", "timm:test_resnet", "--task", task, "--epochs", "1", "--image-size", "16",
            "--allow-random", "--store", db, "--checkpoints", tmp_path / "ck"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "1 new record(s)" in err
    with RecordStore(db) as store:
        (rec,) = [r for r in store.records() if r.benchmark == "fennec_finetune"]
    assert rec.model == "timm:test_resnet" and 0.0 <= rec.value <= 100.0 and "weights random" in rec.source
    code, _, err = run_cli(*args)
    assert code == 0 and "1 already present" in err


@pytest.mark.parametrize(("extra", "match"), [(["--epochs", "0"], "epochs"), (["--out", "x.json"], ".csv"),
                                              (["--protocol", "full"], "invalid choice"), (["--seed", "-1"], "seed"),
                                              (["--checkpoints", "FILE"], "is a file"),
                                              (["--save-to", "a.pt", "--protocol", "linear_probe"], "fine-tuned")])
def test_cli_bad_input_is_one_line_and_exit_2(folder: Path, run_cli: Any, extra: list[str], match: str) -> None:
    extra = [str(folder / "red" / "0.png") if e == "FILE" else e for e in extra]
    code, _, err = run_cli("finetune", "--models", "timm:test_resnet", "--task", folder, *extra)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_a_model_trained_here_is_a_zoo_model(hues: Any, tmp_path: Path, make_folder: Any) -> None:
    from fennec.zoo.checkpoints import load_checkpoint_model, read_checkpoint_info

    ck = tmp_path / "zoo" / "test_resnet-hues.pt"
    tuner = Finetuner(epochs=2, lr=0.05, batch_size=16, image_size=16, allow_random=True)
    trained: list[Any] = []

    def keep(model_id: str, n_classes: int, allow_random: bool) -> Any:
        from fennec.zoo.finetune import load_zoo_model

        out = load_zoo_model(model_id, n_classes, allow_random)
        trained.append(out[0])
        return out

    tuner.run("timm:test_resnet", hues, loader=keep, save_to=ck)
    info = read_checkpoint_info(f"local:{ck}")
    assert (info.architecture, info.input_size, info.class_names) == ("test_resnet", 16, ("blue", "green", "red"))
    assert info.pretraining.startswith("supervised on hues: 3 classes (blue, green, red); trained here from random")
    model, _ = load_checkpoint_model(f"local:{ck}")
    for a, b in zip(trained[0].state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)

    target = read_task(str(make_folder(tmp_path / "target", HUES, per_class=5, size=24)))
    db = tmp_path / "records.sqlite"
    res = finetune_zoo([f"local:{ck}"], target, Finetuner(epochs=1), store=db, log=lambda msg: None)
    assert not res.failures and res.records[0]["model"] == f"local:{ck}"
    assert "weights file" in res.records[0]["source"] and "image_size=None" in res.records[0]["source"]
    with RecordStore(db) as store:
        meta = store.model(f"local:{ck}")
    assert (meta.architecture, meta.pretraining) == ("test_resnet", info.pretraining)


def test_foreign_or_missing_checkpoints_are_one_line_errors(tmp_path: Path) -> None:
    from fennec.zoo.checkpoints import read_checkpoint_info

    with pytest.raises(FennecInputError, match="does not exist"):
        read_checkpoint_info(f"local:{tmp_path / 'none.pt'}")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(FennecInputError, match="not a fennec-checkpoint-v1 checkpoint"):
        read_checkpoint_info(f"local:{tmp_path / 'other.pt'}")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(FennecInputError, match="cannot read checkpoint"):
        read_checkpoint_info(f"local:{tmp_path / 'junk.pt'}")
    # a checkpoint cut short (a copy interrupted): the description is memory-mapped, and still refused cleanly
    from fennec.zoo.checkpoints import save_checkpoint

    save_checkpoint(tmp_path / "whole.pt", torch.nn.Linear(64, 64), "test_resnet", "text", 16, ("a", "b"))
    whole = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    assert read_checkpoint_info(f"local:{tmp_path / 'whole.pt'}").class_names == ("a", "b")
    with pytest.raises(FennecInputError, match="cannot read checkpoint"):
        read_checkpoint_info(f"local:{tmp_path / 'cut.pt'}")
    with pytest.raises(FennecInputError, match="only a fine-tuned model can be kept"):
        Finetuner(protocol="linear_probe").run("local:x", None, save_to=tmp_path / "x.pt")  # type: ignore[arg-type]
    (tmp_path / "adir").mkdir()  # found by a probe: the model trained first, then failed to be saved
    with pytest.raises(FennecInputError, match=r"--save-to .*adir'?: is a directory"):
        Finetuner().run("local:x", None, save_to=tmp_path / "adir")  # type: ignore[arg-type]


def test_images_too_big_to_decode_stop_the_sweep_with_a_hint(hues: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import fennec.zoo.finetune_data as data

    monkeypatch.setattr(data, "MAX_DECODED_BYTES", 1000)
    with pytest.raises(FennecInputError, match="--max-train"):
        finetune_zoo(["tiny:seeing", "tiny:gray"], hues, Finetuner(epochs=1), loader=tiny_loader(),
                     log=lambda msg: None)


@pytest.mark.parametrize(("change", "message"), [
    ({"architecture": None}, "lacks architecture"), ({"pretraining": None}, "lacks pretraining"),
    ({"architecture": 5}, "architecture 5 is not a timm architecture name"),
    ({"architecture": ""}, "architecture '' is not a timm architecture name"),
    ({"architecture": "resnt10t"}, "timm has no architecture 'resnt10t'; did you mean resnet10t"),
    ({"input_size": "abc"}, "input_size 'abc' is not a positive integer"),
    ({"class_names": "ab"}, "class_names is not a list of names"),
])
def test_a_checkpoint_description_is_checked_not_taken_at_its_word(tmp_path: Path, change: dict,
                                                                   message: str) -> None:
    """Found by a probe: missing fields were tracebacks, and an architecture 5, '' or a typo was added to a space
    (where 5 then broke every training) and ranked as an average model."""
    import torch

    from fennec.zoo.checkpoints import read_checkpoint_info, save_checkpoint

    good = tmp_path / "good.pt"
    save_checkpoint(good, torch.nn.Linear(2, 2), "resnet10t", "birds", 32, ("a", "b"))
    state = torch.load(good, weights_only=True)
    for k, v in change.items():
        state.pop(k) if v is None else state.__setitem__(k, v)
    torch.save(state, tmp_path / "bad.pt")
    assert read_checkpoint_info(f"local:{good}").architecture == "resnet10t"
    with pytest.raises(FennecInputError, match=re.escape(message)):
        read_checkpoint_info(f"local:{tmp_path / 'bad.pt'}")
