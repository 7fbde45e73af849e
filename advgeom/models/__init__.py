"""Vision models: VOne front end, small ResNets, ImageNet-scale builders, the variant registry, representations."""

from advgeom.models.imagenet import build_imagenet_model, load_checkpoint_state_dict
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
from advgeom.models.registry import VARIANTS, build_from_config, build_model, model_config, variant_names
from advgeom.models.representations import extract_representations, layer_names
from advgeom.models.resnet import small_resnet, vone_resnet
from advgeom.models.staged import Normalize, StagedNet
from advgeom.models.vone import VOneBlock, gabor_kernel, sample_v1_parameters

__all__ = [
    "VARIANTS",
    "GaussianNoise",
    "NeuronalNoise",
    "Normalize",
    "StagedNet",
    "StochasticNoise",
    "VOneBlock",
    "build_from_config",
    "build_imagenet_model",
    "build_model",
    "extract_representations",
    "frozen_noise",
    "gabor_kernel",
    "gaussian_noise",
    "is_stochastic",
    "layer_names",
    "load_checkpoint_state_dict",
    "make_noise",
    "model_config",
    "neuronal_noise",
    "noise_disabled",
    "noise_modules",
    "sample_v1_parameters",
    "seeded_noise",
    "set_noise",
    "split_at_noise",
    "small_resnet",
    "variant_names",
    "vone_resnet",
]
