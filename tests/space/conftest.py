"""The planted world of :mod:`fennec.space.planted` as a session fixture."""

from __future__ import annotations

import pytest

from fennec.space.planted import World, make_world


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()
