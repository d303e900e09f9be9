"""A small planted world for the transfer space: six domains, one specialist model per domain.

A specialist pre-trained on a domain reaches a high fine-tuning result on that domain's task and an average one
elsewhere; a generic model is decent everywhere. Holding one domain's task out, a space that learned the source
affinity must put that domain's specialist first without having seen a single record of the task.
"""

from __future__ import annotations

import numpy as np
import pytest

from fennec.records.cards import TaskCard
from fennec.records.store import ModelInfo, Record

DOMAINS = {
    "birds": ("photos of bird species", ["sparrow", "eagle", "owl", "parrot", "robin", "heron"]),
    "dogs": ("photos of dog breeds", ["beagle", "poodle", "pug", "collie", "husky", "chihuahua"]),
    "cars": ("photos of car models", ["sedan", "pickup truck", "convertible", "hatchback", "minivan", "coupe"]),
    "flowers": ("photos of flower species", ["rose", "tulip", "daisy", "sunflower", "orchid", "lily"]),
    "food": ("photos of dishes", ["pizza", "sushi", "hamburger", "salad", "pancakes", "ramen"]),
    "aircraft": ("photos of airplanes", ["airliner", "fighter jet", "glider", "seaplane", "biplane", "airship"]),
}


def make_world(seed: int = 0, noise: float = 0.5) -> tuple[list[Record], dict[str, ModelInfo], dict[str, TaskCard]]:
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


@pytest.fixture(scope="session")
def world() -> tuple[list[Record], dict[str, ModelInfo], dict[str, TaskCard]]:
    return make_world()
