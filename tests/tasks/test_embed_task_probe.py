"""What a user probe of `fennec embed-task` found: a probe set too small for the class geometry, empty and
malformed encoder ids, and a summary naming a proxy that never ran."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fennec.encoders import (
    DEFAULT_PROXY,
    DEFAULT_TEXT_ENCODER,
    check_encoder_id,
    create_text_encoder,
    resolve_proxy_id,
    resolve_text_encoder_id,
)
from fennec.tasks import GEOMETRY_STATS, describe_task, load_descriptor, read_task, task_from_class_names
from fennec.tasks.descriptor import prototype_geometry, undefined_geometry
from fennec.validation import FennecInputError, FennecInputWarning

TWO = {"red": (220, 30, 30), "blue": (30, 40, 220)}
WITHIN = ("intra_cos", "ncm_accuracy", "between_frac")  # what one image per class cannot measure


def geometry(emb: np.ndarray, labels: list[int], n_classes: int | None = None) -> dict[str, float]:
    return dict(zip(GEOMETRY_STATS, prototype_geometry(np.asarray(emb, float), np.asarray(labels), n_classes).tolist(),
                    strict=True))


def unit(rows: list[list[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------- class geometry, unit


def test_one_image_gives_null_geometry_not_invented_separation() -> None:
    """The probe's [1, 0, 0, 0, 0, 0, 0, 1]: prototype cosine 0 read as 'classes far apart' and accuracy 0 as
    'inseparable', from one image. Now the values of indistinguishable classes, and each one named."""
    assert undefined_geometry(np.array([0])) == tuple(s for s in GEOMETRY_STATS if s != "mean_norm")
    g = geometry(unit([[1, 2, 3]]), [0], n_classes=2)
    assert g["proto_cos_mean"] == g["proto_cos_max"] == pytest.approx(1.0) and g["proto_cos_std"] == 0.0
    assert g["ncm_accuracy"] == pytest.approx(0.5)  # chance among the task's 2 classes
    assert g["between_frac"] == 0.0 and g["eff_rank_frac"] == 0.0 and g["mean_norm"] == pytest.approx(1.0)


def test_one_class_in_the_probe() -> None:
    emb = unit([[1, 0, 0], [1, 1, 0], [1, 0, 1]])
    assert undefined_geometry(np.array([4, 4, 4])) == ("proto_cos_mean", "proto_cos_max", "proto_cos_std",
                                                      "ncm_accuracy", "between_frac")
    g = geometry(emb, [4, 4, 4], n_classes=5)
    assert g["ncm_accuracy"] == pytest.approx(0.2) and g["proto_cos_mean"] == pytest.approx(1.0)
    assert 0 < g["intra_cos"] < 1 and 0 < g["eff_rank_frac"] <= 1  # measured: three images of one class


def test_one_image_per_class() -> None:
    """A 1-shot probe: prototypes are measured (they are the images); nothing within a class is."""
    emb = unit([[1, 0], [0, 1], [1, 1]])
    assert undefined_geometry(np.array([0, 1, 2])) == WITHIN
    g = geometry(emb, [0, 1, 2])
    assert g["ncm_accuracy"] == pytest.approx(1 / 3) and g["between_frac"] == 0.0
    mean_dir = emb.mean(0) / np.linalg.norm(emb.mean(0))
    assert g["intra_cos"] == pytest.approx(float(np.mean(emb @ mean_dir)), abs=1e-6)  # the task as one class
    pairwise = [float(emb[i] @ emb[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert g["proto_cos_mean"] == pytest.approx(np.mean(pairwise), abs=1e-6)


def test_single_image_classes_do_not_inflate_within_class_statistics() -> None:
    """A class of one image is its own prototype: cosine 1 and all its spread 'between classes'. With some
    classes of two images, those are measured on them alone."""
    two_per_class = unit([[1, 0.2, 0], [1, -0.2, 0], [0, 1, 0.2], [0, 1, -0.2]])
    lone = unit([[0.3, 0.3, 1]])
    mixed = geometry(np.vstack([two_per_class, lone]), [0, 0, 1, 1, 2])
    alone = geometry(two_per_class, [0, 0, 1, 1])
    assert undefined_geometry(np.array([0, 0, 1, 1, 2])) == ()
    assert mixed["intra_cos"] == pytest.approx(alone["intra_cos"], abs=1e-6)
    assert mixed["between_frac"] == pytest.approx(alone["between_frac"], abs=1e-6)
    assert mixed["ncm_accuracy"] == 1.0
    # one two-image class next to a lone one: accuracy is measured, the between-class fraction is not
    assert undefined_geometry(np.array([0, 0, 1])) == ("between_frac",)


# ------------------------------------------------------------------------------------ descriptors and the CLI


def test_embed_task_max_images_1_warns_and_stores_null_geometry(tmp_path: Path, make_folder, fake_proxy,
                                                                run_cli) -> None:
    folder = make_folder(tmp_path / "two", TWO, per_class=3)
    fake_proxy()
    out = tmp_path / "d.npz"
    with pytest.warns(FennecInputWarning) as caught:
        code, stdout, err = run_cli("embed-task", folder, "--max-images", "1", "--out", out)
    assert code == 0 and err == ""
    (msg,) = [str(w.message) for w in caught if "cannot measure" in str(w.message)]
    assert "1 image(s) from 1 of 2 classes" in msg and "proto_cos_mean" in msg and "ncm_accuracy" in msg
    assert "(--max-images) from 1 to 4 for two images per class" in msg and "\n" not in msg
    assert "probe 1 images" in stdout
    d = load_descriptor(out)
    g = dict(zip(GEOMETRY_STATS, d.block("image.geometry").tolist(), strict=True))
    assert g["proto_cos_mean"] == pytest.approx(1.0) and g["ncm_accuracy"] == pytest.approx(0.5)
    assert d.info["geometry_undefined"] == list(undefined_geometry(np.array([0])))


def test_enough_images_per_class_no_warning_and_cached_calls_warn_again(tmp_path: Path, make_folder,
                                                                         fake_proxy) -> None:
    import warnings

    fake_proxy()
    task = read_task(make_folder(tmp_path / "two", TWO, per_class=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = describe_task(task, max_images=4)  # two images per class
    assert d.info["geometry_undefined"] == [] and d.info["n_probe_classes"] == 2
    with pytest.warns(FennecInputWarning, match=r"cannot measure intra_cos, ncm_accuracy, between_frac"):
        describe_task(task, max_images=2)
    with pytest.warns(FennecInputWarning, match="cannot measure"):  # the cached values are no better
        assert describe_task(task, max_images=2).info["cached"]


def test_a_task_of_single_image_classes_says_more_images_are_needed(tmp_path: Path, make_folder,
                                                                    fake_proxy) -> None:
    fake_proxy()
    task = read_task(make_folder(tmp_path / "oneshot", TWO, per_class=1))
    with pytest.warns(FennecInputWarning, match="too few images per class to measure them; add images"):
        describe_task(task)
    # a probe of one image leaves out a class the task has: more images help the prototypes, not the rest
    with pytest.warns(FennecInputWarning, match=r"from 1 to 2 \(intra_cos, ncm_accuracy, between_frac need more"):
        describe_task(task, max_images=1)


@pytest.mark.parametrize("option", ["--proxy", "--text-encoder"])
@pytest.mark.parametrize("value", ["", "  "])
def test_empty_encoder_id_is_an_error_not_the_default(option: str, value: str, run_cli) -> None:
    code, out, err = run_cli("embed-task", "cat,dog", option, value)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert f"{option}: empty encoder id; leave it out for the default" in err


def test_empty_ids_in_the_library_and_none_still_the_default() -> None:
    for call in (lambda: resolve_proxy_id(""), lambda: resolve_text_encoder_id(" "), lambda: create_text_encoder(""),
                 lambda: describe_task(task_from_class_names("t", ["a", "b"]), text_encoder="")):
        with pytest.raises(FennecInputError, match="empty encoder id"):
            call()
    assert resolve_proxy_id(None) == DEFAULT_PROXY and resolve_text_encoder_id(None) == DEFAULT_TEXT_ENCODER
    assert create_text_encoder(None).name == DEFAULT_TEXT_ENCODER


@pytest.mark.parametrize("argv, expected, not_expected", [
    # the example fits the option: a text encoder for --text-encoder
    (["--text-encoder", "nope"], "--text-encoder: expected a 'source:id' such as 'sentence:all-MiniLM-L6-v2', "
                                 "got 'nope'", "timm:"),
    (["--proxy", "nope"], "--proxy: expected a 'source:id' such as 'timm:tf_efficientnet_lite0', got 'nope'",
     "did you mean"),
    # a bare timm name gets its source as a hint, with or without a weights file
    (["--proxy", "resnet18"], "got 'resnet18'; did you mean 'timm:resnet18'?", None),
    (["--proxy", "resnet18.a1_in1k:/w/r.pth"], "did you mean 'timm:resnet18.a1_in1k:/w/r.pth'?", None),
    (["--text-encoder", "resnet18"], "'resnet18' is a timm image model, not a text encoder (text encoders: ", None),
    (["--text-encoder", "sentence:mpnet"], "--text-encoder: unknown encoder 'sentence:mpnet'", "timm:"),
    (["--text-encoder", "lite0"], "--text-encoder: 'timm:tf_efficientnet_lite0' has no text tower", None),
])
def test_encoder_id_messages(argv: list[str], expected: str, not_expected: str | None, run_cli) -> None:
    code, _, err = run_cli("embed-task", "cat,dog", *argv)
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert not_expected is None or not_expected not in err


def test_offline_encoders_answer_to_their_ids_without_the_source() -> None:
    """``lite0`` is an alias of the offline proxy, so its full name without ``timm:`` is one too, as
    ``all-MiniLM-L6-v2`` is for the offline text encoder; both resolve to the one id (one cache key)."""
    assert check_encoder_id("tf_efficientnet_lite0", "image") == check_encoder_id("lite0", "image") == DEFAULT_PROXY
    assert check_encoder_id("TF_EfficientNet_Lite2", "image") == "timm:tf_efficientnet_lite2"
    assert check_encoder_id("all-MiniLM-L6-v2", "text") == check_encoder_id("minilm", "text") == DEFAULT_TEXT_ENCODER


def test_features_and_text_only_tasks_name_no_proxy(tmp_path: Path, run_cli) -> None:
    np.savez(tmp_path / "f.npz", features=np.random.default_rng(0).normal(size=(8, 4)), labels=np.repeat([0, 1], 4))
    code, out, _ = run_cli("embed-task", tmp_path / "f.npz")
    assert code == 0 and "no proxy run (a features task has no images)" in out and "proxy timm" not in out
    assert "no text encoder run (no class names or description)" in out and "probe" not in out
    code, out, _ = run_cli("embed-task", tmp_path / "f.npz", "--classes", "cat,dog")
    assert code == 0 and f"text {DEFAULT_TEXT_ENCODER}" in out and "proxy timm" not in out
    code, out, _ = run_cli("embed-task", "cat,dog", "--proxy", "tf_efficientnet_lite0")
    assert code == 0 and "no proxy run (a text-only task has no images)" in out
