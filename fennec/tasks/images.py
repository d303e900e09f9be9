"""Robust image loading: every file comes out as an 8-bit RGB PIL image, or is skipped and reported.

Handled: RGB, grayscale (``L``, ``1``), 16-bit and 32-bit grayscale (``I;16*``, ``I``, ``F``; rescaled to 8 bits),
alpha (``RGBA``, ``LA``, ``PA``, palette with transparency; composited on white so that transparent backgrounds do
not turn black), palette, CMYK/YCbCr/LAB, multi-frame files (first frame), and EXIF orientation (applied, so a photo
taken sideways is upright). A file that cannot be decoded raises :class:`ImageLoadError`; the batch helpers skip it,
count it and report it (a warning listing the files), never silently.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fennec.validation import FennecInputError, FennecInputWarning

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm",
                  ".jfif", ".ico")


class TaskImageError(FennecInputError):
    """The task's images cannot be used (a class without one readable image, an unreadable image a fine-tuning
    needs, more than fit in memory): bad input for every model of a run, not a failure of one."""


class ImageLoadError(OSError):
    """A file that is not a decodable image (the message is one line with the reason)."""


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an image suffix (case-insensitive) and is not hidden."""
    name = os.path.basename(str(path))
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _high_bit_depth_to_l(img: Image.Image) -> Image.Image:
    arr = np.asarray(img)
    if img.mode == "F":
        arr = arr.astype(np.float64)
        finite = arr[np.isfinite(arr)]
        hi = float(finite.max()) if finite.size else 1.0
        # Float images are usually in [0, 1]; otherwise treat them as 8-bit values.
        arr = arr * 255.0 if hi <= 1.0 else arr
    else:
        arr = arr.astype(np.float64)
        # 16-bit data (I;16 always; 'I' when values exceed 8 bits) maps 0..65535 onto 0..255.
        if img.mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = arr / 257.0
    arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")


def to_rgb(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any PIL image mode to 8-bit RGB (alpha composited on ``background``)."""
    if img.mode == "RGB":
        return img
    if img.mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _high_bit_depth_to_l(img)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def load_image(path: str | os.PathLike[str], *, min_size: int | None = None) -> Image.Image:
    """Load an image file as an upright 8-bit RGB PIL image.

    Args:
        path: Image file.
        min_size: If given, JPEG decoding may downscale (DCT scaling) as long as both sides stay >= ``min_size``;
            a large speed-up for big photos that are resized anyway.

    Raises:
        ImageLoadError: the file is missing or not a decodable image.
    """
    try:
        im = _open_naming_big_images(path)
        with im:
            if min_size and im.format == "JPEG":
                im.draft("RGB", (min_size, min_size))
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            im.load()
            img = ImageOps.exif_transpose(im)
            if img is None:  # pragma: no cover - exif_transpose returns None only with in_place=True
                img = im
            return to_rgb(img).copy()
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(f"{path}: {reason}") from None


def _open_naming_big_images(path: str | os.PathLike[str]) -> Image.Image:
    """``Image.open``, with PIL's warning on a very large image (a decompression bomb?) said with the file's path:
    PIL's own names no file, so in a folder of thousands nobody could tell which one it meant."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombWarning as exc:
            big = exc
    warnings.warn(f"image {path}: {big}", FennecInputWarning, stacklevel=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


@dataclass
class LoadReport:
    """Counts of loaded and skipped images; ``failures`` holds (path, reason)."""

    n_ok: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    def summary(self, limit: int = 3) -> str:
        """One line: how many were skipped and the first few files with reasons."""
        if not self.failures:
            return f"loaded {self.n_ok} image(s)"
        shown = "; ".join(f"{Path(p).name} ({r.split(': ', 1)[-1]})" for p, r in self.failures[:limit])
        more = f"; and {self.n_failed - limit} more" if self.n_failed > limit else ""
        return f"skipped {self.n_failed} unreadable image(s), loaded {self.n_ok}: {shown}{more}"

    def warn(self) -> None:
        """Emit a FennecInputWarning when anything was skipped."""
        if self.failures:
            warnings.warn(self.summary(), FennecInputWarning, stacklevel=3)


def iter_images(paths: Iterable[str | os.PathLike[str]], report: LoadReport | None = None, *,
                min_size: int | None = None) -> Iterator[tuple[int, Image.Image]]:
    """Yield (position, RGB image) for every readable path; unreadable ones are recorded in ``report``."""
    report = report if report is not None else LoadReport()
    for i, p in enumerate(paths):
        try:
            img = load_image(p, min_size=min_size)
        except ImageLoadError as exc:
            report.failures.append((str(p), str(exc)))
            continue
        report.n_ok += 1
        yield i, img


def load_images(paths: Iterable[str | os.PathLike[str]], *, min_size: int | None = None,
                warn: bool = True) -> tuple[list[Image.Image], np.ndarray, LoadReport]:
    """Load many images at once.

    Returns:
        (images, positions of the loaded ones int64 of shape (n_ok,), report). A warning lists skipped files.
    """
    report = LoadReport()
    images, kept = [], []
    for i, img in iter_images(paths, report, min_size=min_size):
        images.append(img)
        kept.append(i)
    if warn:
        report.warn()
    return images, np.asarray(kept, dtype=np.int64), report
