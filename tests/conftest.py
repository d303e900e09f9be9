"""Shared test set-up: no network, one torch thread, a private cache, generated image folders and records
stores (fixtures used by several test packages live here, once)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")

from fennec.records import RecordStore


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("fennec_cache")
    monkeypatch.setenv("FENNEC_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True, scope="session")
def _private_store(tmp_path_factory: pytest.TempPathFactory):
    """No test touches the user's records store by accident: the default store lives in a session temp dir."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FENNEC_STORE", str(tmp_path_factory.mktemp("default_store") / "records.sqlite"))
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # the machine is shared: one thread per test process


def color_image(rgb: tuple[int, int, int], size: int = 40, seed: int = 0) -> Image.Image:
    """A noisy solid-colour image (distinct colours make distinct classes for a proxy)."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.asarray(rgb, dtype=np.float64) + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def make_image_folder(root: Path, classes: dict[str, tuple[int, int, int]], per_class: int = 4,
                      size: int = 40, split: str | None = None) -> Path:
    """root/[split/]<class>/<i>.png with noisy colour images."""
    for c, (name, rgb) in enumerate(classes.items()):
        d = root / split / name if split else root / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            color_image(rgb, size, seed=100 * c + i).save(d / f"{i}.png")
    return root


COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_image_folder(tmp_path / "colors", COLORS, per_class=4)


@pytest.fixture(scope="session")
def make_folder():
    """The :func:`make_image_folder` helper (conftest modules are not importable from tests)."""
    return make_image_folder


@pytest.fixture
def make_color_image():
    return color_image


# ------------------------------------------------------------------------------------------- records stores


@pytest.fixture(scope="session")
def shipped_store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("shipped") / "records.sqlite"
    RecordStore(path).close()
    return path


@pytest.fixture
def store(shipped_store_file, tmp_path):
    """A private, writable copy of the seeded store."""
    path = tmp_path / "records.sqlite"
    shutil.copy(shipped_store_file, path)
    s = RecordStore(path)
    yield s
    s.close()


@pytest.fixture
def empty_store(tmp_path):
    s = RecordStore(tmp_path / "empty.sqlite", seed=False)
    yield s
    s.close()
