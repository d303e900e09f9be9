"""Toy scorer inputs shared by the scorer tests (imported as ``tests.scores.toy``; pytest collects no tests here)."""

from __future__ import annotations

import numpy as np

from fennec.scores import get_scorer_class


def toy_task(n_per: int = 10, n_classes: int = 3, d: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """``n_per`` examples of each of ``n_classes`` classes, features (N, d) shifted by class, matching source
    probabilities (N, 5) and gradients (N, d): every input any scorer requires."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per)
    features = rng.normal(size=(labels.shape[0], d)) + 3.0 * np.eye(n_classes, d)[labels]
    logits = rng.normal(size=(labels.shape[0], 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {"features": features, "labels": labels, "probs": probs, "grads": features * 0.5 + 1.0}


def scorer_inputs(name: str, task: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The keyword arguments of scorer ``name``'s ``score``: the labels and the inputs it requires."""
    return {"labels": task["labels"], **{k: task[k] for k in get_scorer_class(name).requires}}


def few_shot_task(n_classes: int = 120, n: int = 480, d: int = 32, separable: bool = True,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Many classes, few examples each (labels ``arange(n) % n_classes``): features are unit noise, plus, when
    ``separable``, a class mean drawn with scale 3 (classes then lie far apart: leave-one-out 1-NN is exact)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % n_classes
    features = rng.normal(size=(n, d))
    if separable:
        features += 3.0 * rng.normal(size=(n_classes, d))[labels]
    return {"features": features, "labels": labels}
