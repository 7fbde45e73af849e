"""The study's trained networks by name, one registry in the style of ``torchvision.models``.

>>> from advgeom.zoo import list_networks, get_network, NetSpec
>>> list_networks("vision")   # standard, adversarial, vone, vone_nonoise, resnet50, vone_resnet50
>>> net = get_network("vone", noise_scale=0.5, epochs=1, train_size=500)   # trained once, then cached
>>> NetSpec.create("vone", noise_scale=0.5).label   # 'vone@0.5'

Vision zoo (:mod:`advgeom.zoo.vision`): ``standard``, ``adversarial``, ``vone``, ``vone_nonoise``;
word networks (:mod:`advgeom.zoo.words`, modality ``audio``): ``word_deterministic``,
``word_stochastic``, ``word_adversarial``; ImageNet scale (:mod:`advgeom.zoo.imagenet`, weights from a
local ``checkpoint`` file): ``resnet50``, ``vone_resnet50``. Checkpoints: :mod:`advgeom.zoo.checkpoints`.
Importing this package does not import torch.
"""

from advgeom.zoo import imagenet, vision, words  # noqa: F401 - importing registers the networks
from advgeom.zoo.checkpoints import CHECKPOINT_FORMAT, checkpoint_network, load_checkpoint, save_checkpoint
from advgeom.zoo.registry import (
    MODALITIES,
    NetSpec,
    NetworkInfo,
    build_network,
    get_network,
    list_networks,
    network_info,
    register_network,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "MODALITIES",
    "NetSpec",
    "NetworkInfo",
    "build_network",
    "checkpoint_network",
    "get_network",
    "list_networks",
    "load_checkpoint",
    "network_info",
    "register_network",
    "save_checkpoint",
]
