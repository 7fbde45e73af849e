"""Trained word-recognition networks: ``word_deterministic``, ``word_stochastic``, ``word_adversarial``.

Three kinds of :func:`advgeom.models.wordnet.word_resnet` trained on the training split of a
synthetic spoken-word corpus (:func:`advgeom.data.audio.synth_corpus`, described by a
:class:`~advgeom.data.audio.CorpusSpec`):

* ``word_deterministic``: cochleagram -> small ResNet (the standard network);
* ``word_stochastic``: the same with reparameterised Poisson-like auditory-nerve noise of ``gain``
  after the cochleagram (:func:`advgeom.models.cochlea.auditory_nerve_noise`; Dapello, Feather
  et al. NeurIPS 2021), on at training and test time;
* ``word_adversarial``: the trained deterministic network fine-tuned on waveform adversarial examples
  (fast FGSM with random start, Wong, Rice & Kolter ICLR 2020, in the waveform ``adv_norm`` ball
  of radius ``adv_eps``), via :func:`advgeom.train.train_model`, which also watches for collapse.

The cochlear front end has no learnable parameters and the nerve noise comes after it, so the
deterministic and stochastic networks are trained from the ``nerve`` stage on cochleagrams
computed once per corpus (:func:`cochleagrams`); the adversarial network has to see the
gradient through the cochleagram and is trained on waveforms. Evaluation and attacks always
run on the whole waveform model (bounds :data:`advgeom.data.audio.WAVEFORM_BOUNDS`). After
training, BatchNorm statistics are recomputed over the training inputs with the final weights
(:func:`advgeom.train.refresh_batchnorm`). Registered (modality ``audio``) in :mod:`advgeom.zoo`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from advgeom.checks import Interval, Options, Satisfies, check_choice, check_float, check_int, validate_params
from advgeom.zoo.checkpoints import CHECKPOINT_FORMAT, cached_network, checkpoint_dict
from advgeom.zoo.registry import register_network

if TYPE_CHECKING:
    import torch

    from advgeom.data.audio import CorpusSpec, WordCorpus
    from advgeom.models.staged import StagedNet

DEFAULT_GAIN = 30.0  # auditory-nerve noise gain of the stochastic network (spikes per unit cochleagram)
DEFAULT_WIDTHS = (16, 32, 64)
# Training recipes (SGD + one-cycle via advgeom.train.train_model); chosen to train in minutes on 2 CPU cores.
# ``init``: start from that trained network (adversarial fine-tuning of the deterministic network, which
# costs a fraction of adversarial training from scratch: every step back-propagates through the cochleagram).
# fmt: off
RECIPES: dict[str, dict[str, Any]] = {
    "word_deterministic": {"epochs": 15, "batch_size": 128, "lr": 0.2, "weight_decay": 5e-4, "adversarial": None},
    "word_stochastic": {"epochs": 15, "batch_size": 128, "lr": 0.2, "weight_decay": 5e-4, "adversarial": None},
    "word_adversarial": {"epochs": 2, "batch_size": 128, "lr": 0.05, "weight_decay": 5e-4, "adversarial": "fgsm",
                         "eps": 0.3, "norm": "l2", "init": "word_deterministic"},
}
# fmt: on


def _check_corpus(value: Any) -> CorpusSpec:
    from advgeom.data.audio import CorpusSpec

    if not isinstance(value, CorpusSpec):
        raise ValueError(
            f"corpus={value!r} is not a CorpusSpec; describe the corpus as advgeom.data.audio.CorpusSpec(...) "
            "(or None for the default corpus)"
        )
    return value


CORPUS_CONSTRAINT = [Satisfies(_check_corpus, None, ({"words": ("yes", "no")}, "yes"), "a CorpusSpec"), None]


def word_recipe(
    name: str, *, epochs: int | None = None, adv_eps: float | None = None, adv_norm: str | None = None
) -> dict[str, Any]:
    """The training recipe of word network ``name`` (see :data:`RECIPES`), with ``epochs`` / adversarial budget
    overridden."""
    check_choice("name", name, list(RECIPES))
    recipe = dict(RECIPES[name])
    if epochs is not None:
        recipe["epochs"] = check_int("epochs", epochs, minimum=1)
    if name == "word_adversarial":
        if adv_eps is not None:
            recipe["eps"] = check_float("adv_eps", adv_eps, minimum=0.0)
        if adv_norm is not None:
            recipe["norm"] = check_choice("adv_norm", adv_norm, ["linf", "l2"])
    elif adv_eps is not None or adv_norm is not None:
        raise ValueError(f"adv_eps / adv_norm apply to 'word_adversarial' only, not name={name!r}")
    return recipe


def word_corpus(corpus: CorpusSpec | None = None, *, progress: bool = True) -> WordCorpus:
    """The synthetic corpus ``corpus`` describes (None = the defaults), synthesised or loaded from the cache."""
    from advgeom.data.audio import synth_corpus

    return synth_corpus(_check_corpus(corpus) if corpus is not None else None, progress=progress)


def cochleagrams(net: StagedNet, waveforms: torch.Tensor, *, batch_size: int = 250) -> torch.Tensor:
    """The deterministic cochleagrams ``(N, channels, frames)`` of ``waveforms`` (N, T), from ``net``'s first stage."""
    import torch

    from advgeom.device import model_device

    coch = net.cochleagram
    device = model_device(net)
    with torch.no_grad():
        out = [coch(waveforms[i : i + batch_size].to(device)).cpu() for i in range(0, len(waveforms), batch_size)]
    return torch.cat(out)


