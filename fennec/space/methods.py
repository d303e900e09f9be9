"""The transfer space and the authors' recipe as ranking methods of the evaluation harness.

Registers ``fennec`` (the learned space, :class:`TransferSpace`) and ``fennec-nmf`` (:class:`NMFRecipe`) in
:data:`fennec.evaluation.methods.METHODS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fennec.evaluation.methods import METHODS, FitContext, Method
from fennec.space.nmf import NMFRecipe
from fennec.space.space import TransferSpace
from fennec.space.training_records import records_hash

# lodo on several benchmarks hides the same dataset, so the same training set recurs: fit it once per process.
_FITTED: dict[tuple[str, str, str, str], TransferSpace] = {}


def cards_key(tasks: Mapping[str, Any]) -> str:
    """What of the task cards a fit depends on: their names and a hash of their image statistics (a card's text
    is fixed by its name within a store; its image statistics can be stored again)."""
    h = hashlib.sha256()
    for name in sorted(tasks):
        h.update(name.encode())
        for proxy, part in sorted((getattr(tasks[name], "image_parts", None) or {}).items()):
            h.update(proxy.encode())
            h.update(np.ascontiguousarray(part, dtype=np.float32).tobytes())
    return h.hexdigest()


@METHODS.register("fennec")
class SpaceMethod(Method):
    """The learned transfer space (trained on every visible record of every benchmark)."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def fit(self, train: Sequence[Any], context: FitContext) -> SpaceMethod:
        self.context_ = context
        space = TransferSpace(**{"seed": context.seed, **self.params})
        key = (records_hash(train), repr(sorted(space.get_params().items())), ",".join(sorted(context.models)),
               cards_key(context.tasks))
        if key not in _FITTED:
            _FITTED[key] = space.fit(train, context.models, context.tasks)
        self.space_ = _FITTED[key]
        return self

    def score(self, task: Any, models: Sequence[Any]) -> np.ndarray:
        known = set(self.space_.model_ids_)
        ids = [m.id for m in models]
        out = np.full(len(ids), np.nan)
        inside = [i for i, m in enumerate(ids) if m in known]
        if inside:
            out[inside] = self.space_.score(task, [ids[i] for i in inside],
                                            benchmark=self.context_.record_benchmark)
        outside = [i for i, m in enumerate(ids) if m not in known]
        if outside:
            vecs = self.space_.cold_start_vectors([models[i] for i in outside])
            out[outside] = vecs @ self.space_.task_vectors([task])[0]
        return out


@METHODS.register("fennec-nmf")
class NMFMethod(Method):
    """The authors' released recipe, re-implemented on fine-tuning records (see :mod:`fennec.space.nmf`)."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def fit(self, train: Sequence[Any], context: FitContext) -> NMFMethod:
        self.context_ = context
        mine = [r for r in train if r.benchmark == context.record_benchmark]
        self.recipe_ = NMFRecipe(**{"seed": context.seed, **self.params}).fit(mine, context.tasks)
        return self

    def score(self, task: Any, models: Sequence[Any]) -> np.ndarray:
        return self.recipe_.score(task, [m.id for m in models])
