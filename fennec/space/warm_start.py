"""Warm start: a new space's members start from what a previous space's members learned.

Retraining after new records (``train.py`` over an existing space, the issue's "retraining warm-starts from the
previous space") copies each member's tower weights and the free vectors, biases and protocol offsets of the
models and benchmarks both spaces share; everything else starts as a fresh member does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fennec.space.columns import TEXT_COLUMNS
from fennec.space.net import TransferNet

# weights whose meaning does not depend on which models, tasks or image statistics a space was fitted on
_SHARED_WEIGHTS = ("model_proj.weight", "model_proj.bias", "model_bias.weight", "model_bias.bias", "task_proj.bias",
                   "affinity")


def copy_member(net: TransferNet, old_net: TransferNet, *, free_ids: Sequence[str], benchmarks: Sequence[str],
                old_free_ids: Sequence[str], old_benchmarks: Sequence[str], same_image_columns: bool) -> None:
    """Copy into ``net`` what ``old_net``, a member of the previous space, learned.

    Args:
        net: The new member, freshly initialised; changed in place.
        old_net: The previous space's member of the same index.
        free_ids: Models with records (free vectors) of the new space, in its order; ``old_free_ids`` the
            previous space's.
        benchmarks: Benchmarks of the new space (columns of its protocol offsets); ``old_benchmarks`` the
            previous space's.
        same_image_columns: Whether the task tower's image columns mean the same in both spaces
            (:func:`fennec.space.columns.same_image_columns`). The weights on the text and size columns are
            copied whenever the shapes allow; those on image columns only then, since a PCA refitted on other
            tasks turns and flips its components.
    """
    old, new = old_net.state_dict(), net.state_dict()
    with torch.no_grad():
        for name in _SHARED_WEIGHTS:
            if name in old and old[name].shape == new[name].shape:
                new[name].copy_(old[name])
        w_old, w_new = old["task_proj.weight"], new["task_proj.weight"]
        if w_old.shape == w_new.shape and (w_new.shape[1] == TEXT_COLUMNS or same_image_columns):
            w_new.copy_(w_old)
        elif w_old.shape[0] == w_new.shape[0] and min(w_old.shape[1], w_new.shape[1]) >= TEXT_COLUMNS:
            w_new[:, :TEXT_COLUMNS] = w_old[:, :TEXT_COLUMNS]
        old_pos = {m: i for i, m in enumerate(old_free_ids)}
        old_bench = {b: i for i, b in enumerate(old_benchmarks)}
        for i, m in enumerate(free_ids):
            j = old_pos.get(m)
            if j is None:
                continue
            new["free"][i] = old["free"][j]
            new["free_bias"][i] = old["free_bias"][j]
            for bi, b in enumerate(benchmarks):
                if b in old_bench:
                    new["bench_bias"][i, bi] = old["bench_bias"][j, old_bench[b]]
    net.load_state_dict(new)
