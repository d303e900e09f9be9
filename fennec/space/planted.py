"""A small planted world for the transfer space: six domains, one specialist model per domain.

A specialist pre-trained on a domain reaches a high fine-tuning result on that domain's task and an average one
elsewhere; a generic model is decent everywhere. Holding one domain's task out, a space that learned the source
affinity must put that domain's specialist first without having seen a single record of the task. The tests and
``bench/recommend.py`` train on it where no shipped space should be used.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from fennec.records.cards import TaskCard
from fennec.records.store import ModelInfo, Record, RecordStore

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
    records = []
    for t in tasks:
        for m in models:
            value = 70.0 + (15.0 if m == f"test:{t}" else 0.0) + (5.0 if m == "test:generic" else 0.0)
            records.append(Record(model=m, dataset=t, benchmark="planted", metric="finetune_top1_acc",
                                  value=float(value + noise * rng.standard_normal())))
    return records, models, tasks


def write_world_store(path: str | os.PathLike[str], world: World | None = None) -> None:
    """A records store at ``path`` holding ``world`` (task cards under their canonical names, as an ingest would
    store them); an empty store without a world."""
    store = RecordStore(path, seed=False)
    try:
        if world is None:
            return
        records, models, tasks = world
        canon = {name: store.canonical_task(name) for name in tasks}
        for name, card in tasks.items():
            store.add_task(dataclasses.replace(card, name=canon[name]))
        for m in models.values():
            store.add_model(m)
        with store.transaction():
            for r in records:
                store.insert_record(dataclasses.replace(r, dataset=canon[r.dataset]))
    finally:
        store.close()
