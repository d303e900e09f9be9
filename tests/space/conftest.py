"""The planted world of :mod:`fennec.space.planted` as a session fixture, and the planted arrays of the
training-loop tests (:mod:`tests.space.planted_arrays`) as a module fixture."""

from __future__ import annotations

import pytest

from fennec.space.planted import World, make_world
from tests.space.planted_arrays import planted


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def data() -> tuple:
    """(inputs, batch, noise-free results) of :func:`tests.space.planted_arrays.planted`."""
    return planted()
