"""Transferability estimators: one :class:`Scorer` contract, a registry, thirteen published scores.

>>> from fennec.scores import create_scorer, list_scorers
>>> create_scorer("logme").score(features=feats, labels=labels)          # doctest: +SKIP

Each scorer declares what it needs in ``requires`` (a subset of {"features", "probs", "grads"}); a higher
score always means better expected transfer. Bad input raises :class:`fennec.validation.FennecInputError`;
well-formed input on which one scorer has no value raises its subclass :class:`ScoreUndefinedError`.
:func:`fennec.scores.gradients.per_example_grads` computes the per-example gradients LGC needs from a torch
model.
"""

from __future__ import annotations

from typing import Any

from fennec.scores import gbc, hscore, knn, leep, linearized, logme, parc, sfda, transrate  # noqa: F401  (register)
from fennec.scores.base import INPUTS, SCORERS, Scorer, ScoreUndefinedError


def list_scorers() -> list[str]:
    """Names of all registered scorers, sorted."""
    return SCORERS.names()


def get_scorer_class(name: str) -> type[Scorer]:
    """The class registered as ``name``.

    Raises:
        UnknownNameError: listing close matches, if ``name`` is not registered.
    """
    return SCORERS.get(name)


def create_scorer(name: str, **params: Any) -> Scorer:
    """Create the scorer registered as ``name`` with hyper-parameters ``params``.

    Raises:
        UnknownNameError: listing close matches, if ``name`` is not registered.
        FennecInputError: if a hyper-parameter name is not accepted by that scorer (with the close matches).
    """
    scorer: Scorer = SCORERS.create(name, **params)
    return scorer


__all__ = ["INPUTS", "SCORERS", "ScoreUndefinedError", "Scorer", "create_scorer", "get_scorer_class", "list_scorers"]
