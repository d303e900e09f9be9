"""Zoo feature extraction and the scoring runner.

Public API::

    extract_features(model_id, task, max_images=500, seed=0) -> Extraction   # .features, .probs, .labels
    score_zoo(models, task, methods, out=None, store=None) -> RunResult
"""

from fennec.zoo.extract import Extraction, extract_features, parse_zoo_id
from fennec.zoo.runner import COLUMNS, RunResult, read_records_csv, score_zoo, write_records_csv

__all__ = ["COLUMNS", "Extraction", "RunResult", "extract_features", "parse_zoo_id", "read_records_csv",
           "score_zoo", "write_records_csv"]
