"""Shared test set-up: no network, one torch thread, a private cache, generated image folders and records
stores (fixtures used by several test packages live here, once)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")

from fennec.cli import main
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


class ColourProxy:
    """A cheap stand-in for a proxy with a classifier head (no weights): embeds an image by its mean colour, and
    its head calls reddish images tabbies, greenish ones espresso and bluish ones daisies.

    Attributes:
        name: The proxy id it was built for.
        dim: Embedding width (the image part of a descriptor is then ``2 * dim + 8``).
        label_names: The head's labels, ImageNet-style descriptions.
        passes: (method, number of images) of every forward pass it made.
    """

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim
        self.label_names = ["tabby, tabby cat", "espresso", "daisy"]
        self.passes: list[tuple[str, int]] = []
        self._projection = np.random.default_rng(0).normal(size=(3, dim))

    def _colours(self, method: str, images) -> np.ndarray:
        rgb = np.asarray([np.asarray(img.convert("RGB"), np.float64).mean(axis=(0, 1)) / 255 for img in images])
        self.passes.append((method, len(rgb)))
        return rgb.reshape(-1, 3)

    def _embed(self, rgb: np.ndarray) -> np.ndarray:
        emb = rgb @ self._projection
        return (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)

    @staticmethod
    def _probs(rgb: np.ndarray) -> np.ndarray:
        e = np.exp(8 * rgb)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def encode_images(self, images) -> np.ndarray:
        return self._embed(self._colours("encode", images))

    def classify_images(self, images) -> np.ndarray:
        return self._probs(self._colours("classify", images))

    def embed_and_classify_images(self, images) -> tuple[np.ndarray, np.ndarray]:
        rgb = self._colours("embed_and_classify", images)
        return self._embed(rgb), self._probs(rgb)


@pytest.fixture
def fake_proxy(monkeypatch: pytest.MonkeyPatch):
    """``fake_proxy(dim=16) -> built``: every image proxy is a :class:`ColourProxy` from then on, and ``built``
    lists each one the factory (``fennec.encoders.create_image_encoder``) made, in order."""
    import fennec.encoders
    from fennec.encoders.base import EncoderEntry

    def install(dim: int = 16) -> list[ColourProxy]:
        built: list[ColourProxy] = []

        def factory(model_id: str | None = None) -> ColourProxy:
            built.append(ColourProxy(fennec.encoders.resolve_proxy_id(model_id), dim))
            return built[-1]

        monkeypatch.setattr(fennec.encoders, "create_image_encoder", factory)
        # the planted worlds' proxy ids (``test:...``) pass the commands' registry check of --proxy while installed
        entry = EncoderEntry(lambda model_id, modality: factory(model_id), ("image",),
                             "a test's ColourProxy (tests/conftest.py fake_proxy)")
        monkeypatch.setitem(fennec.encoders.ENCODERS._entries, "test:*", entry)
        return built

    return install


# ------------------------------------------------------------------------------------------- records stores


@pytest.fixture(scope="session")
def shipped_store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("shipped") / "records.sqlite"
    RecordStore(path).close()
    return path


@pytest.fixture
def store_path(shipped_store_file, tmp_path) -> str:
    """The path of a private, writable copy of the seeded store, for commands' ``--store``."""
    path = tmp_path / "records.sqlite"
    shutil.copy(shipped_store_file, path)
    return str(path)


@pytest.fixture
def store(store_path):
    """A private, writable copy of the seeded store, open."""
    s = RecordStore(store_path)
    yield s
    s.close()


@pytest.fixture
def empty_store(tmp_path):
    s = RecordStore(tmp_path / "empty.sqlite", seed=False)
    yield s
    s.close()


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``run_cli(*argv)``: ``fennec ARGV`` in-process, returning (exit code, stdout, stderr).

    A fixture rather than a function because conftest modules are not importable from tests; argparse's
    SystemExit becomes its exit code, as the command line would report it.
    """

    def run(*argv: object) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors exit through the parser
            code = exc.code if isinstance(exc.code, int) else 1
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run
