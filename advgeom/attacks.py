"""Projected gradient descent attacks under L-inf, L2 and L1, with EOT for stochastic models.

Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards deep learning models resistant to
adversarial attacks", ICLR 2018 (PGD: uniform random start in the ball, signed / normalised
gradient steps, projection). L1: sparse L1 descent (Tramer & Boneh, NeurIPS 2019): step on
the coordinates whose |gradient| is in the top (1 - q) fraction, skipping coordinates already
at a bound, then the exact Euclidean projection onto the L1 ball (Duchi, Shalev-Shwartz,
Singer & Chandra, ICML 2008). EOT (Athalye, Carlini & Wagner, ICML 2018; Athalye et al. 2018):
gradients averaged over ``eot`` noise draws per step. The best iterate of every example is
kept across steps and restarts (largest logit margin: misclassified first, then closest to it);
on stochastic models, whose margins are noisy estimates, the last iterate of each run.

Stochastic models are scored separately from the attack, by the mean accuracy over many
fresh noise draws (:func:`accuracy`). Inputs may be any tensor of finite numbers (images,
waveforms, ...; NaN or inf is refused, :func:`check_inputs`); ``bounds`` is the valid input range,
``None`` for unbounded inputs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from advgeom.checks import Interval, Options, Satisfies, check_choice, validate_params
from advgeom.data.batches import iter_batches
from advgeom.device import model_device
from advgeom.models.noise import is_stochastic, noise_modules, seeded_noise, split_at_noise
from advgeom.timing import timed

NORMS = ("linf", "l2", "l1")
LOSSES = ("ce", "margin")
Bounds = tuple[float, float] | None
DEFAULT_EOT = 8  # noise draws per attack step for stochastic models (VOneNet's evaluation uses 8)
DEFAULT_SCORE_DRAWS = 16  # fresh noise draws when scoring a stochastic model


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[torch.Generator | None]:
    """Fix the global RNG (the models' noise) and a local generator (random starts) for the block."""
    if seed is None:
        yield None
        return
    with seeded_noise(seed, device):
        yield torch.Generator(device=device).manual_seed(seed + 1)


def check_bounds(bounds: Bounds) -> Bounds:
    """``bounds`` as ``(low, high)`` floats with ``low < high``, or None (unbounded inputs); ValueError otherwise."""
    if bounds is None:
        return None
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"bounds={bounds!r} must be (low, high) with low < high, or None for unbounded inputs"
        ) from err
    if not lo < hi:
        raise ValueError(f"bounds={bounds!r} must be (low, high) with low < high, or None for unbounded inputs")
    return lo, hi


def check_losses(loss: str | Sequence[str]) -> list[str]:
    """The attack objectives ``loss`` names (one of :data:`LOSSES` or a non-empty sequence of them), as a list."""
    try:
        losses = [loss] if isinstance(loss, str) else list(loss)
    except TypeError as err:
        raise ValueError(f"loss={loss!r} is not allowed; choose from {list(LOSSES)} or a sequence of them") from err
    if not losses:
        raise ValueError(f"loss={loss!r} is empty; choose from {list(LOSSES)} or a sequence of them")
    for name in losses:
        check_choice("loss", name, LOSSES)
    return losses


