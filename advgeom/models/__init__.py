"""Architectures: VOne front end, small ResNets, word networks, ImageNet-scale builders, noise, representations.

Trained networks by name live in :mod:`advgeom.zoo`.
"""

from advgeom.models.imagenet import build_imagenet_model
from advgeom.models.noise import (
    GaussianNoise,
    NeuronalNoise,
    StochasticNoise,
    frozen_noise,
    gaussian_noise,
    is_stochastic,
    make_noise,
    neuronal_noise,
    noise_disabled,
    noise_modules,
    seeded_noise,
    set_noise,
    split_at_noise,
)
from advgeom.models.representations import extract_representations, layer_names
from advgeom.models.resnet import small_resnet, vone_resnet
from advgeom.models.staged import Normalize, StagedNet
from advgeom.models.vone import VOneBlock, gabor_kernel, sample_v1_parameters

__all__ = [
    "GaussianNoise",
    "NeuronalNoise",
    "Normalize",
    "StagedNet",
    "StochasticNoise",
    "VOneBlock",
    "build_imagenet_model",
    "extract_representations",
    "frozen_noise",
    "gabor_kernel",
    "gaussian_noise",
    "is_stochastic",
    "layer_names",
    "make_noise",
    "neuronal_noise",
    "noise_disabled",
    "noise_modules",
    "sample_v1_parameters",
    "seeded_noise",
    "set_noise",
    "split_at_noise",
    "small_resnet",
    "vone_resnet",
]
