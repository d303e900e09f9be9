"""The transfer space: fit it from records, score models on a task by vector arithmetic, save and load it.

A fitted :class:`TransferSpace` holds one folded vector per model, ``[u_m, k_d p_m, k_n p_m, b_m]``, and maps any
task (a card with class names, or a user's folder of images with class-named folders) to ``[v_t, d_t, n_t, 1]``;
the inner product is the predicted standardised fine-tuning result (see :mod:`fennec.space.net`). Text
embeddings enter the folded vectors through a PCA fitted on the training texts, which keeps vectors short enough
for a flat FAISS search over large zoos.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from fennec.records.record import check_record
from fennec.registry import UnknownNameError, check_param_names, unknown_name_message
from fennec.space import features as feats
from fennec.space.cold import COLD_HEADS, ColdHead
from fennec.space.cold_fit import cold_head_targets, fit_cold_head, set_cold_layers, zoo_weights
from fennec.space.columns import (
    apply_scale,
    fit_image_basis,
    fit_scale,
    fit_text_basis,
    image_columns,
    project_texts,
    same_image_columns,
    without_description,
)
from fennec.space.fit import STANDARDIZATIONS, Batch, Inputs, standardize, train_net
from fennec.space.net import TransferNet
from fennec.space.selection import cross_validate
from fennec.space.training_records import (
    benchmark_aliases,
    make_batch,
    records_hash,
    result_history,
    usable_records,
)
from fennec.space.warm_start import copy_member
from fennec.space.zoo import ZooModel
from fennec.validation import (
    FennecInputError,
    check_choice,
    check_flag,
    check_fraction,
    check_model_id,
    check_positive_int,
    check_positive_number,
    check_seed,
)


class TransferSpace:
    """A learned space of models and tasks where transferability is a dot product plus a bias.

    Hyper-parameters only here (scikit-learn style); fitted state ends in ``_``.

    Args:
        dim: Width of the learned model/task vectors u_m, v_t.
        text_components: PCA width of the text embeddings that enter the folded vectors (source affinity).
        epochs: Maximum training epochs (full batch).
        lr: Adam learning rate.
        listnet_weight: Weight of the listwise ranking loss next to the regression on standardised results.
        tau: Temperature of the ListNet target distribution softmax(z / tau).
        l2_free: L2 penalty on the free model biases (main effects).
        l2_interaction: L2 penalty on the free model embeddings (interactions with tasks).
        l2_offset: L2 penalty on per-benchmark protocol offsets.
        l2_proj: L2 penalty on tower weights.
        aux_weight: Weight of groups of cheap scores (PARC, LogME, ...) relative to fine-tuning groups.
        base_prior: Pseudo-groups that shrink each model's fixed baseline (its mean standardised result) towards
            an average model; a negative value turns the baseline off (main effects learned from zero).
        baseline_weight: How the groups weigh in that mean: ``"equal"`` (default), or ``"spread"``: each
            (benchmark, dataset) group by the spread of its results relative to its benchmark's other groups
            (:func:`fennec.space.fit.spread_weights`), as the raw-accuracy "prior" weighs datasets.
        val_fraction: Share of the training datasets in each fold of the cross-validated early stopping
            (round(1 / val_fraction) folds; 0 disables it and trains ``epochs`` epochs).
        cv_repeats: Independent fold splits of that cross-validation (repeated k-fold): the epoch count and the
            learned scale are chosen on all of them, so they depend less on how one split fell.
        separate_scales: Choose the share kept of the learned main effects and of the learned interactions with
            tasks separately on the cross-validation folds (default False: one share for both). On the shared
            benchmarks it was within the seed spread of the default, and on the planted world it shrinks the
            source affinity that world is built to reward more than the main effects (docs/space_history.md).
        description: Whether scores read a task's description: ``"keep"`` (default), ``"drop"``, or ``"cv"``:
            decided on the folds of the cross-validation, where held-out training datasets are scored with and
            without theirs. The towers always train with descriptions; dropping one at scoring time is what the
            folds compare (``bench/task_text.py`` measures the same on the shared benchmarks). On the shared
            records, with plain z-score targets, the folds dropped them; that gained 0.008-0.022 in lodo over
            three seeds but cost cold start (lomo) 0.22 on sfda_supervised, so it is not the default
            (docs/space_history.md).
        images: Whether tasks are also read from their images: ``"auto"`` (default) uses the image part of
            the task descriptors (what a proxy saw of a probe set of each task's images; ``fennec tasks
            add-images``) when at least ``min_image_tasks`` training tasks carry one from the same proxy (the
            proxy most of them share); ``"off"`` reads text only. The published records have no images, so the
            shipped space reads text alone; a store of tasks described from their images trains a space that
            needs the same proxy to look at a new task's images (``recommend.py`` does).
        image_components: Width of the PCA of the image statistics (mean and spread of the proxy's
            embeddings) fitted on the training tasks; at most the number of those tasks minus one.
        min_image_tasks: Fewest training tasks with image statistics for the space to read them.
        n_members: Members of the seed ensemble (seeds ``seed .. seed + n_members - 1``); their mean score is
            one inner product of concatenated vectors. Averaging nets trained from different seeds removes
            much of the variance a few dozen training tasks leave in any single one.
        seed: Seed of everything random (initialisation, validation split).
        text_encoder: Text encoder id (default: the offline MiniLM of :mod:`fennec.encoders`).
        cold_head: The cold-start head, a linear regression from a model's features to what the space learned of
            the models with records: ``"linear"`` (default, :class:`fennec.space.cold.ColdHead`), a penalty per
            feature group, the overall penalty fixed and the group scales chosen together for all outputs by
            leave-one-model-out; ``"ridge"``, the earlier head (:func:`fennec.space.cold_fit.fit_cold_head`, a
            penalty per output and per group), whose leave-one-out picked near-zero penalties on some lomo folds
            of the shared records and then ranked the smallest ImageNet CNNs first (docs/space_history.md).
        cold_cv: How the ``"ridge"`` cold-start head's penalties are cross-validated over the models with
            records: ``"loo"`` (leave one model out) or ``"architecture"`` (grouped k-fold, a network's every
            pre-training held out together: the question "a new network" rather than "a new pre-training of a
            known one"; :func:`fennec.space.cold_fit.ridge_cv`).
        cold_weight: How the models with records weigh in the cold-start head's ridge regression: ``"zoo"``
            (default) gives every benchmark's zoo the same total weight (:func:`fennec.space.cold_fit.zoo_weights`), so
            the largest zoo does not set for all how a model's features predict its quality; ``"model"`` counts
            every model once.
        probe_epoch: At which epoch the cross-validation's probes are scored to choose the learned scale:
            ``"best"``, each at its own best held-out epoch, or ``"common"``, all at the epoch count the final
            members then train for.
        benchmark_scales: Also choose the learned scale of each benchmark on its own held-out groups of the
            cross-validation (default True), and use it when a task is scored under that benchmark (``score(...,
            benchmark=...)``, as the evaluation harness does); a task scored without a benchmark (``recommend``)
            keeps the space's one scale. Benchmarks disagree on how much of what is learned carries over to a new
            dataset of theirs: on the shipped records the folds keep none of it for sfda_supervised and 0.7 for
            logme_tllib (docs/space_history.md).
        benchmark_scale_se: How many standard errors of its held-out gain a benchmark's own scales must beat the
            space's scales by to be kept (``benchmark_scales``; :func:`fennec.space.selection.paired_gain`). 0,
            the default, keeps any gain; 1 is the one-standard-error rule of cross-validation (Breiman et al.,
            1984), which keeps the simpler choice, one scale for all, unless the benchmark's own held-out datasets
            clearly ask for another; measured, it cost sfda_supervised 0.013 and logme_tllib 0.016 in lodo over
            three seeds, whose own choices it drops: their gains are real but their datasets disagree
            (docs/space_history.md). Whatever the value, a benchmark with a single held-out dataset keeps the
            space's scales: one dataset cannot tell a scale that suits its benchmark from one that suits itself.
        benchmark_interaction: Let a benchmark's own choice (``benchmark_scales``) also keep its main effects at a
            scale and drop the learned interactions with the task (default False): a model's quality and its
            protocol offsets rest on many datasets, how a task's text moves a model on a few dozen tasks, and a
            benchmark's held-out datasets may support the first and not the second.
        learned_scale: A fixed share kept of everything learned around the fixed baseline (main effects and
            interactions alike) instead of the cross-validated one (None, the default). An ablation: 0 scores
            every task by the fixed baseline alone, each model's shrunken mean standardised result, which shows
            what the learned parts add on top of it.
        standardization: How each (benchmark, dataset) group's results become the regression and ranking
            targets and the baseline's units (:data:`fennec.space.fit.STANDARDIZATIONS`): ``"clipped"``
            (default), z-scores whose mean and spread leave out results more than 4 standard deviations away
            (sigma clipping; those are held at +-4), so a few failed fine-tuning runs do not squeeze the other
            models' targets together; ``"z"``, plain z-scores; ``"normal"``, normal scores of the ranks, which
            also give up how far apart the models are (docs/space_history.md).
    """

    def __init__(self, dim: int = 8, text_components: int = 32, epochs: int = 300, lr: float = 0.03,
                 listnet_weight: float = 1.0, tau: float = 0.5, l2_free: float = 1e-2, l2_interaction: float = 1e-2,
                 l2_offset: float = 1e-2, l2_proj: float = 1e-3,
                 aux_weight: float = 0.3, base_prior: float = 1.0, baseline_weight: str = "equal",
                 val_fraction: float = 0.2, cv_repeats: int = 3,
                 separate_scales: bool = False, description: str = "keep", images: str = "auto",
                 image_components: int = 8, min_image_tasks: int = 3, n_members: int = 5, seed: int = 0,
                 text_encoder: str | None = None, cold_head: str = "linear", cold_cv: str = "loo",
                 cold_weight: str = "zoo",
                 probe_epoch: str = "best", benchmark_scales: bool = True, benchmark_scale_se: float = 0.0,
                 benchmark_interaction: bool = False, learned_scale: float | None = None,
                 standardization: str = "clipped") -> None:
        self.dim = dim
        self.text_components = text_components
        self.epochs = epochs
        self.lr = lr
        self.listnet_weight = listnet_weight
        self.tau = tau
        self.l2_free = l2_free
        self.l2_interaction = l2_interaction
        self.l2_offset = l2_offset
        self.l2_proj = l2_proj
        self.aux_weight = aux_weight
        self.base_prior = base_prior
        self.baseline_weight = baseline_weight
        self.val_fraction = val_fraction
        self.cv_repeats = cv_repeats
        self.separate_scales = separate_scales
        self.description = description
        self.images = images
        self.image_components = image_components
        self.min_image_tasks = min_image_tasks
        self.n_members = n_members
        self.seed = seed
        self.text_encoder = text_encoder
        self.cold_head = cold_head
        self.cold_cv = cold_cv
        self.cold_weight = cold_weight
        self.probe_epoch = probe_epoch
        self.benchmark_scales = benchmark_scales
        self.benchmark_scale_se = benchmark_scale_se
        self.benchmark_interaction = benchmark_interaction
        self.learned_scale = learned_scale
        self.standardization = standardization

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters as a dict (the constructor's arguments); ``deep`` is scikit-learn's (no parameter here
        is itself an estimator), so ``sklearn.base.clone`` works."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {k: getattr(self, k) for k in names}

    def set_params(self, **params: Any) -> TransferSpace:
        """Set hyper-parameters by name (checked at the next :meth:`fit`, as scikit-learn does); returns self.

        Raises:
            FennecInputError: an unknown name, with the close ones.
        """
        check_param_names("TransferSpace", params, list(self.get_params()))  # all checked before any is set
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        return f"TransferSpace({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _check_fitted(self) -> None:
        """Using a space before :meth:`fit` (or :func:`~fennec.space.store.load_space`) is an error that says so,
        not an AttributeError naming an internal array."""
        if not hasattr(self, "model_vectors_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this TransferSpace is not fitted yet: call fit(records, models, tasks), or load a "
                                 "trained one with fennec.space.store.load_space(DIR)")

    # ----------------------------------------------------------------------------------------------- fitting
    def fit(self, records: Sequence[Any], models: Mapping[str, Any], tasks: Mapping[str, Any],
            init: TransferSpace | None = None) -> TransferSpace:
        """Learn the space from records.

        Args:
            records: Records with ``model``, ``dataset``, ``benchmark``, ``metric``, ``value``.
            models: Model metadata by id (``architecture``, ``pretraining``); models without records are kept
                and get cold-start vectors.
            tasks: Task cards by canonical name; every dataset of ``records`` needs one.
            init: A previously fitted space to warm-start from (models and tower weights it shares).

        Returns:
            self

        Training runs on one CPU thread whatever torch's setting: with several, torch's CPU reductions add floats
        in an order that varies from run to run, so two fits of the same records gave different vectors; on one
        thread they are equal to the bit, as the issue asks ("seeded and deterministic"), and the tensors are too
        small for threads to pay. numpy's BLAS (the cold-start head's ridge regressions) runs on one thread too:
        on a machine whose cores are busy, its threads made those small decompositions 5 to 10 times slower.
        """
        # the limit reaches only the BLAS libraries loaded when it is set: load scikit-learn's (scipy's) first
        import sklearn.linear_model  # noqa: F401
        from threadpoolctl import threadpool_limits

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with threadpool_limits(limits=1):
                return self._fit(records, models, tasks, init)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, records: Sequence[Any], models: Mapping[str, Any], tasks: Mapping[str, Any],
             init: TransferSpace | None) -> TransferSpace:
        self._check_params()
        records = _check_fit_inputs(records, models, tasks, init)
        widths = (self.dim, self.text_components)
        if init is not None and (init.dim, init.text_components) != widths:
            # a member's vectors cannot be copied into vectors of another width: say so before minutes of training
            warnings.warn(f"not warm-starting: the previous space's vectors are dim={init.dim}, text_components="
                          f"{init.text_components} wide and this one's dim={widths[0]}, text_components={widths[1]}; "
                          "training from scratch", UserWarning, stacklevel=3)
            init = None
        recs, copies = usable_records(records)
        self.benchmark_alias_ = benchmark_aliases(recs, copies)
        if not recs:
            # a store of pre-training results (ImageNet top-1 of ImageNet weights) only has records, none of
            # them a transfer result: "ingest some" alone read as if the store were empty
            held = f"the {len(records)} records given are results on the models' own pre-training data, or not " \
                "finite, which the space does not learn from; " if len(records) else ""
            raise FennecInputError(f"records: no usable records to train on; {held}ingest transfer results "
                                   "(fine-tuning accuracies or cheap scores) with `fennec records ingest FILE.csv`")
        missing = sorted({r.dataset for r in recs} - set(tasks))
        if missing:
            raise FennecInputError(f"tasks: no task card for {missing[:5]}; add them with `fennec tasks add`")
        model_ids = sorted(set(models) | {r.model for r in recs})
        with_records = sorted({r.model for r in recs})
        task_names = sorted({r.dataset for r in recs})
        benches = sorted({r.benchmark for r in recs})
        infos = [models.get(m) or ZooModel(m, None, None) for m in model_ids]
        cards = [tasks[t] for t in task_names]

        mf = feats.model_features(infos, self.text_encoder)
        tf = feats.task_features(cards, self.text_encoder)
        # preprocessing is fitted on the models with records: a model added later (`fennec zoo add`) never shapes
        # it, so a cold-start model held out by the evaluation (lomo) must not either
        seen = np.isin(model_ids, with_records)
        self.text_mean_, self.text_components_ = fit_text_basis(
            np.concatenate([mf.pretraining[seen], tf.names, tf.description]), self.text_components, self.seed)
        self._fit_images(tf)
        self.size_scale_ = fit_scale(mf.size[seen])
        self.meta_scale_ = fit_scale(tf.meta[:, 2:])
        self.model_ids_ = model_ids
        self.model_info_ = {m: _info_dict(i, m) for m, i in zip(model_ids, infos, strict=True)}
        self.free_ids_ = with_records
        self.benchmarks_ = benches
        self.task_names_ = task_names
        self.task_cards_ = {t: _card_dict(c) for t, c in zip(task_names, cards, strict=True)}
        free_pos = {m: i for i, m in enumerate(with_records)}
        free_idx = np.array([free_pos.get(m, -1) for m in model_ids])

        inp = self._inputs(mf, tf, free_idx)
        # the folds score held-out datasets without their descriptions only when that is a choice to make
        blind = self._inputs(mf, without_description(tf), free_idx) if self.description != "keep" else None
        batch = make_batch(recs, model_ids, task_names, benches, aux_weight=self.aux_weight,
                           standardization=self.standardization)
        if not standardize(batch)[1].any():
            # every group would be dropped, and the space would train on nothing yet look trained
            raise FennecInputError("records: no (benchmark, dataset, metric) group has 3 or more models with "
                                   "different results, and the space learns from how models rank within one; "
                                   "ingest results of at least 3 models on a dataset")
        cfg = {k: v for k, v in self.get_params().items()
               if k in ("lr", "listnet_weight", "tau", "l2_free", "l2_interaction", "l2_offset", "l2_proj",
                        "base_prior")}
        cfg["base_weight_by_spread"] = self.baseline_weight == "spread"
        shape = {"n_models": len(with_records), "n_benchmarks": len(benches), "model_in": inp.model_x.shape[1],
                 "task_in": inp.task_y.shape[1], "text_dim": self.text_components, "dim": self.dim}
        old_nets = list(init.nets_) if init is not None else []
        epochs, n_folds = self._cross_validate(inp, blind, batch, shape, cfg)
        arch_groups = None
        if self.cold_cv == "architecture":
            arch_groups = np.array([getattr(info, "architecture", None) or m
                                    for m, info in zip(model_ids, infos, strict=True)])
        cold_weights = zoo_weights(batch, len(model_ids)) if self.cold_weight == "zoo" else None
        nets = []
        for i in range(self.n_members):
            torch.manual_seed(self.seed + i)
            net = TransferNet(**shape)
            if i < len(old_nets):
                copy_member(net, old_nets[i], free_ids=with_records, benchmarks=benches, old_free_ids=init.free_ids_,
                            old_benchmarks=init.benchmarks_,
                            same_image_columns=same_image_columns(self.image_basis_, init.image_basis_))
            net, info = train_net(net, inp, batch, epochs=epochs, seed=self.seed + i, **cfg)
            if self.cold_head == "ridge":
                cold_info = fit_cold_head(net, inp, batch, self.learned_scale_,
                                          feature_groups=self._feature_groups(mf),
                                          interaction=self.interaction_scale_, cv_groups=arch_groups,
                                          sample_weight=cold_weights)
            else:
                cold_info = self._fit_cold_head(net, inp, batch, mf, cold_weights)
            nets.append(net.eval())
        self.nets_ = nets
        self.train_info_ = {"final_loss": info["final_loss"], **cold_info, "epochs": epochs,
                            "val_folds": n_folds, "members": len(nets), "learned_scale": self.learned_scale_,
                            "interaction_scale": self.interaction_scale_, "use_description": self.use_description_,
                            "benchmark_scales": {b: list(v) for b, v in self.bench_scales_.items()},
                            # per benchmark: held-out weighted tau at its own scales, at the space's, and the gain's
                            # standard error (None: fewer than two held-out datasets)
                            "benchmark_scale_taus": {b: [x if np.isfinite(x) else None for x in v]
                                                     for b, v in self.bench_scale_taus_.items()},
                            "n_records": len(recs), "n_groups": len(batch.group_weight),
                            "image_proxy": self.image_proxy, "image_tasks": self._n_image_tasks(tf),
                            "warm_start": init is not None}
        self.records_hash_ = records_hash(recs)
        self.model_vectors_ = self._fold_models(inp.model_x, inp.pre, inp.free_idx)
        # a benchmark's own scales apply to the models with records: a cold-start row is the head's prediction at
        # the space's scales under every benchmark, source affinity included, as a model added later gets
        cold = (inp.free_idx < 0).numpy()
        self.bench_vectors_ = {b: np.where(cold[:, None], self.model_vectors_,
                                           self._fold_models(inp.model_x, inp.pre, inp.free_idx, scales))
                               for b, scales in self.bench_scales_.items()}
        idx, has = inp.free_idx.clamp(min=0), (inp.free_idx >= 0)[:, None]
        # each benchmark's protocol offsets at the main-effect scale it is scored with
        column_scale = torch.tensor([self.bench_scales_.get(b, (self.learned_scale_,))[0] for b in benches])
        with torch.no_grad():
            offsets = [n.offsets(column_scale)[idx] * has for n in nets]
        self.bench_offset_ = torch.stack(offsets).mean(0).numpy()
        self.task_vectors_, self.task_image_rows_ = self._read_tasks(tf)
        self.history_ = result_history(recs, model_ids, task_names,
                                       [int(getattr(c, "n_classes", 0) or 0) for c in cards])
        return self

    def _check_params(self) -> None:
        """Refuse hyper-parameters out of their range with one-line errors (checked at fit, as scikit-learn does)."""
        check_choice(self.description, "description", ("cv", "keep", "drop"))
        check_choice(self.images, "images", ("auto", "off"))
        check_choice(self.cold_head, "cold_head", COLD_HEADS)
        check_choice(self.cold_cv, "cold_cv", ("loo", "architecture"))
        if self.cold_cv != "loo" and self.cold_head != "ridge":
            raise FennecInputError(f"cold_cv={self.cold_cv!r}: applies to cold_head='ridge' only (cold_head="
                                   f"{self.cold_head!r} chooses its scales by leave-one-model-out); set both")
        check_choice(self.cold_weight, "cold_weight", ("zoo", "model"))
        check_choice(self.standardization, "standardization", STANDARDIZATIONS)
        check_choice(self.probe_epoch, "probe_epoch", ("best", "common"))
        check_choice(self.baseline_weight, "baseline_weight", ("equal", "spread"))
        for name in ("dim", "text_components", "epochs", "n_members", "cv_repeats"):
            check_positive_int(getattr(self, name), name)
        check_positive_number(self.tau, "tau")
        check_positive_number(self.lr, "lr")
        for name in ("listnet_weight", "l2_free", "l2_interaction", "l2_offset", "l2_proj", "aux_weight"):
            check_positive_number(getattr(self, name), name, allow_zero=True)
        check_fraction(self.val_fraction, "val_fraction")
        prior = self.base_prior
        if isinstance(prior, bool) or not isinstance(prior, int | float) or not math.isfinite(prior):
            raise FennecInputError(f"base_prior: expected a finite number (a negative one turns the baseline off), "
                                   f"got {prior!r}")
        if self.learned_scale is not None:
            check_positive_number(self.learned_scale, "learned_scale", allow_zero=True)
        check_positive_number(self.benchmark_scale_se, "benchmark_scale_se", allow_zero=True)
        for name in ("separate_scales", "benchmark_scales", "benchmark_interaction"):
            check_flag(getattr(self, name), name)
        check_seed(self.seed, "seed")
        check_positive_int(self.image_components, "image_components")
        check_positive_int(self.min_image_tasks, "min_image_tasks")

    def _cross_validate(self, inp: Inputs, blind: Inputs | None, batch: Batch, shape: dict[str, int],
                        cfg: dict[str, float]) -> tuple[int, int]:
        """The folds' choices (:func:`fennec.space.selection.cross_validate`): sets ``learned_scale_``,
        ``interaction_scale_``, ``use_description_``, ``bench_scales_`` and ``bench_scale_taus_``. Returns (the
        epoch count, the number of folds)."""
        names = ("epochs", "cv_repeats", "val_fraction", "seed", "probe_epoch", "description", "separate_scales",
                 "learned_scale", "benchmark_scales", "benchmark_scale_se", "benchmark_interaction")
        got = cross_validate(inp, blind, batch, shape, cfg, benchmarks=self.benchmarks_,
                             **{k: getattr(self, k) for k in names})
        self.use_description_, (self.learned_scale_, self.interaction_scale_) = got.use_description, got.scales
        self.bench_scales_, self.bench_scale_taus_ = got.bench_scales, got.bench_scale_taus
        return got.epochs, got.n_folds

    def _fit_cold_head(self, net: TransferNet, inp: Inputs, batch: Batch, mf: feats.ModelFeatures,
                       weights: np.ndarray | None) -> dict[str, Any]:
        """Fit a member's cold-start head (``cold_head="linear"``) to the scaled warm vectors and write it into the
        net; returns what the manifest reports of it."""
        x, target = cold_head_targets(net, inp, batch, self.learned_scale_, self.interaction_scale_)
        w = np.ones(len(x)) if weights is None else weights[(inp.free_idx >= 0).numpy()]
        if (w > 0).sum() < 3:  # nothing to cross-validate: the net's zero head ("an average model")
            return {"cold_models": int((w > 0).sum())}
        arch, _, text = self._feature_groups(mf)
        head = ColdHead().fit(x, target, arch, text, sample_weight=w)
        set_cold_layers(net, head.coef_, head.intercept_)
        return {"cold_models": int((w > 0).sum()), "cold_group_scales": list(head.scales_),
                "cold_loo_error": head.loo_error_}

    def _scored_text(self, tf: feats.TaskFeatures) -> feats.TaskFeatures:
        """Task features as scores read them: without descriptions when the folds chose so."""
        return tf if self.use_description_ else without_description(tf)

    def _project(self, texts: np.ndarray) -> np.ndarray:
        """Centred PCA projection of text embeddings (:func:`~fennec.space.columns.project_texts`)."""
        return project_texts(texts, self.text_mean_, self.text_components_)

    @property
    def image_proxy(self) -> str | None:
        """The proxy whose image statistics the space reads (None: it reads tasks' text only)."""
        return None if self.image_basis_ is None else self.image_basis_.proxy

    def _n_image_tasks(self, tf: feats.TaskFeatures) -> int:
        return sum(self.image_proxy in parts for parts in tf.images) if self.image_proxy else 0

    def _fit_images(self, tf: feats.TaskFeatures) -> None:
        """Choose the proxy whose image statistics the towers read and fit their PCA, or read none
        (:func:`~fennec.space.columns.fit_image_basis`)."""
        self.image_basis_ = (None if self.images == "off"
                             else fit_image_basis(tf.images, self.image_components, self.min_image_tasks, self.seed))

    def _image_y(self, images: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Task-tower image input (T, image_components + N_GEOMETRY + 1) (:func:`~fennec.space.columns.
        image_columns`); no columns at all for a space that reads text only."""
        return image_columns(images, self.image_basis_)

    def _model_x(self, mf: feats.ModelFeatures) -> np.ndarray:
        """Model-tower input (M, A + 2 + TEXT_DIM + 2): archi2vec, size (standardised), pre-training text, flags."""
        return np.concatenate([mf.arch, apply_scale(mf.size, self.size_scale_), mf.pretraining, mf.flags], axis=1)

    @staticmethod
    def _feature_groups(mf: feats.ModelFeatures) -> list[slice]:
        """Column spans of :meth:`_model_x`'s groups: archi2vec, size, pre-training text (flags left alone)."""
        a, t = mf.arch.shape[1], mf.pretraining.shape[1]
        return [slice(0, a), slice(a, a + 2), slice(a + 2, a + 2 + t)]

    def _task_y(self, tf: feats.TaskFeatures, image_y: np.ndarray | None = None) -> np.ndarray:
        """Task-tower input (T, 2 TEXT_DIM + 4 [+ image columns]): class-name and description embeddings, flags
        and size (standardised), and the image statistics when the space reads them (``image_y``, the
        :meth:`_image_y` of ``tf``'s images, computed here when not given)."""
        meta = np.concatenate([tf.meta[:, :2], apply_scale(tf.meta[:, 2:], self.meta_scale_)], axis=1)
        if image_y is None:
            image_y = self._image_y(tf.images or ({},) * len(tf.meta))
        return np.concatenate([tf.names, tf.description, meta, image_y], axis=1)

    def _inputs(self, mf: feats.ModelFeatures, tf: feats.TaskFeatures, free_idx: np.ndarray) -> Inputs:
        return Inputs(model_x=torch.as_tensor(self._model_x(mf)), pre=torch.as_tensor(self._project(mf.pretraining)),
                      free_idx=torch.as_tensor(free_idx, dtype=torch.long), task_y=torch.as_tensor(self._task_y(tf)),
                      desc=torch.as_tensor(self._project(tf.description)),
                      names=torch.as_tensor(self._project(tf.names)))

    def _fold_models(self, x: torch.Tensor, pre: torch.Tensor, free_idx: torch.Tensor,
                     scales: tuple[float, float] | None = None) -> np.ndarray:
        """Folded model vectors (M, n_members * dim + 2k + 1): ``[u_1/n, ..., u_n/n, mean(k) p, mean b]``.

        The mean of the members' scores is itself one inner product with :meth:`_fold_tasks`' vectors, so the
        seed ensemble costs dimensions, not searches. Each member's parts come with everything learned scaled
        around the fixed baseline, by ``learned_scale_`` (main effects) and ``interaction_scale_`` (vectors), or
        by ``scales`` (the pair) when given (:meth:`TransferNet.model_parts`), which keeps a score a dot product
        plus a bias.
        """
        main, inter = (self.learned_scale_, self.interaction_scale_) if scales is None else scales
        us, affs, biases = [], [], []
        with torch.no_grad():
            for net in self.nets_:
                folded, b = net.model_parts(x, pre, free_idx, scale=main, interaction=inter)
                us.append(folded[:, : self.dim] / len(self.nets_))
                affs.append(folded[:, self.dim :])
                biases.append(b)
            out = torch.cat([*us, torch.stack(affs).mean(0), torch.stack(biases).mean(0)[:, None]], 1)
        return out.numpy().astype(np.float32)

    def _fold_tasks(self, tf: feats.TaskFeatures, image_y: np.ndarray | None = None) -> np.ndarray:
        """Folded task vectors (T, n_members * dim + 2k + 1): ``[v_1, ..., v_n, d, n, 1]`` (``image_y`` as in
        :meth:`_task_y`)."""
        y = torch.as_tensor(self._task_y(tf, image_y))
        desc, names = torch.as_tensor(self._project(tf.description)), torch.as_tensor(self._project(tf.names))
        with torch.no_grad():
            vs = [net.task_parts(y, desc, names)[:, : self.dim] for net in self.nets_]
            out = torch.cat([*vs, desc, names, torch.ones(len(y), 1)], 1)
        return out.numpy().astype(np.float32)

    # ----------------------------------------------------------------------------------------------- using
    def task_vectors(self, cards: Sequence[Any]) -> np.ndarray:
        """Folded task vectors (T, D) of task cards or tasks (class names, description, sizes)."""
        return self.read_tasks(cards)[0]

    def read_tasks(self, cards: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`task_vectors`, :meth:`image_rows`) of task cards or tasks from one reading of the cards: what
        ranking needs (the vectors score the models, the rows find the nearest historical tasks)."""
        self._check_fitted()
        return self._read_tasks(feats.task_features(list(cards), self.text_encoder))

    def _read_tasks(self, tf: feats.TaskFeatures) -> tuple[np.ndarray, np.ndarray]:
        """Folded task vectors (T, D) and image rows (T, W) of featurized tasks; the rows, which the task tower
        also reads, are computed once."""
        rows = self._image_y(tf.images or ({},) * len(tf.meta))
        return self._fold_tasks(self._scored_text(tf), rows), rows

    def _lookup(self) -> tuple[dict[str, int], frozenset[str]]:
        """(row of each model id, ids with records), built once per zoo (``add_models`` makes a new id list):
        ranking looks models up for every task, and a zoo can hold a million models."""
        key = (id(self.model_ids_), len(self.model_ids_))
        cached = getattr(self, "_lookup_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, {m: i for i, m in enumerate(self.model_ids_)}, frozenset(self.free_ids_))
            self._lookup_cache = cached
        return cached[1], cached[2]

    def model_positions(self) -> dict[str, int]:
        """Row of each model id in the space's arrays (do not modify)."""
        return self._lookup()[0]

    def has_records(self, model_id: str) -> bool:
        """True for a model the space was trained with records of (False: it has a cold-start vector)."""
        return model_id in self._lookup()[1]

    def model_vectors(self, model_ids: Sequence[str] | None = None) -> np.ndarray:
        """Folded model vectors (M, D) ``[u, k_d p, k_n p, b]`` for ids in the space (all by default)."""
        self._check_fitted()
        if model_ids is None:
            return self.model_vectors_
        pos = self.model_positions()
        unknown = [m for m in model_ids if m not in pos]
        if unknown:
            raise UnknownNameError(unknown_name_message("model in the space", unknown[0], self.model_ids_))
        return self.model_vectors_[[pos[m] for m in model_ids]]

    def cold_start_vectors(self, models: Sequence[Any]) -> np.ndarray:
        """Folded vectors (M, D) of models the space has no records of, from their features alone."""
        self._check_fitted()
        mf = feats.model_features(list(models), self.text_encoder)
        return self._fold_models(torch.as_tensor(self._model_x(mf)), torch.as_tensor(self._project(mf.pretraining)),
                                 torch.full((len(models),), -1, dtype=torch.long))

    def add_models(self, models: Mapping[str, Any]) -> list[str]:
        """Give new models (id -> metadata) cold-start vectors and add them to the space; returns the added ids.

        Args:
            models: ``source:id`` -> metadata with ``architecture`` and ``pretraining`` attributes
                (:class:`~fennec.space.zoo.ZooModel`, :class:`~fennec.records.ModelInfo`;
                :func:`fennec.space.zoo.model_from_id` reads them from an id).

        Raises:
            FennecInputError: not a mapping, an id not in ``source:id`` form, or metadata without those attributes
                (a bare string was taken for a model of unknown architecture and pre-training).
        """
        self._check_fitted()
        _check_models(models)
        known = self.model_positions()
        new = [m for m in models if m not in known]
        if not new:
            return []
        vecs = self.cold_start_vectors([models[m] for m in new])
        self.model_vectors_ = np.concatenate([self.model_vectors_, vecs])
        # a cold-start vector is the head's prediction at the space's scales, whatever the benchmark
        self.bench_vectors_ = {b: np.concatenate([v, vecs]) for b, v in self.bench_vectors_.items()}
        self.bench_offset_ = np.concatenate([self.bench_offset_, np.zeros((len(new), self.bench_offset_.shape[1]))])
        self.history_ = np.concatenate([self.history_, np.full((len(new), self.history_.shape[1]), np.nan)])
        self.model_ids_ = [*self.model_ids_, *new]
        self.model_info_.update({m: {**_info_dict(models[m], m), "added": True} for m in new})
        return new

    def remove_models(self, model_ids: Sequence[str]) -> list[str]:
        """Take models out of the space (their vectors, protocol offsets, history rows and metadata: every
        per-model array :meth:`add_models` appends to); returns the ids removed, each once.

        Which models may go is the caller's rule (``fennec zoo remove`` takes only those ``zoo add`` gave:
        :func:`fennec.space.zoo.remove_added_models`); a model with records leaves the learned parts that its
        records shaped as they are.

        Raises:
            FennecInputError: for an id the space does not hold; nothing is changed then.
        """
        self._check_fitted()
        pos = self.model_positions()
        for m in model_ids:
            if m not in pos:
                raise FennecInputError(f"model {m!r}: not in the space (`fennec zoo list` lists its models)")
        gone = list(dict.fromkeys(model_ids))
        drop = {pos[m] for m in gone}
        keep = np.array([i for i in range(len(self.model_ids_)) if i not in drop], dtype=np.int64)
        self.model_vectors_ = self.model_vectors_[keep]
        self.bench_vectors_ = {b: v[keep] for b, v in self.bench_vectors_.items()}
        self.bench_offset_ = self.bench_offset_[keep]
        self.history_ = self.history_[keep]
        self.model_ids_ = [self.model_ids_[i] for i in keep]  # a new list: the id lookup is rebuilt
        for m in gone:
            del self.model_info_[m]
        return gone

    def score(self, task: Any, model_ids: Sequence[str] | None = None, benchmark: str | None = None) -> np.ndarray:
        """Predicted standardised fine-tuning result of each model on ``task``; (M,), higher is better.

        Args:
            task: A task card or task (class names, description, sizes).
            model_ids: Models to score (default: all in the space).
            benchmark: Score under this benchmark's protocol (adds the models' protocol offsets, and uses its own
                learned scales when it has them: ``benchmark_scales``) when known; a benchmark that copies another's
                published numbers (:func:`~fennec.space.training_records.benchmark_aliases`) under the other's.
        """
        self._check_fitted()
        if isinstance(model_ids, str | bytes):  # iterated, an id was read one character per model
            raise FennecInputError(f"model_ids: expected a list of model ids, got the string {model_ids!r}; pass "
                                   f"[{model_ids!r}]")
        ids = list(self.model_ids_) if model_ids is None else list(model_ids)
        vectors = self.model_vectors(ids)
        # a benchmark whose records repeat another's numbers is scored under the other's protocol offsets
        benchmark = self.benchmark_alias_.get(benchmark, benchmark)
        if benchmark is not None and benchmark in self.benchmarks_:
            rows = [self.model_positions()[m] for m in ids]
            if benchmark in self.bench_vectors_:
                vectors = self.bench_vectors_[benchmark][rows]
            s = vectors @ self.task_vectors([task])[0] + self.bench_offset_[rows, self.benchmarks_.index(benchmark)]
        else:
            s = vectors @ self.task_vectors([task])[0]
        return s.astype(np.float64)

    def image_rows(self, cards: Sequence[Any]) -> np.ndarray:
        """(T, W) image statistics of tasks as the towers read them (W = 0 for a space that reads text only)."""
        self._check_fitted()
        return self._image_y([dict(getattr(c, "image_parts", None) or {}) for c in cards])

    def nearest_tasks(self, task_vector: np.ndarray, k: int = 3,
                      image_row: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The k historical tasks closest to a task, by what the tasks are about: the text parts of the folded
        task vectors, its description ``d_t`` and its class names ``n_t``, not the learned parts, which encode how
        models rank on them.

        Each part the task has counts alike: its description, its class names and, in a space that reads images,
        what its images show (the PCA part of ``image_row``, a row of :meth:`image_rows`). The similarity is the
        mean of the cosines of those parts, where a part a historical task lacks counts as 0; historical tasks that
        share no part with it are left out. A part the task lacks is not compared: a task known by its class names
        alone is near the tasks whose class names are alike (the cosine of the concatenated text parts favoured
        historical tasks with short descriptions: Flowers-102 was not among the three nearest of "rose, tulip,
        daisy"). A task without any text or image statistics is near nothing: the list is empty.
        """
        self._check_fitted()
        check_positive_int(k, "k")
        task_vector = np.asarray(task_vector)
        if task_vector.shape != (self.model_vectors_.shape[1],):
            raise FennecInputError(f"task_vector: expected shape ({self.model_vectors_.shape[1]},), a folded task "
                                   f"vector of this space (task_vectors), got {task_vector.shape}")
        start, width = self.n_members * self.dim, self.text_components_.shape[0]
        sims, weights = [], []
        for part in (slice(start, start + width), slice(start + width, start + 2 * width)):  # description, names
            q = task_vector[part]
            if np.any(q):
                sims.append(_cosines(self.task_vectors_[:, part], q))
                weights.append(np.any(self.task_vectors_[:, part], axis=1))
        # a space that reads text only has no image rows (a loaded one has no task_image_rows_ at all)
        if image_row is not None and self.image_proxy is not None and image_row[-1] > 0:
            rows = self.task_image_rows_
            shown = self.image_basis_.components.shape[0]  # what the images show; the geometry says how hard, not what
            sims.append(_cosines(rows[:, :shown], image_row[:shown]))
            weights.append(rows[:, -1] > 0)  # the has-image flag of each historical task
        if not sims:
            return []
        # a part the historical task lacks counts as dissimilar, not as missing: a text-only task must not beat
        # tasks that look alike by matching the text alone
        has = np.stack(weights)
        sim = (np.stack(sims) * has).sum(0) / len(sims)
        sim = np.where(has.any(0), sim, -np.inf)
        order = [i for i in np.argsort(-sim, kind="stable")[:k] if np.isfinite(sim[i])]
        return [(self.task_names_[i], float(sim[i])) for i in order]

    @property
    def reads_task_text(self) -> bool:
        """Whether the space has text directions to read a task's class names and description with: none when
        the records it was trained on came with no distinct text (tasks without cards, models all pre-trained
        alike), and then a task's text changes nothing (only its size and, in a space that reads them, its
        image statistics do)."""
        return bool(np.any(self.text_components_))

    def no_nearest_reason(self, task_vector: np.ndarray) -> str:
        """Why :meth:`nearest_tasks` found no historical task near a task (for the explanation it replaces)."""
        start = self.n_members * self.dim
        if not self.reads_task_text:
            return ("the space reads no task text: its training tasks had no class names or descriptions and its "
                    "models' pre-training texts were all alike (give the tasks cards with `fennec tasks add` and "
                    "train again)")
        if not np.any(task_vector[start:-1]):
            return "the task has no class names or description to compare"
        return ("the space's historical tasks have no class names or description to compare (give them task cards "
                "with `fennec tasks add` and train again)")

    def accuracy_range(self, model_id: str, tasks: Sequence[str]) -> tuple[float, float] | None:
        """(min, max) published result (percent) of a model on the given historical tasks, or None."""
        self._check_fitted()
        positions = self.model_positions()
        if model_id not in positions:
            raise FennecInputError(unknown_name_message("model in the space", str(model_id), self.model_ids_))
        if isinstance(tasks, str | bytes):
            raise FennecInputError(f"tasks: expected a list of task names, got the string {tasks!r}; pass [{tasks!r}]")
        unknown = [t for t in tasks if t not in self.task_names_]
        if unknown:
            raise FennecInputError(f"tasks {unknown[:5]}: not among this space's training tasks; pick from "
                                   "task_names_")
        i = positions[model_id]
        cols = [self.task_names_.index(t) for t in tasks]
        vals = self.history_[i, cols]
        vals = vals[np.isfinite(vals)]
        return (float(vals.min()), float(vals.max())) if len(vals) else None


def _cosines(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``a`` (T, D) with ``q`` (D,)."""
    return a @ q / (np.linalg.norm(a, axis=1) * np.linalg.norm(q) + 1e-12)



def _check_models(models: object) -> None:
    """Refuse model metadata :meth:`TransferSpace.fit` and :meth:`TransferSpace.add_models` cannot read: not a
    mapping, an id not in ``source:id`` form, metadata without ``architecture`` and ``pretraining`` text (a bare
    string was taken for a model of unknown architecture and pre-training).

    Raises:
        FennecInputError: naming the model.
    """
    if not isinstance(models, Mapping):
        raise FennecInputError(f"models: expected a mapping of model id to metadata, got {type(models).__name__}; "
                               "e.g. {id: fennec.space.zoo.model_from_id(id)}")
    for model_id, meta in models.items():
        check_model_id(model_id, "models")
        if not (hasattr(meta, "architecture") and hasattr(meta, "pretraining")):
            raise FennecInputError(f"models[{model_id!r}]: expected metadata with architecture and pretraining "
                                   f"(fennec.space.zoo.model_from_id({model_id!r})), got {type(meta).__name__}")
        for field in ("architecture", "pretraining"):  # a number or a list failed deep in the featurisation
            value = getattr(meta, field)
            if value is not None and not isinstance(value, str):
                raise FennecInputError(f"models[{model_id!r}].{field}: expected text or None, got "
                                       f"{type(value).__name__} {value!r}")


def _check_fit_inputs(records: object, models: object, tasks: object, init: object) -> list[Any]:
    """The records as a list, after :meth:`TransferSpace.fit`'s checks of its inputs: every record passes the
    store's :func:`~fennec.records.record.check_record` with a ``source:id`` model id, one value per (benchmark,
    model, dataset, metric), models as :meth:`TransferSpace.add_models` takes them, tasks a mapping, ``init`` a
    fitted space.

    Raises:
        FennecInputError: one line naming the input.
    """
    if isinstance(records, str | bytes | Mapping) or not isinstance(records, Iterable):
        raise FennecInputError(f"records: expected a list of fennec.records.Record, got {type(records).__name__}; "
                               "e.g. RecordStore(path).records()")
    recs = list(records)
    values: dict[tuple[str, str, str, str], float] = {}
    for rec in recs:
        value = check_record(rec)
        check_model_id(rec.model, "record model")
        key = (rec.benchmark, rec.model, rec.dataset, rec.metric)
        if values.setdefault(key, value) != value:
            raise FennecInputError(f"records: two values ({values[key]!r} and {value!r}) for (benchmark, model, "
                                   f"dataset, metric) {key}; keep one record per key")
    _check_models(models)
    if not isinstance(tasks, Mapping):
        raise FennecInputError(f"tasks: expected a mapping of task name to TaskCard, got {type(tasks).__name__}; "
                               "e.g. RecordStore(path).task_cards()")
    if init is not None:
        if not isinstance(init, TransferSpace):
            raise FennecInputError(f"init: expected a fitted TransferSpace, got {type(init).__name__}; load one "
                                   "with fennec.space.store.load_space(DIR)")
        if not hasattr(init, "nets_"):
            raise FennecInputError("init: the TransferSpace given is not fitted; pass a fitted one (e.g. "
                                   "fennec.space.store.load_space(DIR)) or init=None")
    return recs

def _info_dict(info: Any, model_id: str) -> dict[str, Any]:
    return {"id": model_id, "architecture": getattr(info, "architecture", None),
            "pretraining": getattr(info, "pretraining", None), "added": bool(getattr(info, "added", False))}


def _card_dict(card: Any) -> dict[str, Any]:
    return {"name": str(card.name), "class_names": list(getattr(card, "class_names", None) or []),
            "description": getattr(card, "description", None), "n_classes": getattr(card, "n_classes", None),
            "n_images": getattr(card, "n_images", None)}
