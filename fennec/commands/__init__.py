"""One module per CLI command; see :mod:`fennec.cli`."""
