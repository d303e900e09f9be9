"""Task descriptors: fixed size, documented layout, missing parts, determinism and the on-disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fennec.tasks import (
    GEOMETRY_STATS,
    META_FIELDS,
    describe_task,
    descriptor_layout,
    load_descriptor,
    read_task,
    task_from_class_names,
)
from fennec.tasks.descriptor import prototype_geometry

PROXY = "timm:tf_efficientnet_lite0"  # the fastest wheel proxy keeps the tests quick
SIZE = 2 * 384 + 2 * 1280 + len(GEOMETRY_STATS) + len(META_FIELDS)


def test_layout_is_contiguous_and_documented() -> None:
    lay = descriptor_layout(384, 1280)
    assert list(lay) == ["text.names", "text.description", "image.mean", "image.std", "image.geometry", "meta"]
    stops = [0] + [b for _, b in lay.values()]
    assert all(a == stops[i] for i, (a, _) in enumerate(lay.values()))
    assert lay["meta"][1] == SIZE


def test_text_only_task(_private_cache: Path) -> None:
    task = task_from_class_names("pets", ["cat", "dog", "golden_retriever"], description="photos of pets")
    d = describe_task(task, proxy=PROXY)
    assert d.vector.shape == (SIZE,) and d.vector.dtype == np.float32 and d.dim == SIZE
    assert d.parts["image"] is None and d.parts["text"].shape == (768,)
    assert np.allclose(np.linalg.norm(d.block("text.names")), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(d.block("text.description")), 1.0, atol=1e-5)
    assert not d.block("image.mean").any() and not d.block("image.geometry").any()
    meta = dict(zip(META_FIELDS, d.parts["meta"].tolist(), strict=True))
    assert meta["has_text_names"] == 1 and meta["has_description"] == 1 and meta["has_image"] == 0
    assert meta["log1p_classes"] == pytest.approx(np.log1p(3))
    assert not d.info["cached"]
    again = describe_task(task, proxy=PROXY)
    assert again.info["cached"] and np.array_equal(again.vector, d.vector)
    assert len(list((_private_cache / "descriptors").glob("*.npz"))) == 1
    fresh = describe_task(task, proxy=PROXY, use_cache=False)
    assert np.allclose(fresh.vector, d.vector, atol=1e-6)

    # a damaged entry is recomputed: a zip header over junk raised zipfile.BadZipFile, which nothing caught
    (entry,) = (_private_cache / "descriptors").glob("*.npz")
    for junk in (b"PK\x03\x04junk", b""):
        entry.write_bytes(junk)
        redone = describe_task(task, proxy=PROXY)
        assert not redone.info["cached"] and np.allclose(redone.vector, d.vector, atol=1e-6)


def test_text_part_reflects_meaning() -> None:
    pets = describe_task(task_from_class_names("a", ["cat", "dog", "rabbit"]), proxy=PROXY)
    pets2 = describe_task(task_from_class_names("b", ["kitten", "puppy", "bunny"]), proxy=PROXY)
    cars = describe_task(task_from_class_names("c", ["sedan", "pickup truck", "convertible"]), proxy=PROXY)
    n = lambda d: d.block("text.names")  # noqa: E731
    assert float(n(pets) @ n(pets2)) > float(n(pets) @ n(cars)) + 0.1
    assert pets.parts["meta"][1] == 0  # no description


class _CountingEncoder:
    """Embeds a text as a fixed random vector of its own (hash-seeded) and keeps what it was asked to embed."""

    dim = 16

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=self.dim) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def test_a_long_class_list_is_embedded_through_a_sample_fixed_by_its_names(monkeypatch) -> None:
    import fennec.tasks.descriptor as desc

    monkeypatch.setattr(desc, "MAX_NAMES", 8)
    names = [f"class {i:02d}" for i in range(30)]
    enc = _CountingEncoder()
    vec = desc.text_part(task_from_class_names("t", names, description="many classes"), enc)
    assert len(enc.calls[0]) == 8 + 1  # eight names and the description
    again = desc.text_part(task_from_class_names("t", names[::-1], description="many classes"), enc)
    assert set(enc.calls[1]) == set(enc.calls[0]) and np.array_equal(vec, again)  # the order does not matter
    m = enc.encode(enc.calls[0][:8]).mean(axis=0)
    np.testing.assert_allclose(vec[:16], m / np.linalg.norm(m), rtol=1e-6)
    desc.text_part(task_from_class_names("t", names[:8]), enc)
    assert len(enc.calls[-1]) == 8 and enc.calls[-1] == [desc.PROMPT.format(name=n) for n in names[:8]]


def test_an_image_edited_past_the_fingerprinted_head_misses_the_cache(tmp_path: Path) -> None:
    """The fingerprint reads each file's size and first 64 KiB; a BMP stores its top rows last, so painting them
    kept both, and the stale descriptor came back from the cache (a probe)."""
    import os

    from PIL import Image

    for c, colour in (("a", (200, 40, 40)), ("b", (40, 40, 200))):
        (tmp_path / "bmp" / c).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (200, 200), colour).save(tmp_path / "bmp" / c / f"{i}.bmp")
    before = read_task(tmp_path / "bmp")
    first = describe_task(before, proxy=PROXY)
    for f in (tmp_path / "bmp" / "a").glob("*.bmp"):
        size = f.stat().st_size
        img = Image.open(f).convert("RGB")
        img.paste((30, 200, 30), (0, 0, 200, 80))  # the top rows: the end of a bottom-up BMP, past 64 KiB
        img.save(f)
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))  # a coarse clock still moves
        assert f.stat().st_size == size
    task = read_task(tmp_path / "bmp")
    assert task.fingerprint == before.fingerprint  # what the fingerprint sees is unchanged
    second = describe_task(task, proxy=PROXY)
    assert not second.info["cached"] and not np.allclose(second.vector, first.vector)
    assert describe_task(task, proxy=PROXY).info["cached"]  # and the new one is cached


def test_image_task_descriptor(folder: Path) -> None:
    task = read_task(folder)
    d = describe_task(task, proxy=PROXY, max_images=6)
    assert d.vector.shape == (SIZE,)
    assert d.parts["image"].shape == (2 * 1280 + len(GEOMETRY_STATS),)
    assert d.info["n_probe"] == 6 and d.info["n_skipped"] == 0
    geom = dict(zip(GEOMETRY_STATS, d.block("image.geometry").tolist(), strict=True))
    assert geom["ncm_accuracy"] == pytest.approx(1.0)  # red, green and blue are trivially separable
    assert 0 < geom["between_frac"] <= 1 and 0 < geom["mean_norm"] <= 1
    assert geom["intra_cos"] > geom["proto_cos_mean"]
    assert d.parts["meta"][2] == 1 and d.parts["meta"][5] == pytest.approx(np.log1p(6))
    again = describe_task(task, proxy=PROXY, max_images=6)
    assert again.info["cached"] and np.array_equal(again.vector, d.vector)
    other_seed = describe_task(task, proxy=PROXY, max_images=6, seed=1)
    assert not other_seed.info["cached"]


def test_unreadable_image_is_reported_in_the_descriptor(folder: Path) -> None:
    (folder / "red" / "0.png").write_bytes(b"garbage")
    task = read_task(folder)
    with pytest.warns(UserWarning, match="skipped 1"):
        d = describe_task(task, proxy=PROXY)
    assert d.info["n_skipped"] == 1 and d.info["n_probe"] == 11 and "0.png" in d.info["skipped"][0]


def test_features_task_and_unnamed_classes(tmp_path: Path) -> None:
    np.savez(tmp_path / "f.npz", features=np.random.default_rng(0).normal(size=(8, 4)), labels=np.repeat([0, 1], 4))
    d = describe_task(read_task(tmp_path / "f.npz"), proxy=PROXY)
    assert d.parts["image"] is None and d.parts["text"] is None  # class_0/class_1 carry no meaning
    assert d.vector.shape == (SIZE,) and d.parts["meta"][4] == pytest.approx(np.log1p(8))
    d2 = describe_task(read_task(tmp_path / "f.npz", classes="cat,dog"), proxy=PROXY)
    assert d2.parts["text"] is not None


def test_save_and_load(tmp_path: Path) -> None:
    d = describe_task(task_from_class_names("t", ["a", "b"]), proxy=PROXY)
    d.save(tmp_path / "d.npz")
    e = load_descriptor(tmp_path / "d.npz")
    assert np.array_equal(e.vector, d.vector) and e.layout == d.layout and e.parts["image"] is None
    assert e.proxy == PROXY and e.fingerprint == d.fingerprint


def test_prototype_geometry_on_known_points() -> None:
    emb = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float64)
    g = dict(zip(GEOMETRY_STATS, prototype_geometry(emb, np.array([0, 0, 1, 1])).tolist(), strict=True))
    assert g["intra_cos"] == pytest.approx(1.0) and g["proto_cos_mean"] == pytest.approx(0.0)
    assert g["ncm_accuracy"] == 1.0 and g["between_frac"] == pytest.approx(1.0)
    assert g["mean_norm"] == pytest.approx(np.sqrt(0.5))


def test_a_cache_variable_naming_a_file_is_an_error_before_any_work(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The work was done, then thrown away when the cache could not be written, with a warning not naming it."""
    from fennec.validation import FennecInputError

    afile = tmp_path / "cachefile"
    afile.write_text("x")
    monkeypatch.setenv("FENNEC_CACHE", str(afile))
    task = task_from_class_names("pets", ["cat", "dog"])
    with pytest.raises(FennecInputError, match=r"\$FENNEC_CACHE '.*cachefile': is a file, not a folder"):
        describe_task(task, proxy=PROXY)
