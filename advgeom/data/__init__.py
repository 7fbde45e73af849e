"""Data sets. Vision: :mod:`advgeom.data.vision` (images in [0, 1], normalisation inside the models).
Spoken words: :mod:`advgeom.data.audio` (imported on demand: ``from advgeom.data.audio import CorpusSpec``).
Batches: :mod:`advgeom.data.batches` (the one reader of "(x, y) tensors, a TensorDataset or a DataLoader")."""

from advgeom.data.batches import as_tensor_pair, iter_batches
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
    "as_tensor_pair",
    "class_balanced_indices",
    "class_balanced_subset",
    "dataset_labels",
    "iter_batches",
    "load_cifar10",
    "load_fashion_mnist",
    "load_image_folder",
    "load_vision_dataset",
    "read_idx",
]
