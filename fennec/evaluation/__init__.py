"""The evaluation harness: ranking metrics, lodo/lomo protocols, baseline methods, reports and plots.

Public API::

    from fennec.evaluation import evaluate, METHODS
    report = evaluate("sfda_supervised", "prior", protocol="lodo")   # the JSON-schema dict
    report["mean"]["weighted_tau"]                                    # 0.837

New methods subclass :class:`fennec.evaluation.methods.Method` and register with ``@METHODS.register(name)``.
The transfer space's methods (``fennec``, ``fennec-nmf``) are imported the first time they are asked for, so this
package itself never imports the space.
"""

from fennec.evaluation.methods import METHODS, FitContext, Method, create_method
from fennec.evaluation.metrics import METRIC_KEYS
from fennec.evaluation.protocols import BENCHMARKS, PROTOCOLS, Benchmark, evaluate, get_benchmark

__all__ = [
    "BENCHMARKS",
    "METHODS",
    "METRIC_KEYS",
    "PROTOCOLS",
    "Benchmark",
    "FitContext",
    "Method",
    "create_method",
    "evaluate",
    "get_benchmark",
]
