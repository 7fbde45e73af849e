"""Training: standard and adversarial (fast FGSM with random start, or PGD), seeded, cached.

Adversarial training: Madry et al. (ICLR 2018), PGD; Wong, Rice & Kolter, "Fast is better
than free" (ICLR 2020), FGSM from a uniform random start with step 1.25 eps. Fast training can
collapse ("catastrophic overfitting"): the PGD accuracy on a fixed check set is measured each
epoch and, if it falls by more than ``collapse_drop`` below its best, the best weights are
restored and training stops (Wong et al.'s early stopping).

:func:`train_model` takes any ``nn.Module`` and any data (tensors, a TensorDataset or a
DataLoader of (x, y) batches), so it serves images and sounds alike.
:func:`get_trained_model` is the one-call cached getter the notebooks use.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from advgeom.attacks import NORMS, Bounds, _bounds, _clip, accuracy, pgd, project, random_in_ball
from advgeom.cache import cache_path, cached
from advgeom.checks import check_choice, check_float, check_int
from advgeom.device import default_device

ADVERSARIAL_METHODS = (None, "fgsm", "pgd")
CHECKPOINT_FORMAT = 1

# Default recipes per variant (Fashion-MNIST; chosen so the four variants train in minutes on 2 CPU cores).
_BASE = {"epochs": 8, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "adversarial": None}
RECIPES: dict[str, dict[str, Any]] = {
    "standard": dict(_BASE),
    "adversarial": {**_BASE, "adversarial": "fgsm", "eps": 0.1, "norm": "linf"},
    "vone": dict(_BASE),
    "vone_nonoise": dict(_BASE),
}
DATASET_EPS = {"fashion-mnist": 0.1, "cifar10": 8 / 255}


def _as_tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    if isinstance(data, torch.utils.data.TensorDataset):
        return data.tensors[0], data.tensors[1]
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        return data[0], data[1]
    return None


def _epoch_batches(data: Any, batch_size: int, generator: torch.Generator) -> tuple[Any, int]:
    """Shuffled (x, y) batches for one epoch, and their number."""
    tensors = _as_tensors(data)
    if tensors is None:
        return data, len(data)
    x, y = tensors
    order = torch.randperm(len(x), generator=generator)
    n = (len(x) + batch_size - 1) // batch_size
    return ((x[order[i * batch_size : (i + 1) * batch_size]], y[order[i * batch_size : (i + 1) * batch_size]])
            for i in range(n)), n  # fmt: skip


def fgsm_random_start(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    alpha: float | None = None,
    bounds: Bounds = (0.0, 1.0),
) -> torch.Tensor:
    """Wong et al. 2020: a uniform random point in the ball, one gradient step of ``alpha`` (1.25 eps), projection.

    L-inf (signed gradient) or L2 (normalised gradient).
    The model is run in its current mode (training mode during adversarial training).
    """
    check_choice("norm", norm, ("linf", "l2"))
    alpha = 1.25 * eps if alpha is None else alpha
    x = x.detach()
    x_adv = _clip(x + random_in_ball(x.shape, norm, eps, device=x.device), bounds).requires_grad_(True)
    grad = torch.autograd.grad(F.cross_entropy(model(x_adv), y), x_adv)[0]
    if norm == "linf":
        step = alpha * grad.sign()
    else:
        step = alpha * grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
    return _clip(x + project(x_adv.detach() + step - x, norm, eps), bounds).detach()


def train_model(
    model: nn.Module,
    data: Any,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    adversarial: str | None = None,
    eps: float = 0.1,
    norm: str = "linf",
    pgd_steps: int = 7,
    bounds: Bounds = (0.0, 1.0),
    check_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    check_steps: int = 10,
    collapse_drop: float = 0.2,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place with SGD (Nesterov momentum) and a one-cycle learning-rate schedule.

    ``adversarial``: None (standard training), ``"fgsm"`` (fast AT, :func:`fgsm_random_start`)
    or ``"pgd"`` (``pgd_steps`` steps of 2.5 eps / steps). For adversarial training, the PGD
    accuracy on ``check_data`` (default: 512 seeded training examples) is measured after each
    epoch to catch collapse. Returns the history (per-epoch loss, accuracy, check accuracy, seconds;
    total wall ``train_seconds`` and process ``cpu_seconds``).
    The model is left in ``eval()`` mode.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_choice("adversarial", adversarial, ADVERSARIAL_METHODS)
    norm = check_choice("norm", norm, NORMS)
    eps = check_float("eps", eps, minimum=0.0)
    bounds = _bounds(bounds)
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(check_int("seed", seed))
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    _, steps_per_epoch = _epoch_batches(data, batch_size, torch.Generator().manual_seed(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    if adversarial is not None and check_data is None:
        tensors = _as_tensors(data)
        if tensors is not None:
            idx = torch.randperm(len(tensors[0]), generator=torch.Generator().manual_seed(seed + 1))[:512]
            check_data = (tensors[0][idx], tensors[1][idx])
    history: dict[str, Any] = {"epochs": [], "stopped_early": False, "train_seconds": 0.0, "cpu_seconds": 0.0}
    best_check, best_state = -1.0, None
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        model.train()
        batches, n = _epoch_batches(data, batch_size, gen)
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(batches, total=n, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for xb, yb in bar:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if adversarial == "fgsm":
                xb = fgsm_random_start(model, xb, yb, eps=eps, norm=norm, bounds=bounds)
            elif adversarial == "pgd":
                xb = pgd(model, xb, yb, eps=eps, norm=norm, steps=pgd_steps, step_size=2.5 * eps / pgd_steps,
                         bounds=bounds, eot=1)  # fmt: skip
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        record = {"epoch": epoch + 1, "loss": total_loss / seen, "train_accuracy": correct / seen}
        if adversarial is not None and check_data is not None:
            model.eval()
            xc, yc = check_data
            x_adv = pgd(model, xc, yc, eps=eps, norm=norm, steps=check_steps, bounds=bounds, seed=seed)
            record["check_pgd_accuracy"] = accuracy(model, x_adv, yc, seed=seed)
            if record["check_pgd_accuracy"] > best_check:
                best_check, best_state = record["check_pgd_accuracy"], copy.deepcopy(model.state_dict())
            elif record["check_pgd_accuracy"] < best_check - collapse_drop:
                warnings.warn(
                    f"adversarial training collapsed at epoch {epoch + 1} (PGD check accuracy "
                    f"{record['check_pgd_accuracy']:.3f} < best {best_check:.3f}); restoring the best epoch",
                    stacklevel=2,
                )
                model.load_state_dict(best_state)
                history["stopped_early"] = True
                history["epochs"].append(record)
                break
        record["seconds"] = time.perf_counter() - start
        history["epochs"].append(record)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{epochs}: loss {record['loss']:.4f}, train acc {record['train_accuracy']:.4f}"
                + (f", PGD check acc {record['check_pgd_accuracy']:.4f}" if "check_pgd_accuracy" in record else "")
            )
    history["train_seconds"] = time.perf_counter() - start
    history["cpu_seconds"] = time.process_time() - cpu_start  # all threads; less sensitive to a shared machine
    model.eval()
    return history


def training_recipe(variant: str, dataset: str = "fashion-mnist", epochs: int | None = None) -> dict[str, Any]:
    """The default training parameters of ``variant`` on ``dataset`` (``epochs`` overrides the default)."""
    check_choice("variant", variant, list(RECIPES))
    recipe = dict(RECIPES[variant])
    if recipe.get("adversarial"):
        recipe["eps"] = DATASET_EPS[dataset]
    if epochs is not None:
        recipe["epochs"] = check_int("epochs", epochs, minimum=1)
    return recipe


def _training_data(
    dataset: str, data_root: str | Path | None, train_size: int | None, num_classes: int, seed: int
) -> Any:
    from advgeom.data import class_balanced_subset, load_vision_dataset

    data = load_vision_dataset(dataset, "train", data_root)
    if train_size is None:
        return data
    return class_balanced_subset(data, num_classes, train_size // num_classes, seed=seed)


def get_trained_model(
    variant: str = "standard",
    dataset: str = "fashion-mnist",
    *,
    noise_scale: float | None = None,
    noise_mode: str = "neuronal",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    device: torch.device | str | None = None,
    data_root: str | Path | None = None,
    train_size: int | None = None,
) -> nn.Module:
    """A trained network of ``variant`` in eval mode: loaded from ``cache_dir()/models`` or trained and cached.

    The checkpoint is keyed by every parameter that shapes the model (architecture, noise,
    training recipe, seed); the parameters are stored inside it and compared on load, so a
    corrupt or mismatched file is rebuilt, never used. The training history (including
    ``train_seconds``) is attached as ``model.train_history``. ``train_size`` trains on a
    seeded class-balanced subset of that many training images (for quick, small models).
    """
    from advgeom.models.registry import build_from_config, model_config

    config = model_config(variant, dataset, noise_scale=noise_scale, noise_mode=noise_mode)
    recipe = training_recipe(variant, dataset, epochs)
    if train_size is not None:
        recipe["train_size"] = check_int("train_size", train_size, minimum=config["num_classes"])
    params = {"format": CHECKPOINT_FORMAT, "model": config, "train": recipe, "seed": check_int("seed", seed)}
    path = cache_path("models", params, ".pt")
    device = torch.device(device) if device is not None else default_device()

    def compute() -> dict[str, Any]:
        torch.manual_seed(seed)
        net = build_from_config(config)
        fit = {k: v for k, v in recipe.items() if k != "train_size"}
        data = _training_data(dataset, data_root, train_size, config["num_classes"], seed)
        history = train_model(net, data, seed=seed, progress=progress, device=device, **fit)
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        return {"params": params, "state_dict": state, "history": history}

    build = partial(build_from_config, config)
    ckpt = cached(path, compute, save_checkpoint, lambda p: load_checkpoint(p, params, build))
    return checkpoint_network(ckpt, build, path, device)


def save_checkpoint(ckpt: dict[str, Any], path: Path) -> None:
    """Write a ``{"params", "state_dict", "history"}`` checkpoint (to the temporary path ``cached`` gives)."""
    torch.save(ckpt, path)


def load_checkpoint(path: Path, params: dict[str, Any], build: Callable[[], nn.Module]) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` and check it: it must be a checkpoint dict,
    trained with exactly ``params``, and its weights must fit ``build()``. Raises ``ValueError``
    otherwise, so that :func:`advgeom.cache.cached` rebuilds it instead of using it."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not an advgeom model checkpoint")
    if _canonical_json(ckpt.get("params")) != _canonical_json(params):
        raise ValueError(f"{path} was trained with other parameters: {ckpt.get('params')} != {params}")
    build().load_state_dict(ckpt["state_dict"])  # raises if the weights do not fit
    return ckpt


def checkpoint_network(
    ckpt: dict[str, Any], build: Callable[[], nn.Module], path: Path, device: torch.device
) -> nn.Module:
    """``build()`` with the checkpoint's weights, ``train_history`` and ``checkpoint_path`` attached, in eval mode."""
    net = build()
    net.load_state_dict(ckpt["state_dict"])
    net.train_history = ckpt["history"]
    net.checkpoint_path = path
    return net.to(device).eval()


def _canonical_json(value: Any) -> str:
    import json

    from advgeom.cache import _canonical

    return json.dumps(_canonical(value), sort_keys=True)
