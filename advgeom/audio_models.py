"""Trained word-recognition networks (deterministic, stochastic, adversarially trained), cached on disk.

The auditory counterpart of :func:`advgeom.train.get_trained_model`. Three kinds of
:func:`advgeom.models.wordnet.word_resnet` are trained on the training split of a synthetic
spoken-word corpus (:func:`advgeom.data.audio.synth_corpus`):

* ``deterministic``: cochleagram -> small ResNet (the standard network);
* ``stochastic``: the same with reparameterised Poisson-like auditory-nerve noise of ``gain``
  after the cochleagram (:func:`advgeom.models.cochlea.auditory_nerve_noise`; Dapello, Feather
  et al. NeurIPS 2021), on at training and test time;
* ``adversarial``: the trained deterministic network fine-tuned on waveform adversarial examples
  (fast FGSM with random start, Wong, Rice & Kolter ICLR 2020, in the waveform ``adv_norm`` ball
  of radius ``adv_eps``), via :func:`advgeom.train.train_model`, which also watches for collapse.

The cochlear front end has no learnable parameters and the nerve noise comes after it, so the
deterministic and stochastic networks are trained from the ``nerve`` stage on cochleagrams
computed once per corpus (:func:`cochleagrams`); the adversarial network has to see the
gradient through the cochleagram and is trained on waveforms. Evaluation and attacks always
run on the whole waveform model. After training, BatchNorm statistics are recomputed over the
training inputs with the final weights (:func:`refresh_batchnorm`: running averages lag behind
the weights after short training).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from advgeom.cache import cache_path, cached
from advgeom.checks import check_choice, check_float, check_int
from advgeom.data.audio import WordCorpus, corpus_params, synth_corpus
from advgeom.device import default_device
from advgeom.models.staged import StagedNet
from advgeom.models.wordnet import build_word_net, stages_from, word_resnet
from advgeom.train import checkpoint_network, load_checkpoint, save_checkpoint, train_model

KINDS = ("deterministic", "stochastic", "adversarial")
WAVEFORM_BOUNDS = (-1.0, 1.0)  # valid waveform range (int16 full scale)
DEFAULT_GAIN = 30.0  # auditory-nerve noise gain of the stochastic network (spikes per unit cochleagram)
WORD_CHECKPOINT_FORMAT = 1
# Training recipes (SGD + one-cycle via advgeom.train.train_model); chosen to train in minutes on 2 CPU cores.
# ``init="deterministic"``: start from the trained deterministic network (adversarial fine-tuning, which
# costs a fraction of adversarial training from scratch: every step back-propagates through the cochleagram).
# fmt: off
RECIPES: dict[str, dict[str, Any]] = {
    "deterministic": {"epochs": 15, "batch_size": 128, "lr": 0.2, "weight_decay": 5e-4, "adversarial": None},
    "stochastic": {"epochs": 15, "batch_size": 128, "lr": 0.2, "weight_decay": 5e-4, "adversarial": None},
    "adversarial": {"epochs": 2, "batch_size": 128, "lr": 0.05, "weight_decay": 5e-4, "adversarial": "fgsm",
                    "eps": 0.3, "norm": "l2", "init": "deterministic"},
}
# fmt: on


def word_recipe(
    kind: str, *, epochs: int | None = None, adv_eps: float | None = None, adv_norm: str | None = None
) -> dict[str, Any]:
    """The training recipe of ``kind`` (see :data:`RECIPES`), with ``epochs`` / adversarial budget overridden."""
    check_choice("kind", kind, KINDS)
    recipe = dict(RECIPES[kind])
    if epochs is not None:
        recipe["epochs"] = check_int("epochs", epochs, minimum=1)
    if kind == "adversarial":
        if adv_eps is not None:
            recipe["eps"] = check_float("adv_eps", adv_eps, minimum=0.0)
        if adv_norm is not None:
            recipe["norm"] = check_choice("adv_norm", adv_norm, ["linf", "l2"])
    elif adv_eps is not None or adv_norm is not None:
        raise ValueError(f"adv_eps / adv_norm apply to kind='adversarial' only, not kind={kind!r}")
    return recipe


def word_corpus(corpus: Mapping[str, Any] | None = None, *, progress: bool = True) -> WordCorpus:
    """The synthetic corpus described by ``corpus`` (keyword arguments of :func:`synth_corpus`; None = defaults)."""
    kwargs = dict(corpus or {})
    for key in ("cache", "progress", "workers"):
        if key in kwargs:
            raise ValueError(f"corpus option {key!r} is not a corpus parameter; allowed: those of corpus_params()")
    return synth_corpus(**kwargs, progress=progress)


@torch.no_grad()
def cochleagrams(net: StagedNet, waveforms: torch.Tensor, *, batch_size: int = 250) -> torch.Tensor:
    """The deterministic cochleagrams ``(N, channels, frames)`` of ``waveforms`` (N, T), from ``net``'s first stage."""
    coch = net.cochleagram
    device = next((b.device for b in net.buffers()), torch.device("cpu"))
    out = [coch(waveforms[i : i + batch_size].to(device)).cpu() for i in range(0, len(waveforms), batch_size)]
    return torch.cat(out)


