"""The shipped default space (data/space) end to end: what the README's main command and an image folder get."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fennec.cli import main

BIRD_TASKS = {"cub200", "nabird", "birdsnap"}
CAT_TASKS = {"pets", "cifar10"}  # cat breeds; a "cat" class


def recommend(capsys: pytest.CaptureFixture[str], *argv: object) -> dict:
    code = main(["recommend", *map(str, argv), "--format", "json", "--top-k", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_readme_task_is_near_the_bird_datasets(capsys) -> None:
    res = recommend(capsys, "--classes", "sparrow,eagle,owl,heron,parrot,robin")
    assert res["nearest_tasks"][0]["task"] in BIRD_TASKS
    assert len(res["ranking"]) == 5 and res["images"] is None


def test_numbered_folder_of_cat_photos_is_seen_as_a_task_with_cats(capsys, tmp_path: Path, monkeypatch) -> None:
    """Folders 0 and 1 of scikit-image's cat photo: without images the task has no text and is near nothing;
    through the offline proxy's ImageNet labels it is nearest to a historical task with cats in it."""
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    monkeypatch.setenv("FENNEC_CACHE", str(tmp_path / "cache"))
    img = data.chelsea()
    h, w = img.shape[:2]
    for c in ("0", "1"):
        (tmp_path / "cats" / c).mkdir(parents=True)
        for i, (y, x) in enumerate([(0, 0), (h // 10, w // 10), (h // 8, 0)]):
            crop = img[y: y + 9 * h // 10, x: x + 9 * w // 10]
            Image.fromarray(np.ascontiguousarray(crop if c == "0" else crop[:, ::-1])).save(
                tmp_path / "cats" / c / f"{i}.jpg")
    blind = recommend(capsys, tmp_path / "cats", "--no-images")
    assert blind["nearest_tasks"] == [] and blind["images"] is None
    seen = recommend(capsys, tmp_path / "cats")
    assert seen["images"]["n_images"] == 6 and "cat" in seen["images"]["description"]
    assert seen["nearest_tasks"][0]["task"] in CAT_TASKS
