"""Task descriptors: one fixed-size vector per task, from a probe set of its images and its class names.

Layout (``dt`` = text encoder width, 384 for MiniLM; ``di`` = proxy width, 1280 for tf_efficientnet_lite*); the size
depends only on the two encoders, never on the task, and a missing part is zeros plus a flag in ``meta``:

==================  =====  ========================================================================================
block               size   content
==================  =====  ========================================================================================
text.names          dt     mean of the L2-normalized embeddings of ``"a photo of a {name}."`` over the classes,
                           re-normalized (the zero-shot classifier's mean, as in CLIP's prompt ensembling); over
                           :data:`MAX_NAMES` classes, over a sample of them fixed by the names alone
text.description    dt     embedding of the task description
image.mean          di     mean of the L2-normalized proxy embeddings of the probe images (its norm measures how
                           concentrated the task is in the proxy's space)
image.std           di     per-dimension standard deviation of those embeddings (spread)
image.geometry      8      class-prototype geometry (see :data:`GEOMETRY_STATS`); what the probe set cannot
                           measure (one class, one image per class) holds a null value and is warned about
meta                6      has_text_names, has_description, has_image, log(1+C), log(1+N), log(1+n_probe)
==================  =====  ========================================================================================

``parts`` holds ``text`` (names + description, 2*dt; None without usable class names), ``image``
(mean + std + geometry; None for text-only and feature tasks: precomputed features come from an unknown extractor
and are not in the proxy's space) and ``meta``. Descriptors are cached on disk (``$FENNEC_CACHE`` or
``~/.cache/fennec``/descriptors) under a key of the task fingerprint, the encoders and the probe settings; the
image part also on its own, under a key without the text encoder (:func:`describe_images`), so a reader that
needs only what the proxy saw (``recommend`` on a space that reads image statistics) shares the proxy pass with
:func:`describe_task` and never runs the text encoder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fennec.encoders.base import resolve_proxy_id
from fennec.io import load_npz, write_npz
from fennec.tasks.cache import cache_dir, cache_key, writing_cache
from fennec.tasks.images import load_image
from fennec.tasks.proxies import shared_proxy
from fennec.tasks.sampler import DEFAULT_PROBE_SIZE, ProbeSet, default_split, sample_probe_set
from fennec.tasks.task import Task, clean_class_name

# v2: class geometry from classes of two or more probe images, and null values for what a probe cannot measure
VERSION = "fennec-descriptor-v2"
PROMPT = "a photo of a {name}."
# The names part is the mean of the class names' embeddings; past this many names it is the mean of a sample, whose
# error is already small next to the spread between tasks, so a 20k-class list costs seconds instead of minutes.
MAX_NAMES = 1024
GEOMETRY_STATS = (
    "intra_cos",       # mean cosine of each image to its own class prototype (compactness; classes of 2+ images)
    "proto_cos_mean",  # mean pairwise cosine between normalized class prototypes (how alike classes look)
    "proto_cos_max",   # largest pairwise prototype cosine (the most confusable pair)
    "proto_cos_std",   # spread of the pairwise prototype cosines
    "ncm_accuracy",    # leave-one-out nearest-class-mean accuracy (separability under the proxy)
    "between_frac",    # trace(between-class scatter) / trace(total scatter), in [0, 1]
    "eff_rank_frac",   # effective rank (exp entropy of covariance spectrum) / min(n, di), in [0, 1]
    "mean_norm",       # norm of the mean embedding (global concentration), in [0, 1]
)
N_GEOMETRY = len(GEOMETRY_STATS)  # the statistics that close a descriptor's image part
META_FIELDS = ("has_text_names", "has_description", "has_image", "log1p_classes", "log1p_examples", "log1p_probe")


@dataclass
class TaskDescriptor:
    """A task descriptor.

    Attributes:
        vector: float32 of shape (2*dt + 2*di + 8 + 6,), see the module docstring.
        parts: ``{"text": (2*dt,) or None, "image": (2*di + 8,) or None, "meta": (6,)}``.
        layout: Block name -> (start, stop) into ``vector``.
        proxy: Image encoder id.
        text_encoder: Text encoder id.
        fingerprint: The task's fingerprint.
        info: Probe details: ``n_probe``, ``n_skipped``, ``skipped`` (first files), ``cached``; for an image task
            also ``n_probe_classes`` and ``geometry_undefined``, the geometry statistics the probe set could not
            measure (:func:`undefined_geometry`; they hold null values, see :func:`prototype_geometry`).
    """

    vector: np.ndarray
    parts: dict[str, np.ndarray | None]
    layout: dict[str, tuple[int, int]]
    proxy: str
    text_encoder: str
    fingerprint: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.vector.shape[0])

    def block(self, name: str) -> np.ndarray:
        """The slice of ``vector`` for a block name of :func:`descriptor_layout`."""
        a, b = self.layout[name]
        return self.vector[a:b]

    def save(self, path: str | Path) -> None:
        """Write the descriptor as ``.npz`` (atomically): vector, parts, layout and info as JSON."""
        _save(Path(path), self)


@dataclass(frozen=True)
class ProbeOutputs:
    """What one pass of a proxy made of a probe set's images, kept for another reader of the same images.

    :func:`describe_images` keeps the classifier's probabilities of its pass (``classify=True``), and
    :func:`fennec.tasks.visual.label_task_images` names the images from them instead of running the proxy a
    second time: its probe set (same seed, fewer images) is a subset of this one.

    Attributes:
        proxy: Id of the proxy that saw the images.
        rows: Task example index -> row of ``probs``, for every probe image that was read.
        failed: Task example index -> why it could not be read (the ImageLoadError message), for every probe
            image that was tried and skipped.
        probs: (n, L) float32 label probabilities of the read images under the proxy's classifier.
        label_names: (L,) readable names of the classifier's labels.
    """

    proxy: str
    rows: dict[int, int]
    failed: dict[int, str]
    probs: np.ndarray
    label_names: tuple[str, ...]


@dataclass(frozen=True)
class ImageStatistics:
    """The image part of a task's descriptor, alone (:func:`describe_images`).

    Attributes:
        part: float32 of shape (2*di + 8,): mean, std and geometry of the probe embeddings (the ``image`` part of
            :class:`TaskDescriptor`).
        proxy: Image encoder id.
        info: Probe details: ``n_probe``, ``n_skipped``, ``skipped`` (first files), ``cached``; for an image task
            also ``n_probe_classes`` and ``geometry_undefined``, the geometry statistics the probe set could not
            measure (:func:`undefined_geometry`; they hold null values, see :func:`prototype_geometry`).
        outputs: The classifier's view of the same pass when asked for and the proxy has one (None otherwise,
            and when the part came from the cache: no pass ran).
    """

    part: np.ndarray
    proxy: str
    info: dict[str, Any]
    outputs: ProbeOutputs | None = None


def descriptor_layout(text_dim: int, image_dim: int) -> dict[str, tuple[int, int]]:
    """Block name -> (start, stop) for the given encoder widths."""
    sizes = [("text.names", text_dim), ("text.description", text_dim), ("image.mean", image_dim),
             ("image.std", image_dim), ("image.geometry", N_GEOMETRY), ("meta", len(META_FIELDS))]
    out, start = {}, 0
    for name, size in sizes:
        out[name] = (start, start + size)
        start += size
    return out


def undefined_geometry(labels: np.ndarray) -> tuple[str, ...]:
    """The :data:`GEOMETRY_STATS` a probe set with these labels cannot estimate (in :data:`GEOMETRY_STATS` order).

    Class geometry is measured between classes and within them: prototype cosines need two classes in the
    probe; the intra-class cosine needs a class with two images (one image is trivially its own prototype); the
    nearest-class-mean accuracy needs two classes, one of them with two images (the image left out must leave a
    prototype behind); the between-class fraction needs two such classes; the effective rank needs two images.
    ``mean_norm`` is always defined.

    Args:
        labels: int array of shape (n,), the probe images' classes.
    """
    counts = np.unique(np.asarray(labels).reshape(-1), return_counts=True)[1]
    n_classes, resolved = int(counts.size), int(np.sum(counts >= 2))
    missing: set[str] = set()
    if resolved == 0:
        missing.add("intra_cos")
    if n_classes < 2:
        missing.update(("proto_cos_mean", "proto_cos_max", "proto_cos_std"))
    if n_classes < 2 or resolved == 0:
        missing.add("ncm_accuracy")
    if resolved < 2:
        missing.add("between_frac")
    if int(counts.sum()) < 2:
        missing.add("eff_rank_frac")
    return tuple(name for name in GEOMETRY_STATS if name in missing)


def prototype_geometry(emb: np.ndarray, labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Class-prototype geometry of L2-normalized embeddings (see :data:`GEOMETRY_STATS`).

    Within-class statistics (``intra_cos``, ``ncm_accuracy``, ``between_frac``) are measured on the images of
    classes with at least two probe images: a class of one image is its own prototype, so it would add a cosine
    of exactly 1, a correct leave-one-out guess that was never tested, and all of its spread as between-class
    scatter. Its prototype still counts among the prototypes (cosines, nearest class mean).

    A statistic the probe cannot estimate (:func:`undefined_geometry`: a probe of one class, or of one image per
    class) takes the value it has when the classes cannot be told apart in the proxy's space, the null of no
    class structure, instead of an extreme that would read as evidence: ``intra_cos`` the cosine of the images
    to their common mean (the task as one class), the prototype cosines 1, 1 and 0 (coinciding prototypes),
    ``ncm_accuracy`` chance (1 / ``n_classes``), ``between_frac`` 0 and ``eff_rank_frac`` 0 (no spread). Callers
    report which ones they are (:func:`describe_task` warns and lists them in ``info["geometry_undefined"]``).

    Args:
        emb: float array of shape (n, d), rows L2-normalized.
        labels: int array of shape (n,).
        n_classes: The task's number of classes, for chance accuracy (default: the classes in ``labels``, at
            least 2).

    Returns:
        float32 array of shape (8,).
    """
    emb = np.asarray(emb, dtype=np.float64)
    _, y = np.unique(labels, return_inverse=True)
    y = y.reshape(-1)
    C = int(y.max()) + 1
    missing = set(undefined_geometry(y))
    counts = np.bincount(y, minlength=C).astype(np.float64)
    sums = np.zeros((C, emb.shape[1]))
    np.add.at(sums, y, emb)
    protos = sums / counts[:, None]
    pn = protos / np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-12)
    resolved = counts[y] > 1  # images of classes with two or more probe images
    mu = emb.mean(axis=0)
    if "intra_cos" in missing:
        intra = float(np.mean(emb @ (mu / max(float(np.linalg.norm(mu)), 1e-12))))
    else:
        intra = float(np.mean(np.sum(emb[resolved] * pn[y[resolved]], axis=1)))
    if "proto_cos_mean" in missing:
        pc_mean, pc_max, pc_std = 1.0, 1.0, 0.0
    else:
        pc = (pn @ pn.T)[np.triu_indices(C, k=1)]
        pc_mean, pc_max, pc_std = float(pc.mean()), float(pc.max()), float(pc.std())
    if "ncm_accuracy" in missing:
        ncm = 1.0 / max(int(n_classes) if n_classes is not None else C, 2)
    else:
        # Leave-one-out nearest class mean: each image is removed from its own prototype.
        own = counts[y]
        own_proto = (sums[y] - emb) / np.maximum(own - 1, 1)[:, None]
        own_proto /= np.maximum(np.linalg.norm(own_proto, axis=1, keepdims=True), 1e-12)
        sims_n = emb @ pn.T
        sims_n[np.arange(len(y)), y] = np.sum(emb * own_proto, axis=1)
        ncm = float(np.mean(np.argmax(sims_n[resolved], axis=1) == y[resolved]))
    if "between_frac" in missing:
        between_frac = 0.0
    else:
        kept = np.flatnonzero(counts > 1)
        sub = emb[resolved]
        sub_mu = sub.mean(axis=0)
        total = float(np.sum((sub - sub_mu) ** 2))
        between = float(np.sum(counts[kept, None] * (protos[kept] - sub_mu) ** 2))
        between_frac = between / total if total > 1e-12 else 0.0
    centered = emb - mu
    # Spectrum through the Gram matrix when n < d (cheaper, same non-zero eigenvalues).
    gram = centered @ centered.T if emb.shape[0] <= emb.shape[1] else centered.T @ centered
    ev = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    if ev.sum() > 1e-12:
        p = ev / ev.sum()
        p = p[p > 0]
        eff_rank = float(np.exp(-(p * np.log(p)).sum()))
        eff_frac = eff_rank / max(1, min(emb.shape[0], emb.shape[1]))
    else:
        eff_frac = 0.0
    return np.asarray([intra, pc_mean, pc_max, pc_std, ncm, between_frac, eff_frac, float(np.linalg.norm(mu))],
                      dtype=np.float32)


