"""Robust image loading: every mode becomes 8-bit RGB, EXIF rotation is applied, bad files are reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fennec.tasks.images import ImageLoadError, LoadReport, iter_images, load_image, load_images, to_rgb
from fennec.validation import FennecInputWarning


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_rgb_grayscale_and_bilevel(tmp_path: Path) -> None:
    rgb = _save(Image.new("RGB", (8, 6), (10, 20, 30)), tmp_path / "rgb.png")
    gray = _save(Image.new("L", (8, 6), 77), tmp_path / "gray.png")
    bw = _save(Image.new("1", (8, 6), 1), tmp_path / "bw.bmp")
    for p, px in ((rgb, (10, 20, 30)), (gray, (77, 77, 77)), (bw, (255, 255, 255))):
        img = load_image(p)
        assert img.mode == "RGB" and img.size == (8, 6)
        assert img.getpixel((3, 3)) == px


def test_16_bit_grayscale_is_rescaled(tmp_path: Path) -> None:
    arr = np.full((6, 8), 65535, dtype=np.uint16)
    arr[:, :4] = 257 * 100  # -> 100 in 8 bits
    img16 = Image.fromarray(arr)
    assert img16.mode.startswith("I")
    p = _save(img16, tmp_path / "deep.png")
    with Image.open(p) as raw:
        assert raw.mode in ("I", "I;16", "I;16B")  # really a 16-bit file on disk
    out = load_image(p)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (100, 100, 100)
    assert out.getpixel((7, 0)) == (255, 255, 255)


def test_float_image_in_unit_range() -> None:
    img = Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32), mode="F")
    assert to_rgb(img).getpixel((1, 1)) == (128, 128, 128)


def test_rgba_and_palette_transparency_composite_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.putpixel((1, 1), (0, 0, 255, 255))
    p = _save(rgba, tmp_path / "alpha.png")
    out = load_image(p)
    assert out.getpixel((5, 5)) == (255, 255, 255)  # transparent -> white, not black or red
    assert out.getpixel((1, 1)) == (0, 0, 255)
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    pal.putpixel((2, 2), 1)
    pal.info["transparency"] = 0
    p2 = _save(pal, tmp_path / "pal.png", transparency=0)
    out2 = load_image(p2)
    assert out2.getpixel((2, 2)) == (0, 200, 0)
    assert out2.getpixel((6, 6)) == (255, 255, 255)


def test_palette_without_transparency_and_gif(tmp_path: Path) -> None:
    img = Image.new("RGB", (10, 10), (200, 100, 0)).convert("P", palette=Image.Palette.ADAPTIVE)
    p = _save(img, tmp_path / "pal.gif")
    out = load_image(p)
    assert out.mode == "RGB"
    assert np.allclose(out.getpixel((5, 5)), (200, 100, 0), atol=8)


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 10, 10))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=95)
    out = load_image(p)
    assert out.size == (10, 20)  # upright: portrait
    top = np.asarray(out)[2, 5]
    assert top[0] > 200 and top[1] < 60  # the red half is now on top


def test_cmyk_jpeg(tmp_path: Path) -> None:
    p = _save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    out = load_image(p)
    assert out.mode == "RGB"
    r, g, b = out.getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60


def test_corrupt_and_missing_files_raise_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(ImageLoadError) as exc:
        load_image(bad)
    assert "bad.jpg" in str(exc.value) and "\n" not in str(exc.value)
    truncated = tmp_path / "trunc.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(ImageLoadError):
        load_image(truncated)
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.png")


def test_batch_loading_skips_counts_and_warns(tmp_path: Path) -> None:
    good = [_save(Image.new("RGB", (4, 4), (i, i, i)), tmp_path / f"{i}.png") for i in range(3)]
    bad = tmp_path / "x.png"
    bad.write_text("garbage")
    with pytest.warns(FennecInputWarning, match="skipped 1 unreadable"):
        images, kept, report = load_images([good[0], bad, good[1], good[2]])
    assert len(images) == 3 and kept.tolist() == [0, 2, 3]
    assert report.n_ok == 3 and report.n_failed == 1 and report.failures[0][0] == str(bad)
    rep = LoadReport()
    assert [i for i, _ in iter_images([bad, good[0]], rep)] == [1]
    assert rep.n_failed == 1


def test_skimage_photos_load(tmp_path: Path) -> None:
    data = pytest.importorskip("skimage.data")
    Image.fromarray(data.camera()).save(tmp_path / "camera.png")  # grayscale photo
    Image.fromarray(data.chelsea()).save(tmp_path / "chelsea.jpg")
    for name in ("camera.png", "chelsea.jpg"):
        img = load_image(tmp_path / name, min_size=64)
        assert img.mode == "RGB" and min(img.size) >= 64


def test_a_very_large_image_is_warned_about_with_its_path(tmp_path, monkeypatch) -> None:
    """PIL's decompression-bomb warning names no file (a probe's 10000 x 10000 PNG in a folder)."""
    import warnings

    from PIL import Image

    from fennec.tasks.images import load_image
    from fennec.validation import FennecInputWarning

    path = tmp_path / "big.png"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1200 pixels: over PIL's limit, under twice it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = load_image(path)
    assert img.size == (40, 30)
    assert [str(w.message)[: len(f"image {path}: ")] for w in caught] == [f"image {path}: "]
    assert caught[0].category is FennecInputWarning