def word_architecture(
    name: str, *, corpus: CorpusSpec | None = None, gain: float = DEFAULT_GAIN, widths: tuple[int, ...] = DEFAULT_WIDTHS
) -> StagedNet:
    """The untrained word network ``name`` for ``corpus``'s words and sample rate (``gain``: stochastic only)."""
    from advgeom.data.audio import CorpusSpec
    from advgeom.models.wordnet import word_resnet

    check_choice("name", name, list(RECIPES))
    spec = CorpusSpec() if corpus is None else _check_corpus(corpus)
    return word_resnet(len(spec.words), gain=gain if name == "word_stochastic" else None, widths=tuple(widths),
                       sample_rate=spec.sample_rate)  # fmt: skip


def word_model_params(
    name: str = "word_deterministic",
    *,
    corpus: CorpusSpec | None = None,
    gain: float = DEFAULT_GAIN,
    epochs: int | None = None,
    adv_eps: float | None = None,
    adv_norm: str | None = None,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    seed: int = 0,
) -> dict[str, Any]:
    """Every parameter that shapes a trained word network (the checkpoint's key), validated."""
    from advgeom.data.audio import CorpusSpec

    name = check_choice("name", name, list(RECIPES))
    spec = CorpusSpec() if corpus is None else _check_corpus(corpus)
    p = spec.key()
    versions = spec.versions()
    gain = check_float("gain", gain, minimum=1e-6)
    net = word_architecture(name, corpus=spec, gain=gain, widths=widths)
    recipe = word_recipe(name, epochs=epochs, adv_eps=adv_eps, adv_norm=adv_norm)
    if recipe.get("init"):  # the starting network's own parameters are part of the key
        recipe["init"] = word_model_params(recipe["init"], corpus=corpus, gain=gain, widths=widths, seed=seed)
    return {
        "format": CHECKPOINT_FORMAT,
        "name": name,
        "corpus": {**p, "versions": versions},
        "model": net.config,
        "train": recipe,
        "seed": check_int("seed", seed, minimum=0),
    }


