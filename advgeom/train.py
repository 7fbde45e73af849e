"""Training: standard and adversarial (fast FGSM with random start, or PGD), seeded; BatchNorm refresh.

Adversarial training: Madry et al. (ICLR 2018), PGD; Wong, Rice & Kolter, "Fast is better
than free" (ICLR 2020), FGSM from a uniform random start with step 1.25 eps. Fast training can
collapse ("catastrophic overfitting"): the PGD accuracy on a fixed check set is measured each
epoch and, if it falls by more than ``collapse_drop`` below its best, the best weights are
restored and training stops (Wong et al.'s early stopping).

:func:`train_model` takes any ``nn.Module`` and any data (tensors, a TensorDataset or a
DataLoader of (x, y) batches, see :mod:`advgeom.data.batches`), so it serves images and sounds
alike. The trained networks of the study, by name and cached, are :mod:`advgeom.zoo`'s.
"""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from advgeom.attacks import (
    BOUNDS_CONSTRAINT,
    EPS_CONSTRAINT,
    NORM_CONSTRAINT,
    Bounds,
    accuracy,
    clip_to_bounds,
    pgd,
    project,
    random_in_ball,
)
from advgeom.checks import Interval, Options, validate_params
from advgeom.data.batches import as_tensor_pair
from advgeom.device import default_device, model_device
from advgeom.timing import timed

ADVERSARIAL_METHODS = (None, "fgsm", "pgd")


def _epoch_batches(data: Any, batch_size: int, generator: torch.Generator) -> tuple[Any, int]:
    """Shuffled (x, y) batches for one epoch, and their number."""
    tensors = as_tensor_pair(data)
    if tensors is None:
        return data, len(data)
    x, y = tensors
    order = torch.randperm(len(x), generator=generator)
    n = (len(x) + batch_size - 1) // batch_size
    return ((x[order[i * batch_size : (i + 1) * batch_size]], y[order[i * batch_size : (i + 1) * batch_size]])
            for i in range(n)), n  # fmt: skip


@validate_params({"norm": Options(("linf", "l2")), "eps": EPS_CONSTRAINT, "bounds": BOUNDS_CONSTRAINT})
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
    alpha = 1.25 * eps if alpha is None else alpha
    x = x.detach()
    x_adv = clip_to_bounds(x + random_in_ball(x.shape, norm, eps, device=x.device), bounds).requires_grad_(True)
    grad = torch.autograd.grad(F.cross_entropy(model(x_adv), y), x_adv)[0]
    if norm == "linf":
        step = alpha * grad.sign()
    else:
        step = alpha * grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
    return clip_to_bounds(x + project(x_adv.detach() + step - x, norm, eps), bounds).detach()


@validate_params(
    {
        "epochs": Interval(int, 1, None),
        "batch_size": Interval(int, 1, None),
        "adversarial": Options(ADVERSARIAL_METHODS),
        "eps": EPS_CONSTRAINT,
        "norm": NORM_CONSTRAINT,
        "bounds": BOUNDS_CONSTRAINT,
        "seed": Interval(int),
    }
)
@timed("training")
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
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device)
    _, steps_per_epoch = _epoch_batches(data, batch_size, torch.Generator().manual_seed(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    if adversarial is not None and check_data is None:
        tensors = as_tensor_pair(data)
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


@torch.no_grad()
def refresh_batchnorm(module: nn.Module, inputs: torch.Tensor, *, batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm's running mean and variance as exact averages over ``inputs`` (train-mode passes).

    Running averages lag behind the weights after short training; this replaces them by the
    statistics of the final weights. Noise stages stay active (as during training). Returns
    ``module`` in eval mode.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return module.eval()
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    device = model_device(module)
    module.train()
    try:
        for i in range(0, len(inputs), batch_size):
            module(inputs[i : i + batch_size].to(device))
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum
        module.eval()
    return module
