"""The proxy names a task's images, and those names become the text the transfer space reads."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from fennec.tasks import read_task, task_from_class_names
from fennec.tasks.readers import placeholder_names
from fennec.tasks.visual import VisualLabels, label_task_images, summarize_labels, text_card
from fennec.validation import FennecInputError

NAMES = ["tabby, tabby cat", "espresso", "tabby, tabby-cat pattern", "missile"]


def test_summarize_labels_per_class_and_class_balanced() -> None:
    """Class 0's images peak at label 1, class 1's at label 3; the task level averages classes, not images."""
    probs = np.array([[0.1, 0.8, 0.05, 0.05]] * 9 + [[0.0, 0.1, 0.0, 0.9]])
    labels = np.array([0] * 9 + [1])
    out = summarize_labels(probs, labels, 3, NAMES, "fake:proxy", top=3)
    assert out.class_labels == ("espresso", "missile", "")  # class 2 had no image
    # per image, espresso would lead with 0.73 of the mass; per class missile leads, (0.05 + 0.9) / 2
    assert out.top_labels == (("missile", pytest.approx(0.475)), ("espresso", pytest.approx(0.45)),
                              ("tabby", pytest.approx(0.05)))
    assert out.n_images == 10 and out.proxy == "fake:proxy"


def test_summarize_labels_orders_by_mass_and_merges_shared_first_synonyms() -> None:
    probs = np.array([[0.3, 0.1, 0.3, 0.3], [0.3, 0.1, 0.3, 0.3]])
    out = summarize_labels(probs, np.array([0, 1]), 2, NAMES, "p", top=5)
    names = [n for n, _ in out.top_labels]
    assert names == ["tabby", "missile", "espresso"]  # the second "tabby" label is not listed twice
    masses = [m for _, m in out.top_labels]
    assert masses == sorted(masses, reverse=True)


def test_summarize_labels_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="do not match"):
        summarize_labels(np.ones((2, 3)) / 3, np.array([0, 1]), 2, NAMES, "p")


@pytest.mark.parametrize(("top", "text"), [
    ((), ""),
    ((("owl", 0.9),), "Photos of owl."),
    ((("owl", 0.5), ("jay", 0.3), ("robin", 0.2)), "Photos of owl, jay and robin."),
])
def test_description(top, text) -> None:
    assert VisualLabels(("owl",), top, "p", 1).description() == text


def test_round_trip_dict() -> None:
    v = VisualLabels(("owl", ""), (("owl", 0.75),), "timm:x", 4)
    assert VisualLabels.from_dict(v.to_dict()) == v


@pytest.mark.parametrize(("names", "placeholder"), [
    (["0", "1", "2"], True),
    (["class_0", "class_1"], True),
    (["Label-3", "label 12"], True),
    (["n01440764", "n01443537"], True),
    (["cat", "dog"], False),
    (["0", "dog"], False),
    (["7up", "cola"], False),
    ([], False),
])
def test_placeholder_names(names, placeholder) -> None:
    assert placeholder_names(names) is placeholder


def write_folder(root: Path, classes: list[str], n: int = 2) -> Path:
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (32, 32), (40 * i, 100, 200)).save(root / c / f"{i}.png")
    return root


def test_image_folder_with_numbered_classes_has_no_class_names(tmp_path: Path) -> None:
    task = read_task(str(write_folder(tmp_path / "t", ["0", "1"])))
    assert task.named_classes is False
    renamed = read_task(str(tmp_path / "t"), "cat,dog")
    assert renamed.named_classes is True and renamed.class_names == ("cat", "dog")
    assert read_task(str(write_folder(tmp_path / "u", ["cat", "dog"]))).named_classes is True


def test_text_card_fills_only_what_the_task_lacks(tmp_path: Path) -> None:
    visual = VisualLabels(("owl", "owl", "jay"), (("owl", 0.6), ("jay", 0.4)), "p", 6)
    numbered = read_task(str(write_folder(tmp_path / "n", ["0", "1", "2"])))
    card = text_card(numbered, visual)
    assert card.class_names == ("owl", "jay")  # a repeated label once
    assert card.description == "Photos of owl and jay."
    assert (card.n_classes, card.n_images, card.name) == (3, 6, "n")
    named = read_task(str(write_folder(tmp_path / "m", ["robin", "wren"])), description="garden birds")
    card = text_card(named, visual)
    assert card.class_names == ("robin", "wren") and card.description == "garden birds"
    plain = text_card(numbered)
    assert plain.class_names == () and plain.description == ""


def test_one_label_for_every_class_names_no_class(tmp_path: Path) -> None:
    """Two numbered classes the proxy calls the same: one label describes the task but names no class, and the
    card is still featurized (a single class name would not be a task)."""
    from fennec.space.features import task_features

    task = read_task(str(write_folder(tmp_path / "scans", ["0", "1"])))
    card = text_card(task, VisualLabels(("envelope", "envelope"), (("envelope", 0.9),), "p", 4))
    assert card.class_names == () and card.description == "Photos of envelope."
    tf = task_features([card])
    assert not tf.names.any() and tf.description.any()
    # with several task-level labels, those stand in for the names
    card = text_card(task, VisualLabels(("envelope", "envelope"), (("envelope", 0.6), ("letter", 0.3)), "p", 4))
    assert card.class_names == ("envelope", "letter")
    assert task_features([card]).names.any()


def test_labelling_needs_images() -> None:
    with pytest.raises(FennecInputError, match="has no images"):
        label_task_images(task_from_class_names("t", ["a", "b"]))


def test_a_proxy_without_label_names_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fennec.encoders

    class Blind:
        name = "fake:blind"
        dim = 4

        def encode_images(self, images):
            return np.zeros((len(list(images)), 4), np.float32)

    monkeypatch.setattr(fennec.encoders, "create_image_encoder", lambda *a, **k: Blind())
    task = read_task(str(write_folder(tmp_path / "t", ["0", "1"])))
    with pytest.raises(FennecInputError, match=r"cannot name images.*--no-images"):
        label_task_images(task, "timm:tf_efficientnet_lite0", use_cache=False)


def test_offline_proxy_names_a_cat_and_a_coffee_folder_and_caches(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Real images, real offline proxy: numbered folders of scikit-image's cat and coffee photos."""
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    root = tmp_path / "photos"
    for c, img in (("0", data.chelsea()), ("1", data.coffee())):
        (root / c).mkdir(parents=True)
        h, w = img.shape[:2]
        for i, (y, x) in enumerate([(0, 0), (h // 10, w // 10), (h // 8, 0)]):
            Image.fromarray(np.ascontiguousarray(img[y: y + 9 * h // 10, x: x + 9 * w // 10])).save(
                root / c / f"{i}.jpg")
    task = read_task(str(root))
    cache = tmp_path / "cache"
    first = label_task_images(task, cache=cache)
    assert "cat" in first.class_labels[0] and first.class_labels[1] in ("espresso", "cup", "coffee mug")
    assert first.n_images == 6 and first.proxy == "timm:tf_efficientnet_lite0"
    assert sum(m for _, m in first.top_labels) <= 1.0 + 1e-6
    card = text_card(task, first)
    assert "cat" in card.description and card.class_names[1] == first.class_labels[1]

    import fennec.encoders

    def forbidden(*args, **kwargs):
        raise AssertionError("the cached labels should have been used")

    monkeypatch.setattr(fennec.encoders, "create_image_encoder", forbidden)
    assert label_task_images(task, cache=cache) == first
    # names and a description do not change what the images look like: still cached
    assert label_task_images(read_task(str(root), "cat,coffee", description="two photos"), cache=cache) == first
    (next(cache.iterdir())).write_text("{broken")  # a damaged entry is recomputed, not an error
    monkeypatch.undo()
    assert label_task_images(task, cache=cache) == first


def test_labels_read_from_the_statistics_pass_equal_a_pass_of_their_own(folder: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """describe_images keeps the classifier's view of its pass; label_task_images replays its own (smaller) probe
    set over it, unreadable files replaced as a pass would replace them, and gets the same labels without the
    proxy. A probe set the pass did not cover gets a pass of its own."""
    import fennec.encoders
    from fennec.tasks import describe_images, describe_task

    proxy = "timm:tf_efficientnet_lite0"
    for i in range(3):  # red keeps one readable image: the labels' probe set of 6 must replace a broken one
        (folder / "red" / f"{i}.png").write_bytes(b"garbage")
    task = read_task(str(folder))
    with pytest.warns(UserWarning, match="skipped"):
        stats = describe_images(task, proxy, classify=True, use_cache=False)
        np.testing.assert_array_equal(stats.part, describe_task(task, proxy, use_cache=False).parts["image"])
        own = label_task_images(task, proxy, max_images=6, use_cache=False)
        with pytest.warns(UserWarning, match="cannot measure"):  # one image per class: no within-class geometry
            small = describe_images(task, proxy, max_images=3, classify=True, use_cache=False)
        own_all = label_task_images(task, proxy, use_cache=False)
    assert stats.outputs is not None and len(stats.outputs.failed) == 3 and stats.info["n_probe"] == 9

    def forbidden(*args, **kwargs):
        raise AssertionError("the labels should have been read from the statistics pass")

    monkeypatch.setattr(fennec.encoders, "create_image_encoder", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the pass already warned about the files it skipped: no second warning
        assert label_task_images(task, proxy, max_images=6, use_cache=False, seen=stats.outputs) == own
        assert label_task_images(task, proxy, use_cache=False, seen=stats.outputs) == own_all
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="skipped"):
        assert label_task_images(task, proxy, use_cache=False, seen=small.outputs) == own_all


def test_the_statistics_and_the_names_share_one_proxy_per_id(folder: Path, fake_proxy) -> None:
    """describe_images and label_task_images take their proxy from one process-wide cache: one encoder per proxy
    id, whichever asks first and however the id is spelled (an alias, the full id, None for the default)."""
    from fennec.encoders import DEFAULT_PROXY
    from fennec.tasks import describe_images
    from fennec.tasks.proxies import shared_proxy

    built = fake_proxy()
    task = read_task(str(folder))
    stats = describe_images(task, "lite0", use_cache=False)
    labels = label_task_images(task, use_cache=False)  # no `seen`: a pass of its own
    assert [p.name for p in built] == [DEFAULT_PROXY]
    assert built[0].passes == [("encode", 12), ("classify", 12)]
    assert stats.proxy == labels.proxy == DEFAULT_PROXY and stats.part.shape == (2 * 16 + 8,)
    assert dict(zip(task.class_names, labels.class_labels, strict=True)) == {"red": "tabby", "green": "espresso",
                                                                             "blue": "daisy"}
    assert shared_proxy() is shared_proxy(DEFAULT_PROXY) is shared_proxy("lite0") is built[0]
    other = shared_proxy("lite2")  # another proxy is another encoder, built once too
    assert other is not built[0] and other is shared_proxy("timm:tf_efficientnet_lite2")
    assert [p.name for p in built] == [DEFAULT_PROXY, "timm:tf_efficientnet_lite2"]
