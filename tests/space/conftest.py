"""The planted world of :mod:`fennec.space.planted` and a space fitted to it as session fixtures, and the planted
arrays of the training-loop tests (:mod:`tests.space.planted_arrays`) as a module fixture."""

from __future__ import annotations

import pytest

from fennec.space import TransferSpace
from fennec.space.planted import World, make_world
from tests.space.planted_arrays import planted


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()


FAST = {"epochs": 150, "val_fraction": 0.0, "n_members": 2}  # a quick fit of the planted world


@pytest.fixture(scope="session")
def fitted(world: World) -> TransferSpace:
    """A space fitted to the planted world with :data:`FAST`; tests that change it work on a copy."""
    records, models, tasks = world
    return TransferSpace(**FAST).fit(records, models, tasks)


@pytest.fixture(scope="module")
def data() -> tuple:
    """(inputs, batch, noise-free results) of :func:`tests.space.planted_arrays.planted`."""
    return planted()
