"""Fixtures for task tests: a private descriptor cache, one torch thread, generated image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("fennec_cache")
    monkeypatch.setenv("FENNEC_CACHE", str(cache))
    return cache


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


@pytest.fixture
def make_folder():
    """The :func:`make_image_folder` helper (conftest modules are not importable from tests)."""
    return make_image_folder


@pytest.fixture
def make_color_image():
    return color_image
