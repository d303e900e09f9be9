"""Zoo feature extraction, the scoring runner and the fine-tuning runner.

Public API::

    extract_features(model_id, task, max_images=500, seed=0) -> Extraction   # .features, .probs, .labels
    score_zoo(models, task, methods, out=None, store=None) -> RunResult
    Finetuner(protocol="finetune", epochs=5).run(model_id, task) -> FinetuneResult   # .top1 (percent)
    finetune_zoo(models, task, finetuner, out=None, store=None, checkpoints=None) -> RunResult
"""

from fennec.zoo.extract import Extraction, extract_features, parse_zoo_id
from fennec.zoo.finetune import Finetuner, FinetuneResult
from fennec.zoo.finetune_sweep import finetune_zoo
from fennec.zoo.runner import COLUMNS, RunResult, read_records_csv, score_zoo, write_records_csv

__all__ = ["COLUMNS", "Extraction", "FinetuneResult", "Finetuner", "RunResult", "extract_features", "finetune_zoo",
           "parse_zoo_id", "read_records_csv", "score_zoo", "write_records_csv"]
