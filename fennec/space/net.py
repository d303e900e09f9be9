"""The two towers of the transfer space and the score they define.

score(model m, task t | benchmark b) = <u_m, v_t> + k_d <p_m, d_t> + k_n <p_m, n_t> + b_m + delta_{m,b}

- The main effects start from the records themselves: b_m and delta_{m,b} each hold a fixed baseline, the
  model's shrunken mean standardised result overall (a_m) and within benchmark b (a_{m,b} - a_m), set from the
  training records before training (:func:`fennec.space.fit.set_baseline`; "baseline predictors" of
  collaborative filtering, Koren, KDD 2008). The learned parts are residuals around it, so their L2 penalties
  shrink towards what the records say instead of towards an average model.

- u_m = e_m + P x_m: a free embedding for models with records plus a projection of the model's features x_m
  (archi2vec vector, pre-training text p_m).
- b_m = a_m + beta_m + w . x_m: the model's overall quality (fixed baseline, free part, part predicted from features).
- A model without records (cold start) gets u_m = P_c x_m and b_m = w_c . x_m from a cold head of its own: a
  ridge read-out of the vectors the towers learned for the models with records (:mod:`fennec.space.cold`; the
  free parts absorb what P leaves, so the warm projection on its own is no predictor; a separate head keeps warm
  scores unchanged).
- delta_{m,b}: the offset of model m under benchmark b's fine-tuning protocol (two papers fine-tuning the same
  network report different numbers); it is used only when scoring within a known benchmark.
- v_t = W y_t: the task vector from its descriptor y_t (class-name and description embeddings, size).
- k_d, k_n: source affinity, the similarity of the pre-training data's description to the target task (a model
  pre-trained on birds transfers to birds; Cui et al., CVPR 2018, "domain similarity").

Everything but delta folds into one inner product, [u_m, k_d p_m, k_n p_m, b_m] . [v_t, d_t, n_t, 1], which is
what the FAISS index searches (Fennec, Bai et al., arXiv 2403.06382: transferability as vector arithmetic).
"""

from __future__ import annotations

import torch
from torch import nn


class TransferNet(nn.Module):
    """Model tower, task tower and source affinity.

    Args:
        n_models: Number of models with a free embedding slot.
        n_benchmarks: Number of benchmarks (protocol offsets).
        model_in: Width of the model features x_m.
        task_in: Width of the task features y_t.
        text_dim: Width of the text embeddings p_m, d_t, n_t.
        dim: Width of u_m and v_t.
    """

    def __init__(self, n_models: int, n_benchmarks: int, model_in: int, task_in: int, text_dim: int,
                 dim: int) -> None:
        super().__init__()
        self.free = nn.Parameter(torch.zeros(n_models, dim))
        self.free_bias = nn.Parameter(torch.zeros(n_models))
        self.bench_bias = nn.Parameter(torch.zeros(n_models, max(n_benchmarks, 1)))
        self.register_buffer("base", torch.zeros(n_models))
        self.register_buffer("base_bench", torch.zeros(n_models, max(n_benchmarks, 1)))
        self.model_proj = nn.Linear(model_in, dim)
        self.model_bias = nn.Linear(model_in, 1)
        self.task_proj = nn.Linear(task_in, dim)
        self.cold_proj = nn.Linear(model_in, dim)
        self.cold_bias = nn.Linear(model_in, 1)
        # Set by cold_fit.set_cold_layers after training; until then a cold model is "an average model", not noise.
        for layer in (self.cold_proj, self.cold_bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        # The learned parts start at exactly zero around the fixed baseline: a default (random) init of the task
        # projection and of the feature bias would put a random interaction and a random quality of the size of
        # the z-scores into every score, which early stopping (often after a few epochs) never trains away. The
        # model projection keeps its random init, which is what gives the task projection a gradient.
        for layer in (self.task_proj, self.model_bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        # Source affinity is the mechanism that carries over to unseen tasks; a fixed gain lets Adam move it as
        # fast as the free embeddings instead of letting them explain what affinity should.
        self.affinity = nn.Parameter(torch.zeros(2))
        self.affinity_gain = 10.0
        self.text_dim = text_dim

    def model_parts(self, x: torch.Tensor, pre: torch.Tensor, free_idx: torch.Tensor, scale: float = 1.0,
                    interaction: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Model vectors and biases.

        Args:
            x: (M, model_in) model features.
            pre: (M, text_dim) pre-training text embeddings.
            free_idx: (M,) index of each model's free slot, -1 for a model without one (cold start).
            scale: Share kept of the main effect training learned around the fixed baseline, for models with
                records: bias a_m + a (beta_m + w . x_m).
            interaction: Share kept of the learned interaction with tasks: vectors [c u, c k_d p, c k_n p]
                (default: ``scale``). A cold-start row's u and b are left as the head gives them
                (the head is fitted to the scaled vectors, :func:`fennec.space.cold_fit.cold_head_targets`); its
                source-affinity columns are computed from the pre-training text like a warm row's, so they are
                scaled alike.

        Returns:
            (M, dim + 2 * text_dim) folded vectors [u, k_d p, k_n p] and (M,) biases b.
        """
        has = (free_idx >= 0).to(x.dtype)[:, None]
        idx = free_idx.clamp(min=0)
        keep_main = 1 - has + has * scale  # the scale on warm rows, 1 on cold ones
        c = scale if interaction is None else interaction
        k = self.affinity * self.affinity_gain * c
        u = has * (self.model_proj(x) + self.free[idx]) + (1 - has) * self.cold_proj(x)
        folded = torch.cat([(1 - has + has * c) * u, k[0] * pre, k[1] * pre], dim=1)
        learned = has * (self.model_bias(x) + self.free_bias[idx, None]) + (1 - has) * self.cold_bias(x)
        b = (has * self.base[idx, None] + keep_main * learned)[:, 0]
        return folded, b

    def task_parts(self, y: torch.Tensor, desc: torch.Tensor, names: torch.Tensor) -> torch.Tensor:
        """(T, dim + 2 * text_dim) folded task vectors [v, d, n] from features y (T, task_in)."""
        return torch.cat([self.task_proj(y), desc, names], dim=1)

    def offsets(self, scale: float = 1.0) -> torch.Tensor:
        """(n_models, n_benchmarks) protocol offsets delta_{m,b} of the models with free slots: the fixed part plus
        ``scale`` times the learned one (see :meth:`model_parts`)."""
        return self.base_bench + scale * self.bench_bias

    def forward(self, mvec: torch.Tensor, mbias: torch.Tensor, tvec: torch.Tensor, mi: torch.Tensor,
                ti: torch.Tensor, bi: torch.Tensor, free_idx: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Scores of R (model, task, benchmark) triples given folded vectors (of :meth:`model_parts` with the same
        main-effect ``scale``, which also scales the learned protocol offsets); (R,)."""
        s = (mvec[mi] * tvec[ti]).sum(dim=1) + mbias[mi]
        has = (free_idx[mi] >= 0).to(s.dtype)
        return s + self.offsets(scale)[free_idx[mi].clamp(min=0), bi] * has
