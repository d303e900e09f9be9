"""Probe-set sampler: class balance, determinism, replacement of unreadable images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fennec.tasks import balanced_sample, read_task, sample_probe_set, task_from_class_names
from fennec.validation import FennecInputError, FennecInputWarning


def test_balanced_when_classes_are_large() -> None:
    labels = np.repeat(np.arange(5), [300, 200, 150, 100, 1000])
    idx, _ = balanced_sample(labels, 500, seed=1)
    assert len(idx) == 500 and len(set(idx.tolist())) == 500
    assert np.bincount(labels[idx], minlength=5).tolist() == [100] * 5


def test_small_classes_give_all_and_the_rest_is_shared() -> None:
    labels = np.repeat(np.arange(3), [5, 400, 400])
    idx, reserve = balanced_sample(labels, 101, seed=0)
    counts = np.bincount(labels[idx], minlength=3)
    assert counts[0] == 5 and counts.sum() == 101 and abs(int(counts[1]) - int(counts[2])) <= 1
    assert len(reserve[0]) == 0 and len(reserve[1]) + counts[1] == 400


def test_fewer_images_than_budget_takes_everything() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    idx, _ = balanced_sample(labels, 500)
    assert idx.tolist() == [0, 1, 2, 3, 4]


def test_deterministic_and_seed_dependent() -> None:
    labels = np.repeat(np.arange(4), 50)
    a, _ = balanced_sample(labels, 40, seed=3)
    b, _ = balanced_sample(labels, 40, seed=3)
    c, _ = balanced_sample(labels, 40, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.bincount(labels[a]).tolist() == [10] * 4
    with pytest.raises(FennecInputError, match="positive integer"):
        balanced_sample(labels, 0)


def test_probe_set_prefers_train_split(tmp_path: Path, make_folder) -> None:
    colors = {"red": (220, 30, 30), "blue": (30, 40, 220)}
    make_folder(tmp_path / "ds", colors, per_class=3, split="train")
    make_folder(tmp_path / "ds", colors, per_class=2, split="test")
    task = read_task(tmp_path / "ds")
    probe = sample_probe_set(task, max_images=100)
    assert probe.split == "train" and len(probe.indices) == 6
    assert set(task.splits[probe.indices].tolist()) == {"train"}
    assert len(sample_probe_set(task, split=None).indices) == 10
    with pytest.raises(FennecInputError, match="split 'val' is empty"):
        sample_probe_set(task, split="val")
    with pytest.raises(FennecInputError, match="text-only"):
        sample_probe_set(task_from_class_names("t", ["a", "b"]))


def test_unreadable_images_are_replaced_from_the_same_class(folder: Path) -> None:
    task = read_task(folder)
    probe = sample_probe_set(task, max_images=6, seed=0)  # 2 per class out of 4
    red = task.class_names.index("red")
    broken = int(next(i for i in probe.indices if task.labels[i] == red))
    task.paths[broken].write_bytes(b"broken")  # a chosen image turns out unreadable
    loaded: list[int] = []
    with pytest.warns(FennecInputWarning, match="skipped 1 unreadable"):
        images = list(probe.iter_images(loaded=loaded))
    assert len(images) == 6 and broken not in loaded
    assert np.bincount(task.labels[loaded], minlength=3).tolist() == [2, 2, 2]
    assert probe.report.n_failed == 1 and probe.report.failures[0][0] == str(task.paths[broken])


def test_class_with_no_readable_image_is_an_error(folder: Path) -> None:
    for p in (folder / "green").iterdir():
        p.write_bytes(b"broken")
    task = read_task(folder)
    probe = sample_probe_set(task)
    with pytest.warns(FennecInputWarning), pytest.raises(FennecInputError, match="no readable image in class"):
        list(probe.iter_images())
