"""Fixtures for archi2vec tests: an isolated cache and data dir, shared small graphs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/ is on sys.path (rootdir conftest) and holds this directory, tests/archi2vec/, which Python would
# import as an empty namespace package "archi2vec" before the editable-install finder gets a chance. Put the
# repository root first so that the real package wins.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("archi2vec"), "__file__", "") is None:
    del sys.modules["archi2vec"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never read or write the user's cache; one cache per session keeps extraction cost low.
    root = tmp_path_factory.getbasetemp() / "a2v-cache"
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(root))


@pytest.fixture(scope="session")
def resnet18_graph():
    from archi2vec import graph_from_timm

    return graph_from_timm("resnet18")


@pytest.fixture(scope="session")
def small_graphs():
    """A few small real architecture graphs (timm + torchvision)."""
    from archi2vec import graph_from_timm, graph_from_torchvision

    return [graph_from_timm("resnet10t"), graph_from_timm("mobilenetv3_small_050"), graph_from_timm("resnet18"),
            graph_from_torchvision("alexnet"), graph_from_timm("vit_tiny_patch16_224"),
            graph_from_timm("convnext_atto")]


@pytest.fixture
def data_dir(tmp_path, monkeypatch, small_graphs):
    """A data dir with a tiny encoder trained on a few graphs, so the tests do not depend on shipped files; its
    own empty cache."""
    from archi2vec.api import save_encoder
    from archi2vec.train import train_encoder

    enc, info = train_encoder(small_graphs[:3], dim=8, hidden=16, num_layers=2, epochs=1, batch_size=3, log=None)
    d = tmp_path / "data"
    save_encoder(d / "encoder.pt", enc, info)
    monkeypatch.setenv("ARCHI2VEC_DATA", str(d))
    monkeypatch.setenv("ARCHI2VEC_CACHE", str(tmp_path / "cache"))
    return d
