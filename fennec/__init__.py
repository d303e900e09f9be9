"""fennec: rank pre-trained models for a new image task without a forward pass through the zoo.

The public API, verb-named (each is also in the sub-package that holds it)::

    import fennec

    space = fennec.load_space()                                  # the shipped transfer space
    task = fennec.read_task("data/pets")                        # image folder, manifest, .npz or "a,b,c"
    fennec.recommend(space, task, top_k=5)["ranking"]           # {"rank", "model", "score", ...} per model
    fennec.rank_batch(space, [task, fennec.task_from_class_names("trees", ["oak", "elm"])])
    fennec.create_scorer("logme").score(features=X, labels=y)   # transferability estimators (list_scorers())
    fennec.evaluate("sfda_supervised", "prior", "lodo")          # the evaluation harness

Names are imported on first use, so ``import fennec`` (and the command line's start-up) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first access: torch and faiss are heavy)
_API = {
    "load_space": "fennec.space.store",
    "save_space": "fennec.space.store",
    "TransferSpace": "fennec.space.space",
    "recommend": "fennec.space.recommend",
    "rank_batch": "fennec.space.recommend",
    "read_task": "fennec.tasks",
    "task_from_class_names": "fennec.tasks",
    "describe_task": "fennec.tasks",
    "create_scorer": "fennec.scores",
    "list_scorers": "fennec.scores",
    "RecordStore": "fennec.records",
    "ingest_file": "fennec.records",
    "evaluate": "fennec.evaluation",
    "FennecInputError": "fennec.validation",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'fennec' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
