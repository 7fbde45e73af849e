"""Data sets. Vision: :mod:`advgeom.data.vision` (images in [0, 1], normalisation inside the models)."""

from advgeom.data.vision import (
    CIFAR10_CLASSES,
    DATASETS,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    class_balanced_indices,
    class_balanced_subset,
    dataset_labels,
    load_cifar10,
    load_fashion_mnist,
    load_image_folder,
    load_vision_dataset,
    read_idx,
)

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "class_balanced_indices",
    "class_balanced_subset",
    "dataset_labels",
    "load_cifar10",
    "load_fashion_mnist",
    "load_image_folder",
    "load_vision_dataset",
    "read_idx",
]
