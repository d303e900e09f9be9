"""The transfer space: models and tasks in one space where transferability is a dot product plus a bias.

Importing this package registers the ``fennec`` and ``fennec-nmf`` methods in the evaluation harness.
"""

from fennec.space import methods as _methods  # noqa: F401  (registers the harness methods)
from fennec.space.space import TransferSpace

__all__ = ["TransferSpace"]
