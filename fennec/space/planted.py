"""Small planted worlds for the transfer space, where the best model for a task is known by construction.

:func:`make_world`: six domains, one specialist model per domain. A specialist pre-trained on a domain reaches a
high fine-tuning result on that domain's task and an average one elsewhere; a generic model is decent everywhere.
Holding one domain's task out, a space that learned the source affinity must put that domain's specialist first
without having seen a single record of the task. The tests and ``bench/recommend.py`` train on it where no
shipped space should be used.

:func:`make_image_world`: tasks known only by their images (no class names, no description), in a few visual
regimes; each regime has a specialist model. Only the image statistics tell a held-out task's regime, so a space
must read them to put the right specialist first.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

import numpy as np

from fennec.records.cards import TaskCard
from fennec.records.record import ModelInfo, Record
from fennec.records.store import RecordStore
from fennec.tasks.descriptor import N_GEOMETRY

World = tuple[list[Record], dict[str, ModelInfo], dict[str, TaskCard]]

DOMAINS = {
    "birds": ("photos of bird species", ["sparrow", "eagle", "owl", "parrot", "robin", "heron"]),
    "dogs": ("photos of dog breeds", ["beagle", "poodle", "pug", "collie", "husky", "chihuahua"]),
    "cars": ("photos of car models", ["sedan", "pickup truck", "convertible", "hatchback", "minivan", "coupe"]),
    "flowers": ("photos of flower species", ["rose", "tulip", "daisy", "sunflower", "orchid", "lily"]),
    "food": ("photos of dishes", ["pizza", "sushi", "hamburger", "salad", "pancakes", "ramen"]),
    "aircraft": ("photos of airplanes", ["airliner", "fighter jet", "glider", "seaplane", "biplane", "airship"]),
}


def make_world(seed: int = 0, noise: float = 0.5) -> World:
    """Records (one benchmark, every model on every task), models by id and task cards by name."""
    rng = np.random.default_rng(seed)
    tasks = {d: TaskCard(name=d, n_classes=len(c), n_images=1000, class_names=tuple(c),
                         description=f"{desc.capitalize()}.") for d, (desc, c) in DOMAINS.items()}
    models = {f"test:{d}": ModelInfo(id=f"test:{d}", name=d, architecture="",
                                     pretraining=f"supervised pre-training on {desc}")
              for d, (desc, _) in DOMAINS.items()}
    models["test:generic"] = ModelInfo(id="test:generic", name="generic", architecture="",
                                       pretraining="supervised pre-training on everyday objects")
    records = planted_records({t: f"test:{t}" for t in tasks}, models, "test:generic", "planted", rng, noise)
    return records, models, tasks


def planted_records(best: Mapping[str, str], models: Iterable[str], generic: str, benchmark: str,
                    rng: np.random.Generator, noise: float = 0.5) -> list[Record]:
    """Every model on every task of ``best`` (task -> its specialist): 70, +15 for the task's specialist, +5 for
    the ``generic`` model, plus Gaussian noise of sd ``noise`` (drawn task by task, model by model)."""
    models = list(models)
    records = []
    for t, specialist in best.items():
        for m in models:
            value = 70.0 + (15.0 if m == specialist else 0.0) + (5.0 if m == generic else 0.0)
            records.append(Record(model=m, dataset=t, benchmark=benchmark, metric="finetune_top1_acc",
                                  value=float(value + noise * rng.standard_normal())))
    return records


IMAGE_PROXY = "test:planted-proxy"


def make_image_world(n_regimes: int = 3, tasks_per_regime: int = 4, dim: int = 16, seed: int = 0,
                     noise: float = 0.5) -> World:
    """Records, models and task cards of a world whose tasks are told apart by their images alone.

    Task cards have placeholder classes and no description; each carries an image part under
    :data:`IMAGE_PROXY` shaped like a descriptor's, ``[mean (dim), std (dim), geometry (8)]``: the mean of a
    task in regime r is the regime's direction plus task noise, re-normalised. Model ``test:regime{r}`` is the
    specialist of regime r (+15 there), ``test:generic`` is decent everywhere (+5). The models' pre-training
    texts differ (what a real zoo's would), but no task has text to match them with.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_regimes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    tasks: dict[str, TaskCard] = {}
    regime_of: dict[str, int] = {}
    for r in range(n_regimes):
        for j in range(tasks_per_regime):
            mean = centres[r] + 0.35 * rng.standard_normal(dim) / np.sqrt(dim)
            part = np.concatenate([mean / np.linalg.norm(mean), 0.1 + 0.02 * rng.random(dim),
                                   rng.random(N_GEOMETRY)]).astype(np.float32)
            name = f"look{r}_{j}"
            tasks[name] = TaskCard(name=name, n_classes=10, n_images=500, image_parts={IMAGE_PROXY: part})
            regime_of[name] = r
    looks = ("pencil sketches", "satellite images", "microscope slides", "x-ray scans", "infrared frames")
    models = {f"test:regime{r}": ModelInfo(id=f"test:regime{r}", name=f"regime{r}", architecture="",
                                           pretraining=f"supervised pre-training on {looks[r % len(looks)]}")
              for r in range(n_regimes)}
    models["test:generic"] = ModelInfo(id="test:generic", name="generic", architecture="",
                                       pretraining="supervised pre-training on everyday photos")
    best = {t: f"test:regime{r}" for t, r in regime_of.items()}
    return planted_records(best, models, "test:generic", "planted_images", rng, noise), models, tasks


def write_world_store(path: str | os.PathLike[str], world: World | None = None) -> None:
    """A records store at ``path`` holding ``world`` (task cards under their canonical names, as an ingest would
    store them, with their image statistics); an empty store without a world."""
    store = RecordStore(path, seed=False)
    try:
        if world is None:
            return
        records, models, tasks = world
        canon = {name: store.canonical_task(name) for name in tasks}
        for name, card in tasks.items():
            store.add_task(dataclasses.replace(card, name=canon[name]))
            for proxy, part in card.image_parts.items():
                store.add_task_image(canon[name], proxy, part)
        for m in models.values():
            store.add_model(m)
        with store.transaction():
            for r in records:
                store.insert_record(dataclasses.replace(r, dataset=canon[r.dataset]))
    finally:
        store.close()