def check_inputs(name: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` if it holds only finite numbers, else ValueError naming ``name`` and the first bad entry (a NaN input
    made every gradient NaN and the attack return NaN, silently)."""
    if x.is_floating_point() or x.is_complex():
        bad = ~torch.isfinite(x)
        if bad.any():
            first = tuple(int(i) for i in torch.nonzero(bad)[0])
            raise ValueError(f"{name} holds {int(bad.sum())} values that are not finite numbers (NaN or inf), the "
                             f"first at index {first}: {x[first].item()}")  # fmt: skip
    return x


# Declared argument constraints (advgeom.checks.validate_params) shared by the attack and training entry points.
NORM_CONSTRAINT = Options(NORMS)
EPS_CONSTRAINT = Interval(float, 0.0, None)
BOUNDS_CONSTRAINT = Satisfies(
    check_bounds, (0.0, 1.0), ((1.0, 0.0), (0.5, 0.5), "ab", 3), "(low, high) with low < high, or None"
)
LOSS_CONSTRAINT = Satisfies(check_losses, "ce", ("hinge", (), 3), f"one of {list(LOSSES)} or a sequence of them")
DRAWS_CONSTRAINT = [Interval(int, 1, None), None]  # eot / n_draws: None = the default for stochastic models
SEED_CONSTRAINT = [Interval(int, 0, None), None]


def _flat_norm(v: torch.Tensor, p: float) -> torch.Tensor:
    """Per-example norm, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(p=p, dim=1).view(-1, *([1] * (v.dim() - 1)))


def project_l1_ball(v: torch.Tensor, eps: float) -> torch.Tensor:
    """Exact Euclidean projection of each example (row of ``v.flatten(1)``) onto the L1 ball of radius ``eps``.

    Duchi et al. 2008, Fig. 1: sort |v|, find the threshold theta, soft-threshold.
    """
    flat = v.flatten(1)
    mag = flat.abs()
    inside = mag.sum(dim=1) <= eps
    u, _ = torch.sort(mag, dim=1, descending=True)
    css = u.cumsum(dim=1)
    j = torch.arange(1, u.shape[1] + 1, device=v.device, dtype=v.dtype)
    cond = u - (css - eps) / j > 0
    rho = cond.to(v.dtype).mul(j).argmax(dim=1)  # last index where cond holds (cond is a prefix)
    theta = (css.gather(1, rho[:, None]) - eps) / (rho[:, None] + 1).to(v.dtype)
    projected = torch.sign(flat) * torch.clamp(mag - theta, min=0)
    out = torch.where(inside[:, None], flat, projected)
    return out.view_as(v)


@validate_params({"norm": NORM_CONSTRAINT, "eps": EPS_CONSTRAINT})
def project(delta: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """Project perturbations onto the ``norm`` ball of radius ``eps`` (per example)."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    if norm == "l2":
        return delta * torch.clamp(eps / (_flat_norm(delta, 2) + 1e-12), max=1.0)
    return project_l1_ball(delta, eps)


@validate_params({"norm": NORM_CONSTRAINT, "eps": EPS_CONSTRAINT})
def random_in_ball(
    shape: torch.Size | tuple[int, ...],
    norm: str,
    eps: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Points drawn uniformly from the ``norm`` ball of radius ``eps`` (one per example, first dim = batch)."""
    d = int(torch.Size(shape)[1:].numel())
    kw: dict[str, Any] = {"generator": generator, "device": device}
    if norm == "linf":
        return (torch.rand(shape, **kw) * 2 - 1) * eps
    if norm == "l2":
        direction = torch.randn(shape, **kw)
        direction = direction / (_flat_norm(direction, 2) + 1e-12)
        radius = torch.rand(shape[0], **kw) ** (1.0 / d)
        return direction * (eps * radius).view(-1, *([1] * (len(shape) - 1)))
    # uniform in the L1 ball: random signs times the first d of d+1 normalised exponentials
    expo = -torch.log(torch.rand(shape[0], d + 1, **kw).clamp_min(1e-12))
    mags = (expo[:, :d] / expo.sum(dim=1, keepdim=True)).view(shape)
    signs = torch.randint(0, 2, shape, **kw) * 2 - 1
    return eps * mags * signs


def clip_to_bounds(x: torch.Tensor, bounds: Bounds) -> torch.Tensor:
    """``x`` clamped to ``bounds = (low, high)`` (unchanged when None)."""
    return x if bounds is None else x.clamp(*bounds)


def _objective(logits: torch.Tensor, y: torch.Tensor, targeted: bool, loss: str = "ce") -> torch.Tensor:
    """Per-example loss to ascend: cross-entropy (``ce``) or logit margin (``margin``, Carlini & Wagner 2017).

    Cross-entropy is to the true class, or minus it to the target class. It is computed in
    float64: in float32 the gradient of a confidently classified example rounds ``p_true - 1``
    to 0 and points the wrong way.
    """
    if loss == "margin":
        return _margin(logits, y, targeted)
    ce = F.cross_entropy(logits.double(), y, reduction="none").to(logits.dtype)
    return -ce if targeted else ce


def _margin(logits: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Attack success margin: best other logit minus the true logit (target logit minus best other when targeted).

    Positive exactly when the attack succeeds; unlike the cross-entropy it does not saturate,
    so it ranks iterates of confidently classified examples too.
    """
    own = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.scatter(1, y[:, None], -float("inf")).max(dim=1).values
    return own - other if targeted else other - own


def _eot_gradient(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eot: int,
    targeted: bool,
    need_grad: bool = True,
    loss_name: str = "ce",
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """Gradient of the objective averaged over ``eot`` forward passes, with the mean loss and mean logits.

    When the model starts with a noise-free stage (:func:`~advgeom.models.noise.split_at_noise`:
    a cochleagram, a Gabor filter bank) that stage runs forward and backward once, and only the
    noisy rest runs ``eot`` times: by the chain rule the mean gradient is the prefix's
    vector-Jacobian product with the mean gradient at its output, the same number at a fraction
    of the cost.
    """
    split = split_at_noise(model) if eot > 1 else None
    prefix, rest = split if split is not None else (None, model)
    with torch.enable_grad() if need_grad else torch.no_grad():
        x_in = x.detach().requires_grad_(need_grad)
        h = prefix(x_in) if prefix is not None else x_in
    grad = torch.zeros_like(h) if need_grad else None
    loss_sum = torch.zeros(len(x), device=x.device)
    logit_sum: torch.Tensor | float = 0.0
    for _ in range(eot):
        with torch.enable_grad() if need_grad else torch.no_grad():
            hi = h.detach().requires_grad_(need_grad)
            logits = rest(hi)
            loss = _objective(logits, y, targeted, loss_name)
            if need_grad:
                grad += torch.autograd.grad(loss.sum(), hi)[0]
        loss_sum += loss.detach()
        logit_sum = logit_sum + logits.detach()
    if grad is not None and prefix is not None:
        grad = torch.autograd.grad(h, x_in, grad_outputs=grad)[0]
    return (grad / eot if grad is not None else None), loss_sum / eot, logit_sum / eot


def _step(
    x_adv: torch.Tensor, grad: torch.Tensor, norm: str, step_size: float, bounds: Bounds, l1_quantile: float
) -> torch.Tensor:
    if norm == "linf":
        return x_adv + step_size * grad.sign()
    if norm == "l2":
        return x_adv + step_size * grad / (_flat_norm(grad, 2) + 1e-12)
    # sparse L1 descent: top (1 - q) fraction of |grad|, excluding coordinates that cannot move further
    g = grad.clone()
    if bounds is not None:
        blocked = ((x_adv <= bounds[0]) & (g < 0)) | ((x_adv >= bounds[1]) & (g > 0))
        g = g.masked_fill(blocked, 0.0)
    flat = g.flatten(1).abs()
    k = max(1, int(round((1.0 - l1_quantile) * flat.shape[1])))
    kth = flat.topk(k, dim=1).values[:, -1:]
    mask = (flat >= kth) & (flat > 0)
    direction = torch.sign(g.flatten(1)) * mask
    direction = direction / direction.abs().sum(dim=1, keepdim=True).clamp_min(1.0)
    return x_adv + step_size * direction.view_as(x_adv)


SCHEDULES = ("constant", "linear")


def other_schedule(schedule: str) -> str:
    """The step-size schedule of :data:`SCHEDULES` that is not ``schedule`` (a chapter's comparison of the two)."""
    check_choice("schedule", schedule, SCHEDULES)
    return next(s for s in SCHEDULES if s != schedule)


def schedule_factor(schedule: str, t: int, steps: int) -> float:
    """Step ``t`` of ``steps``: the factor on the step size. ``constant``: 1; ``linear``: decays from 2 to
    2 / steps, a mean of about 1, so the attack travels as far as the constant one."""
    return 1.0 if schedule == "constant" else 2.0 * (steps - t) / steps


def _draws(model: nn.Module, draws: int | None, default: int) -> int:
    """Noise draws to average: ``draws`` (``default`` if None) for a stochastic model, 1 otherwise.

    A model without active noise stages, in eval mode, gives the same output on every pass, so
    averaging over draws would repeat one pass (``eot`` / ``n_draws`` may then be given, and are
    validated, but cost nothing).
    """
    if not is_stochastic(model) and not model.training:
        return 1
    return default if draws is None else draws


@validate_params(
    {
        "eps": EPS_CONSTRAINT,
        "norm": NORM_CONSTRAINT,
        "steps": Interval(int, 0, None),
        "step_size": [Interval(float, 0.0, None), None],
        "restarts": Interval(int, 1, None),
        "eot": DRAWS_CONSTRAINT,
        "bounds": BOUNDS_CONSTRAINT,
        "l1_quantile": Interval(float, 0.0, 1.0),
        "loss": LOSS_CONSTRAINT,
        "seed": SEED_CONSTRAINT,
        "schedule": Options(SCHEDULES),
    }
)
@timed("attacks")
def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 20,
    step_size: float | None = None,
    restarts: int = 1,
    eot: int | None = None,
    random_start: bool = True,
    targeted: bool = False,
    bounds: Bounds = (0.0, 1.0),
    l1_quantile: float = 0.99,
    loss: str | Sequence[str] = "ce",
    seed: int | None = None,
    stop_when_fooled: bool = False,
    schedule: str = "constant",
) -> torch.Tensor:
    """PGD adversarial examples for the batch ``x`` (labels ``y``; target labels when ``targeted``).

    ``eps`` is the radius of the ``norm`` ball (``linf``, ``l2``, ``l1``), ``step_size``
    defaults to ``eps / 4``; ``eot`` noise draws per gradient on stochastic models (default 8;
    a model without active noise, in eval mode, runs once per step whatever ``eot`` says);
    ``bounds`` the valid input range (None: unbounded); ``l1_quantile`` the percentile q of
    |gradient| above which sparse L1 descent steps; ``loss`` the objective, ``ce``
    (cross-entropy) or ``margin`` (logit margin), or a sequence of them run in turn
    (``restarts`` runs each). Each example returns its best iterate over steps and restarts:
    the one of largest margin (best other logit minus true logit), so a misclassified one (the
    target reached) if any. On a stochastic model the margins are estimates (mean logits over the
    EOT draws), and the largest of a run's noisy estimates is a lucky draw more often than a better
    iterate: there each run's last iterate is kept, and the runs compared by its margin (on a VOne
    net, EOT 8, 10 steps at L-inf 0.03: robust accuracy 0.571 with the last iterate, 0.576 with the
    best of the steps; with one run no final scoring pass is needed). The model is run as given
    (call ``eval()`` first).

    ``schedule`` sets the step sizes over the steps (:func:`schedule_factor`): ``constant`` (``step_size`` at every
    step) or ``linear`` (from twice ``step_size`` down to ``2 * step_size / steps``: coarse steps first, fine ones at
    the end, what APGD's step-size halving does adaptively, Croce & Hein 2020). Where the noise makes every EOT
    gradient a rough estimate it finds more at the same cost: on a VOne net fine-tuned at 32 times its noise, L-inf
    0.05, 20 steps x 8 draws, robust accuracy 0.563 against 0.575 with constant steps, and 0.549 against 0.558 at
    80 steps x 32 draws.

    ``stop_when_fooled`` (for accuracy, where only whether an example is fooled matters): on a
    deterministic model an example leaves the attack (later steps, restarts and losses) as soon as
    it is misclassified, which it stays; the accuracy is the same, the cost much lower at large
    eps. It is ignored for stochastic models, whose fresh scoring draws can still classify such an
    example correctly, and for frozen noise (:func:`~advgeom.models.frozen_noise`: one draw per batch
    shape, so the remaining examples would meet other noise), and must stay off where the adversarial
    examples themselves are used (geometry).
    """
    step_size = eps / 4 if step_size is None else step_size
    eot = _draws(model, eot, DEFAULT_EOT)
    losses = loss  # a list (check_losses)
    check_inputs("x", x)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}")
    device = model_device(model)
    x0, y = x.detach().to(device), y.to(device)
    if eps == 0:
        return x.detach().clone()
    best_x, best_score = x0.clone(), torch.full((len(x0),), -float("inf"), device=device)
    noisy = is_stochastic(model)  # margins are estimates over eot draws: keep each run's last iterate
    # examples leave only a deterministic model's attack: frozen noise is one draw per batch *shape*, so after
    # an exit the remaining examples would meet other noise
    frozen = any(m.active and m.frozen_seed is not None for m in noise_modules(model))
    early = stop_when_fooled and not noisy and not frozen and not model.training
    runs = [name for name in losses for _ in range(restarts)]
    with _seeded(seed, device) as gen:
        for loss_name in runs:
            idx = torch.nonzero(best_score <= 0).flatten() if early else torch.arange(len(x0), device=device)
            if len(idx) == 0:
                break
            start, target = x0[idx], y[idx]
            delta = random_in_ball(start.shape, norm, eps, generator=gen, device=device) if random_start else 0 * start
            x_adv = clip_to_bounds(start + delta, bounds)
            for t in range(steps + 1):
                if noisy and t == steps and len(runs) == 1:  # nothing to compare with: no scoring pass
                    best_x = x_adv
                    break
                grad, _, logits = _eot_gradient(model, x_adv, target, eot, targeted, t < steps, loss_name)
                if t == steps or not noisy:
                    score = _margin(logits, target, targeted)
                    better = score > best_score[idx]
                    best_x[idx[better]], best_score[idx[better]] = x_adv[better], score[better]
                if early:  # the fooled examples leave the attack
                    keep = best_score[idx] <= 0
                    idx, start, target, x_adv = idx[keep], start[keep], target[keep], x_adv[keep]
                    grad = grad[keep] if grad is not None else None
                if t == steps or len(idx) == 0:
                    break
                x_adv = _step(x_adv, grad, norm, step_size * schedule_factor(schedule, t, steps), bounds, l1_quantile)
                x_adv = clip_to_bounds(start + project(x_adv - start, norm, eps), bounds).detach()
    return best_x.to(x.device)


@validate_params({"eps": EPS_CONSTRAINT, "eot": DRAWS_CONSTRAINT, "bounds": BOUNDS_CONSTRAINT, "seed": SEED_CONSTRAINT})
@timed("attacks")
def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    eot: int | None = None,
    targeted: bool = False,
    bounds: Bounds = (0.0, 1.0),
    seed: int | None = None,
) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one L-inf step of size ``eps`` from ``x``."""
    check_inputs("x", x)
    device = model_device(model)
    x0, y = x.detach().to(device), y.to(device)
    with _seeded(seed, device):
        grad, _, _ = _eot_gradient(model, x0, y, _draws(model, eot, DEFAULT_EOT), targeted)
    return clip_to_bounds(x0 + eps * grad.sign(), bounds).detach().to(x.device)


@validate_params({"n_draws": DRAWS_CONSTRAINT, "batch_size": Interval(int, 1, None), "seed": SEED_CONSTRAINT})
@torch.no_grad()
@timed("attacks")
def example_scores(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    n_draws: int | None = None,
    batch_size: int = 500,
    seed: int | None = None,
) -> np.ndarray:
    """Per example, the fraction of ``n_draws`` fresh noise draws that classify it as ``y`` (0 or 1 when deterministic).

    ``n_draws`` (default 16) applies to stochastic models; a model without active noise, in eval
    mode, is scored once (every draw would be the same). A fixed ``seed`` gives every call the same
    noise draws (common random numbers when comparing two input sets).
    """
    n_draws = _draws(model, n_draws, DEFAULT_SCORE_DRAWS)
    if len(x) == 0:
        raise ValueError("accuracy of an empty set of inputs is undefined")
    check_inputs("x", x)
    device = model_device(model)
    split = split_at_noise(model) if n_draws > 1 else None
    prefix, rest = split if split is not None else (lambda t: t, model)  # noise-free prefix once per batch
    scores = []
    with _seeded(seed, device):
        for xb, yb in iter_batches((x, y), batch_size):
            hb, yb = prefix(xb.to(device)), yb.to(device)
            correct = torch.zeros(len(yb), dtype=torch.float64, device=device)
            for _ in range(n_draws):
                correct += rest(hb).argmax(dim=1) == yb
            scores.append((correct / n_draws).cpu().numpy())
    return np.concatenate(scores)


def accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    n_draws: int | None = None,
    batch_size: int = 500,
    seed: int | None = None,
) -> float:
    """Fraction of ``x`` classified as ``y``, averaged over ``n_draws`` fresh noise draws: the mean of
    :func:`example_scores` (same arguments)."""
    return float(example_scores(model, x, y, n_draws=n_draws, batch_size=batch_size, seed=seed).mean())


@validate_params(
    {
        "eps": EPS_CONSTRAINT,
        "norm": NORM_CONSTRAINT,
        "loss": LOSS_CONSTRAINT,
        "n_draws": DRAWS_CONSTRAINT,
        "batch_size": Interval(int, 1, None),
        "seed": SEED_CONSTRAINT,
    }
)
@timed("attacks")
def robust_scores(
    model: nn.Module,
    data: Any,
    *,
    eps: float,
    norm: str = "linf",
    loss: str | Sequence[str] = ("ce", "margin"),
    n_draws: int | None = None,
    batch_size: int = 250,
    progress: bool = False,
    seed: int | None = 0,
    **attack_kwargs: Any,
) -> np.ndarray:
    """Per-example scores (see :func:`example_scores`) of the examples attacked by :func:`pgd`, over a data set.

    ``data``: (x, y) tensors, a TensorDataset, or a DataLoader of (x, y) batches. ``eps=0``
    gives the clean scores. By default each example is attacked with the cross-entropy and
    then the margin loss, keeping the better (on small Fashion-MNIST nets this closes most of
    the gap to AutoAttack); on a deterministic model an example already fooled is not attacked
    further (``stop_when_fooled``: the same accuracy, at a fraction of the cost). Extra keyword
    arguments go to :func:`pgd` (steps, eot, bounds, ...). ``seed`` fixes the attack's random starts
    and the scoring draws (batch i uses seed + i).
    """
    scores = []
    batches = iter_batches(data, batch_size)
    n = len(batches) if hasattr(batches, "__len__") else None
    attack_kwargs.setdefault("stop_when_fooled", True)
    for i, (xb, yb) in enumerate(tqdm(batches, total=n, desc=f"PGD {norm} eps={eps:g}", disable=not progress)):
        bseed = None if seed is None else seed + i
        x_adv = pgd(model, xb, yb, eps=eps, norm=norm, loss=loss, seed=bseed, **attack_kwargs) if eps > 0 else xb
        scores.append(example_scores(model, x_adv, yb, n_draws=n_draws, batch_size=batch_size, seed=bseed))
    if not scores:
        raise ValueError("robust_accuracy got no data")
    return np.concatenate(scores)


def robust_accuracy(model: nn.Module, data: Any, **kwargs: Any) -> float:
    """Accuracy under :func:`pgd` over a data set, scored over fresh draws: the mean of :func:`robust_scores`
    (same arguments)."""
    return float(robust_scores(model, data, **kwargs).mean())