def image_part(emb: np.ndarray, labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """``[mean (d), std (d), geometry (8)]`` of L2-normalized embeddings (n, d) with labels (n,); ``n_classes``
    as :func:`prototype_geometry` takes it."""
    emb = np.asarray(emb, dtype=np.float32)
    geometry = prototype_geometry(emb, labels, n_classes)
    return np.concatenate([emb.mean(axis=0), emb.std(axis=0), geometry]).astype(np.float32)


def _names_sample(names: Sequence[str]) -> list[str]:
    """All of ``names`` up to :data:`MAX_NAMES`; past it, the ``MAX_NAMES`` names whose SHA-256 digests are
    smallest: a sample that depends on the set of names alone, not on their order or on a random state."""
    names, limit = list(names), MAX_NAMES
    if len(names) <= limit:
        return names
    return sorted(names, key=lambda n: hashlib.sha256(str(n).encode("utf-8")).digest())[:limit]


def text_part(task: Task, text_encoder: Any) -> np.ndarray | None:
    """``[names (dt), description (dt)]`` or None when the classes carry no names and there is no description."""
    dt = int(text_encoder.dim)
    has_names = task.named_classes
    has_desc = bool(task.description and task.description.strip())
    if not has_names and not has_desc:
        return None
    names_vec = np.zeros(dt, np.float32)
    desc_vec = np.zeros(dt, np.float32)
    names = _names_sample(task.class_names) if has_names else []
    texts = [PROMPT.format(name=clean_class_name(n)) for n in names]
    if has_desc:
        texts.append(str(task.description).strip())
    emb = text_encoder.encode(texts)
    if has_names:
        m = emb[: len(names)].mean(axis=0)
        names_vec = (m / max(float(np.linalg.norm(m)), 1e-12)).astype(np.float32)
    if has_desc:
        desc_vec = emb[-1].astype(np.float32)
    return np.concatenate([names_vec, desc_vec])


def _save(path: Path, d: TaskDescriptor) -> None:
    arrays = {"vector": d.vector, "meta": d.parts["meta"]}
    for k in ("text", "image"):
        part = d.parts.get(k)
        arrays[k] = part if part is not None else np.zeros(0, np.float32)
    header = {"layout": d.layout, "proxy": d.proxy, "text_encoder": d.text_encoder, "fingerprint": d.fingerprint,
              "has_text": d.parts.get("text") is not None, "has_image": d.parts.get("image") is not None,
              "info": d.info, "version": VERSION, "geometry_stats": list(GEOMETRY_STATS),
              "meta_fields": list(META_FIELDS)}
    arrays["header"] = np.asarray(json.dumps(header, default=str))
    write_npz(path, **arrays)


def load_descriptor(path: str | Path) -> TaskDescriptor:
    """Read a descriptor written by :meth:`TaskDescriptor.save`."""
    z = load_npz(path)  # a damaged file raises NpzError, a ValueError
    header = json.loads(str(z["header"]))
    parts: dict[str, np.ndarray | None] = {
        "text": z["text"] if header["has_text"] else None,
        "image": z["image"] if header["has_image"] else None,
        "meta": z["meta"],
    }
    vector = z["vector"]
    layout = {k: (int(v[0]), int(v[1])) for k, v in header["layout"].items()}
    return TaskDescriptor(vector=vector, parts=parts, layout=layout, proxy=header["proxy"],
                          text_encoder=header["text_encoder"], fingerprint=header["fingerprint"],
                          info=header.get("info", {}))


@lru_cache(maxsize=4)
def _text_encoder(name: str | None) -> Any:
    # Reused across calls, like the proxy (shared_proxy): describing many tasks builds each text encoder once.
    from fennec.encoders import create_text_encoder

    return create_text_encoder(name)


def _encoders(proxy: str | None, text_encoder: str | None) -> tuple[Any, Any]:
    """The proxy (the process's one instance of it, :func:`fennec.tasks.proxies.shared_proxy`) and the text
    encoder of :func:`describe_task`."""
    proxy_id = resolve_proxy_id(proxy)
    img = shared_proxy(proxy_id)
    if text_encoder is None and proxy_id.startswith("open_clip:"):
        return img, img  # an open_clip proxy brings its own text tower, in the same embedding space
    return img, _text_encoder(text_encoder)


def describe_images(task: Task, proxy: str | None = None, *, max_images: int = DEFAULT_PROBE_SIZE, seed: int = 0,
                    use_cache: bool = True, cache: str | Path | None = None,
                    classify: bool = False) -> ImageStatistics:
    """The image part of :func:`describe_task`'s descriptor alone: the same probe set and proxy pass, and the
    same values, without the text part (the class names are not embedded).

    Args:
        task: A task with images (an image folder or a manifest).
        proxy: Image encoder id (default :data:`fennec.encoders.DEFAULT_PROXY`).
        max_images: Probe-set size (class-balanced, seeded).
        seed: Probe-set seed.
        use_cache: Read and write the on-disk cache (shared with :func:`describe_task`).
        cache: Cache directory (default ``$FENNEC_CACHE``/descriptors or ``~/.cache/fennec/descriptors``).
        classify: Also keep the proxy classifier's probabilities of the probe images from the same forward pass
            (:attr:`ImageStatistics.outputs`), for :func:`fennec.tasks.visual.label_task_images`; ignored by a
            proxy without a classifier over known labels.

    Raises:
        FennecInputError: the task has no images, or a sampled class has no readable image.

    Warns:
        FennecInputWarning: when the probe set cannot measure some class-geometry statistics (as
            :func:`describe_task`).
    """
    from fennec.validation import FennecInputError

    if task.kind != "images":
        raise FennecInputError(f"task {task.source or task.name}: has no images ({task.kind}); only an image folder "
                               "or a manifest has image statistics")
    stats = _describe_images(task, shared_proxy(proxy), max_images, seed, use_cache, cache, classify)
    _warn_undefined_geometry(task, stats.info, max_images)
    return stats


def _warn_undefined_geometry(task: Task, info: dict[str, Any], max_images: int) -> None:
    """One FennecInputWarning when the probe set could not measure some class-geometry statistics (their null
    values are in the vector, :func:`prototype_geometry`), with what would measure them. Warned on every call,
    from the cache too: the values are as uninformative the second time."""
    import warnings

    from fennec.validation import FennecInputWarning

    undefined = list(info.get("geometry_undefined") or [])
    if not undefined or task.labels is None:
        return
    pool = task.labels[task.indices(default_split(task))]
    beyond = undefined_geometry(pool)  # what even every image of the sampled split cannot measure
    if set(undefined) - set(beyond):
        # two images per class is what every statistic needs; the round-robin sampler gives that at 2 * C
        fix = f"raise max_images (--max-images) from {max_images} to {min(2 * task.n_classes, pool.size)}"
        fix += (f" ({', '.join(beyond)} need more images per class than the task has)" if beyond
                else " for two images per class")
    else:
        fix = "the task has too few images per class to measure them; add images"
    warnings.warn(f"task {task.source or task.name}: a probe set of {info.get('n_probe', 0)} image(s) from "
                  f"{info.get('n_probe_classes', 0)} of {task.n_classes} classes cannot measure "
                  f"{', '.join(undefined)} (they hold the values of indistinguishable classes); {fix}",
                  FennecInputWarning, stacklevel=3)


def _describe_images(task: Task, img_enc: Any, max_images: int, seed: int, use_cache: bool,
                     cache: str | Path | None, classify: bool = False,
                     probe: ProbeSet | None = None) -> ImageStatistics:
    """:func:`describe_images` with the encoder made (also the image part of :func:`describe_task`, which passes
    the probe set it drew for its own cache key: drawn and stat-ed once)."""
    probe = probe if probe is not None else sample_probe_set(task, max_images=max_images, seed=seed)
    key = cache_key(VERSION, "image", task.fingerprint, img_enc.name, (max_images, seed), probe.key())
    path = (Path(cache) if cache is not None else cache_dir("descriptors")) / f"{key}.npz"
    if use_cache and path.is_file():
        try:
            z = load_npz(path)
            header = json.loads(str(z["header"]))
            return ImageStatistics(part=z["image"], proxy=header["proxy"], info={**header["info"], "cached": True})
        except (OSError, ValueError, KeyError):  # NpzError is a ValueError
            pass  # a damaged cache entry is recomputed and overwritten
    assert task.paths is not None and task.labels is not None
    paths = task.paths
    failed: dict[int, str] = {}

    def load(i: int) -> Any:
        try:
            return load_image(paths[i], min_size=512)  # JPEG draft >= 2x 256 px
        except OSError as exc:
            failed[i] = str(exc)  # the labels' replay of this pass skips the same files (ProbeOutputs)
            raise

    loaded: list[int] = []
    names = _label_names(img_enc) if classify else None
    outputs = None
    if names:
        emb, probs = img_enc.embed_and_classify_images(probe.iter_loaded(load, loaded=loaded))
        outputs = ProbeOutputs(proxy=img_enc.name, rows={i: r for r, i in enumerate(loaded)}, failed=failed,
                               probs=probs, label_names=tuple(names))
    else:
        emb = img_enc.encode_images(probe.iter_loaded(load, loaded=loaded))
    labels = task.labels[np.asarray(loaded, dtype=np.int64)]
    part = image_part(emb, labels, task.n_classes)
    info: dict[str, Any] = {"n_probe": len(loaded), "n_skipped": probe.report.n_failed,
                            "skipped": [f"{p}: {r.split(': ', 1)[-1]}" for p, r in probe.report.failures[:20]],
                            "n_probe_classes": int(np.unique(labels).size),
                            "geometry_undefined": list(undefined_geometry(labels))}
    if use_cache:
        header = {"proxy": img_enc.name, "fingerprint": task.fingerprint, "info": info, "version": VERSION}
        with writing_cache(path):
            write_npz(path, image=part, header=np.asarray(json.dumps(header, default=str)))
    return ImageStatistics(part=part, proxy=img_enc.name, info={**info, "cached": False}, outputs=outputs)


def _label_names(img_enc: Any) -> list[str] | None:
    """The proxy classifier's label names when it can name images in the same pass as it embeds them, else None
    (a head fine-tuned on unknown labels, or an encoder without a classifier)."""
    if not hasattr(img_enc, "embed_and_classify_images"):
        return None
    return img_enc.label_names or None


def describe_task(task: Task, proxy: str | None = None, text_encoder: str | None = None, *,
                  max_images: int = DEFAULT_PROBE_SIZE, seed: int = 0, use_cache: bool = True,
                  cache: str | Path | None = None) -> TaskDescriptor:
    """Describe a task as a fixed-size vector (see the module docstring for the layout).

    Args:
        task: A task from :func:`~fennec.tasks.read_task` or :func:`~fennec.tasks.task_from_class_names`.
        proxy: Image encoder id (default :data:`fennec.encoders.DEFAULT_PROXY`); only loaded for image tasks.
        text_encoder: Text encoder id (default: the open_clip proxy's own text tower when ``proxy`` is
            ``open_clip:*``, else :data:`fennec.encoders.DEFAULT_TEXT_ENCODER`, the offline MiniLM).
        max_images: Probe-set size (class-balanced, seeded).
        seed: Probe-set seed.
        use_cache: Read and write the on-disk cache.
        cache: Cache directory (default ``$FENNEC_CACHE``/descriptors or ``~/.cache/fennec/descriptors``).

    Returns:
        The :class:`TaskDescriptor`; ``vector`` has the same size for every task given the same two encoders.

    Warns:
        FennecInputWarning: when the probe set cannot measure some class-geometry statistics (``max_images``
            below two images per class or a task with single-image classes; ``info["geometry_undefined"]``).
            The probe set is never enlarged past ``max_images``: it is the cost the caller chose.
    """
    img_enc, txt_enc = _encoders(proxy, text_encoder)
    layout = descriptor_layout(int(txt_enc.dim), int(img_enc.dim))
    has_images = task.kind == "images"
    probe = sample_probe_set(task, max_images=max_images, seed=seed) if has_images else None
    key = cache_key(VERSION, task.fingerprint, img_enc.name, txt_enc.name, PROMPT,
                    (max_images, seed, probe.key()) if probe is not None else None)
    path = Path(cache) if cache is not None else cache_dir("descriptors")
    path = path / f"{key}.npz"
    if use_cache and path.is_file():
        try:
            d = load_descriptor(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed and overwritten
        else:
            d.info["cached"] = True
            _warn_undefined_geometry(task, d.info, max_images)
            return d

    text = text_part(task, txt_enc)
    image = None
    info: dict[str, Any] = {"n_probe": 0, "n_skipped": 0, "skipped": [], "cached": False}
    if has_images:
        stats = _describe_images(task, img_enc, max_images, seed, use_cache, cache, probe=probe)
        image = stats.part
        info.update({**stats.info, "cached": False})  # the descriptor was assembled here, whatever its image part
    dt = layout["text.names"][1] - layout["text.names"][0]
    has_names = text is not None and bool(np.any(text[:dt]))
    has_desc = text is not None and bool(np.any(text[dt:]))
    meta = np.asarray([float(has_names), float(has_desc), float(image is not None), np.log1p(task.n_classes),
                       np.log1p(task.n_examples), np.log1p(info["n_probe"])], dtype=np.float32)
    vector = np.zeros(layout["meta"][1], dtype=np.float32)
    if text is not None:
        vector[layout["text.names"][0]:layout["text.description"][1]] = text
    if image is not None:
        vector[layout["image.mean"][0]:layout["image.geometry"][1]] = image
    vector[layout["meta"][0]:layout["meta"][1]] = meta
    d = TaskDescriptor(vector=vector, parts={"text": text, "image": image, "meta": meta}, layout=layout,
                       proxy=img_enc.name, text_encoder=txt_enc.name, fingerprint=task.fingerprint, info=info)
    if use_cache:
        with writing_cache(path):
            _save(path, d)
    _warn_undefined_geometry(task, info, max_images)
    return d