def _trained_word_network(
    name: str = "word_deterministic",
    *,
    corpus: CorpusSpec | None = None,
    gain: float = DEFAULT_GAIN,
    epochs: int | None = None,
    adv_eps: float | None = None,
    adv_norm: str | None = None,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> StagedNet:
    """A trained word network ``name`` in eval mode: loaded from ``cache_dir()/word-models`` or trained and cached.

    What the registered builders run (their arguments declared and converted). ``corpus``: a
    :class:`~advgeom.data.audio.CorpusSpec` (None = its defaults: 20 words, 200 training and 50 test
    clips per word); the network is trained on its ``train`` split. ``gain``: auditory-nerve noise gain
    (``word_stochastic`` only; larger = less noise). ``epochs``, ``adv_eps``, ``adv_norm`` override the
    recipe (:data:`RECIPES`); ``widths`` are the ResNet stage widths. The checkpoint is keyed by every
    parameter (corpus, synthesiser versions, architecture, recipe, seed), written atomically, and holds
    those parameters, which are compared on load: a corrupt or mismatched file is rebuilt, never used.
    The model carries ``train_history`` (with ``train_seconds``), ``checkpoint_path`` (its id for
    the geometry caches) and ``words`` (the label names).
    """
    import torch

    from advgeom.data.audio import WAVEFORM_BOUNDS
    from advgeom.device import default_device
    from advgeom.models.wordnet import build_word_net, stages_from
    from advgeom.train import refresh_batchnorm, train_model

    params = word_model_params(name, corpus=corpus, gain=gain, epochs=epochs, adv_eps=adv_eps, adv_norm=adv_norm,
                               widths=widths, seed=seed)  # fmt: skip
    device = torch.device(device) if device is not None else default_device()

    def train() -> dict[str, Any]:
        data = word_corpus(corpus, progress=progress).split("train")
        x, y = data.tensors()
        torch.manual_seed(seed)
        net = build_word_net(params["model"]).to(device)
        recipe = dict(params["train"])
        init = recipe.pop("init", None)
        if init:
            start = _trained_word_network(init["name"], corpus=corpus, gain=gain, widths=widths, seed=seed,
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
        return checkpoint_dict(params, net, history)

    net = cached_network("word-models", params, partial(build_word_net, params["model"]), train, device)
    net.words = tuple(params["corpus"]["words"])
    return net


# ------------------------------------------------------------------------------------------------ registered
_TRAINING = {"corpus": CORPUS_CONSTRAINT, "epochs": [Interval(int, 1, None), None], "seed": Interval(int, 0, None)}


@register_network(
    "word_deterministic", modality="audio", build=partial(word_architecture, "word_deterministic"),
    description="cochleagram -> small ResNet on waveforms, trained on synthetic spoken words",
)  # fmt: skip
@validate_params(_TRAINING)
def word_deterministic(
    *,
    corpus: CorpusSpec | None = None,
    epochs: int | None = None,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> StagedNet:
    """The trained deterministic word network (see the module docstring)."""
    return _trained_word_network("word_deterministic", corpus=corpus, epochs=epochs, widths=widths, seed=seed,
                                progress=progress, device=device)  # fmt: skip


@register_network(
    "word_stochastic", modality="audio", build=partial(word_architecture, "word_stochastic"),
    description="the deterministic word network with auditory-nerve noise of gain `gain` after the cochleagram",
)  # fmt: skip
@validate_params({**_TRAINING, "gain": Interval(float, 1e-6, None)})
def word_stochastic(
    *,
    corpus: CorpusSpec | None = None,
    gain: float = DEFAULT_GAIN,
    epochs: int | None = None,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> StagedNet:
    """The trained stochastic word network (noise on at test time; larger ``gain`` = less noise)."""
    return _trained_word_network("word_stochastic", corpus=corpus, gain=gain, epochs=epochs, widths=widths,
                                seed=seed, progress=progress, device=device)  # fmt: skip


@register_network(
    "word_adversarial", modality="audio", build=partial(word_architecture, "word_adversarial"),
    description="the trained deterministic word network fine-tuned on waveform adversarial examples (fast FGSM)",
)  # fmt: skip
@validate_params(
    {
        **_TRAINING,
        "adv_eps": [Interval(float, 0.0, None), None],
        "adv_norm": [Options(("linf", "l2")), None],
    }
)
def word_adversarial(
    *,
    corpus: CorpusSpec | None = None,
    epochs: int | None = None,
    adv_eps: float | None = None,
    adv_norm: str | None = None,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
) -> StagedNet:
    """The adversarially fine-tuned word network (``adv_eps``, ``adv_norm``: the training budget; default L2 0.3)."""
    return _trained_word_network("word_adversarial", corpus=corpus, epochs=epochs, adv_eps=adv_eps,
                                adv_norm=adv_norm, widths=widths, seed=seed, progress=progress,
                                device=device)  # fmt: skip