@torch.no_grad()
def refresh_batchnorm(module: nn.Module, inputs: torch.Tensor, *, batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm's running mean and variance as exact averages over ``inputs`` (train-mode passes).

    Noise stages stay active (as during training). Returns ``module`` in eval mode.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return module.eval()
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    module.train()
    try:
        for i in range(0, len(inputs), batch_size):
            module(inputs[i : i + batch_size].to(device))
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum
        module.eval()
    return module


def word_model_params(
    kind: str = "deterministic",
    *,
    corpus: Mapping[str, Any] | None = None,
    gain: float = DEFAULT_GAIN,
    epochs: int | None = None,
    adv_eps: float | None = None,
    adv_norm: str | None = None,
    widths: tuple[int, ...] = (16, 32, 64),
    seed: int = 0,
) -> dict[str, Any]:
    """Every parameter that shapes a trained word network (the checkpoint's key), validated."""
    from advgeom.data import synth as _synth

    kind = check_choice("kind", kind, KINDS)
    corpus_kw = dict(corpus or {})
    p = corpus_params(**corpus_kw)
    versions = {s: _synth.synth_version(s) for s in p["synths"]}
    gain = check_float("gain", gain, minimum=1e-6)
    net = word_resnet(len(p["words"]), gain=gain if kind == "stochastic" else None, widths=tuple(widths),
                      sample_rate=p["sample_rate"])  # fmt: skip
    recipe = word_recipe(kind, epochs=epochs, adv_eps=adv_eps, adv_norm=adv_norm)
    if recipe.get("init"):  # the starting network's own parameters are part of the key
        recipe["init"] = word_model_params(recipe["init"], corpus=corpus, gain=gain, widths=widths, seed=seed)
    return {
        "format": WORD_CHECKPOINT_FORMAT,
        "kind": kind,
        "corpus": {**p, "versions": versions},
        "model": net.config,
        "train": recipe,
        "seed": check_int("seed", seed, minimum=0),
    }


def get_word_model(
    kind: str = "deterministic",
    *,
    corpus: Mapping[str, Any] | None = None,
    gain: float = DEFAULT_GAIN,
    epochs: int | None = None,
    adv_eps: float | None = None,
    adv_norm: str | None = None,
    widths: tuple[int, ...] = (16, 32, 64),
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> StagedNet:
    """A trained word network of ``kind`` in eval mode: loaded from ``cache_dir()/word-models`` or trained and cached.

    ``corpus``: keyword arguments of :func:`advgeom.data.audio.synth_corpus` (None = its defaults:
    20 words, 200 training and 50 test clips per word); the network is trained on its ``train``
    split. ``gain``: auditory-nerve noise gain (``stochastic`` only; larger = less noise).
    ``epochs``, ``adv_eps``, ``adv_norm`` override the kind's recipe (:data:`RECIPES`);
    ``widths`` are the ResNet stage widths. The checkpoint is keyed by every parameter (corpus,
    synthesiser versions, architecture, recipe, seed), written atomically, and holds those
    parameters, which are compared on load: a corrupt or mismatched file is rebuilt, never used.
    The model carries ``train_history`` (with ``train_seconds``), ``checkpoint_path`` (its id for
    the geometry caches) and ``words`` (the label names).
    """
    params = word_model_params(kind, corpus=corpus, gain=gain, epochs=epochs, adv_eps=adv_eps, adv_norm=adv_norm,
                               widths=widths, seed=seed)  # fmt: skip
    path = cache_path("word-models", params, ".pt")
    device = torch.device(device) if device is not None else default_device()

    def compute() -> dict[str, Any]:
        data = word_corpus(corpus, progress=progress).split("train")
        x, y = data.tensors()
        torch.manual_seed(seed)
        net = build_word_net(params["model"]).to(device)
        recipe = dict(params["train"])
        init = recipe.pop("init", None)
        if init:
            start = get_word_model(init["kind"], corpus=corpus, gain=gain, widths=widths, seed=seed,
                                   progress=progress, device=device)  # fmt: skip
            net.load_state_dict(start.state_dict())
        if recipe["adversarial"] is None:
            # the front end is fixed and the noise comes after it: train from the nerve stage on cochleagrams
            inputs = cochleagrams(net, x)
            trainable = stages_from(net, "nerve")
            history = train_model(trainable, (inputs, y), seed=seed, progress=progress, device=device, **recipe)
            refresh_batchnorm(trainable, inputs)
        else:
            idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 1))[:256]
            history = train_model(
                net, (x, y), seed=seed, progress=progress, device=device, bounds=WAVEFORM_BOUNDS,
                check_data=(x[idx], y[idx]), check_steps=5, **recipe,
            )  # fmt: skip
            refresh_batchnorm(net, x)
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        return {"params": params, "state_dict": state, "history": history}

    build = partial(build_word_net, params["model"])
    ckpt = cached(path, compute, save_checkpoint, lambda p: load_checkpoint(p, params, build))
    net = checkpoint_network(ckpt, build, path, device)
    net.words = tuple(params["corpus"]["words"])
    return net
