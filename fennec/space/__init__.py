"""The transfer space: models and tasks in one space where transferability is a dot product plus a bias.

Importing :mod:`fennec.space.methods` registers the ``fennec`` and ``fennec-nmf`` methods in the evaluation
harness (``fennec evaluate`` does it); the serving path (recommend, rank-batch) does not pay for that import.
"""

from fennec.space.space import TransferSpace

__all__ = ["TransferSpace"]
