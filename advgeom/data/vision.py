"""Image data sets: the embedded Fashion-MNIST, and loaders for CIFAR-10 and ImageNet-style folders.

Every loader returns images as float tensors in [0, 1] (channels first); normalisation
lives inside the models. Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) is read from the
idx files installed by Debian's ``dataset-fashion-mnist`` package, with the published
train/test split. CIFAR-10 (Krizhevsky 2009) is read from the "python version" pickle
batches; an ImageNet-style tree is read with :class:`torchvision.datasets.ImageFolder`.
"""

from __future__ import annotations

import gzip
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from advgeom.checks import Interval, Options, check_int, validate_params

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (LeCun's MNIST format; gzip-compressed when the name ends in .gz) into an array.

    Header: two zero bytes, a type code, the number of dimensions, then each dimension as a
    big-endian uint32; the data follow in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an idx file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    offset = 4 + 4 * ndim
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header announces shape {shape} ({expected} bytes) but holds {len(raw) - offset}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)


def _find_idx(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(
        f"Fashion-MNIST file {stem}[.gz] not found in {root}. The embedded data come from the Debian package "
        f"'dataset-fashion-mnist': install it with `apt-get install dataset-fashion-mnist` "
        f"(files go to {FASHION_MNIST_DIR}), or pass root= a folder holding the four idx files."
    )


@lru_cache(maxsize=4)
def _fashion_arrays(root: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find_idx(Path(root), f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find_idx(Path(root), f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"Fashion-MNIST {split} files in {root} disagree: images {images.shape}, labels {labels.shape}"
        )
    return images, labels


@validate_params({"split": Options(SPLITS)})
def load_fashion_mnist(split: str = "train", root: str | Path | None = None) -> TensorDataset:
    """Fashion-MNIST as a TensorDataset of images (N, 1, 28, 28) in [0, 1] and int64 labels.

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000), as published.
    """
    images, labels = _fashion_arrays(str(root or FASHION_MNIST_DIR), split)
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorDataset(x, y)


def _cifar_folder(root: Path) -> Path:
    if not root.exists():
        raise FileNotFoundError(
            f"CIFAR-10 folder {root} does not exist. Expected the python-version batches "
            "(data_batch_1..data_batch_5, test_batch), e.g. the extracted cifar-10-python.tar.gz."
        )
    for folder in (root, root / "cifar-10-batches-py"):
        if (folder / "test_batch").is_file() or (folder / "data_batch_1").is_file():
            return folder
    found = sorted(p.name for p in root.iterdir())[:10]
    raise FileNotFoundError(
        f"{root} does not hold CIFAR-10 python batches: expected files data_batch_1..data_batch_5 and test_batch "
        f"in {root} or {root / 'cifar-10-batches-py'}; found {found}"
    )


@validate_params({"split": Options(SPLITS)})
def load_cifar10(root: str | Path, split: str = "train") -> TensorDataset:
    """CIFAR-10 from a folder of python pickle batches: images (N, 3, 32, 32) in [0, 1], int64 labels."""
    folder = _cifar_folder(Path(root))
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 batch {path} is missing (the {split} split needs {names})")
        with open(path, "rb") as f:
            try:
                batch = pickle.load(f, encoding="bytes")
            except Exception as err:
                raise ValueError(f"{path} is not a CIFAR-10 pickle batch ({err!r})") from err
        if not isinstance(batch, dict):
            raise ValueError(f"{path} holds a {type(batch).__name__}, expected a dict with b'data' and b'labels'")
        data = batch.get(b"data", batch.get("data"))
        labels = batch.get(b"labels", batch.get("labels"))
        if data is None or labels is None:
            raise ValueError(f"{path} lacks the 'data' / 'labels' entries of a CIFAR-10 batch (keys {list(batch)})")
        data = np.asarray(data, dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
            raise ValueError(f"{path}: data shape {data.shape} / {len(labels)} labels; expected (N, 3072) and N labels")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(labels, dtype=np.int64))
    x = torch.from_numpy(np.concatenate(xs).astype(np.float32) / 255.0)
    return TensorDataset(x, torch.from_numpy(np.concatenate(ys)))


@validate_params({"image_size": Interval(int, 1, None)})
def load_image_folder(
    root: str | Path, split: str | None = None, *, image_size: int = 224, resize: int | None = 256
) -> Dataset:
    """An ImageNet-style tree ``root[/split]/<class>/<image>`` as a torchvision ImageFolder.

    Images are resized (shorter side to ``resize``), centre-cropped to ``image_size`` and
    returned as tensors in [0, 1].
    """
    from torchvision import datasets, transforms

    folder = Path(root) / split if split else Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder {folder} does not exist; expected an ImageNet-style tree {folder}/<class name>/<image file>"
        )
    steps = [transforms.Resize(resize)] if resize else []
    transform = transforms.Compose([*steps, transforms.CenterCrop(image_size), transforms.ToTensor()])
    try:
        return datasets.ImageFolder(str(folder), transform=transform)
    except (FileNotFoundError, RuntimeError) as err:
        raise FileNotFoundError(
            f"{folder} is not an ImageNet-style tree: expected one sub-folder per class holding image files "
            f"(.jpg, .png, ...), i.e. {folder}/<class name>/<image file> ({err})"
        ) from err


DATASETS = ("fashion-mnist", "cifar10", "imagefolder")


@validate_params({"name": Options(DATASETS)})
def load_vision_dataset(name: str, split: str = "train", root: str | Path | None = None) -> Dataset:
    """Load a data set by name: ``fashion-mnist`` (embedded), ``cifar10`` or ``imagefolder`` (need ``root``)."""
    if name == "fashion-mnist":
        return load_fashion_mnist(split, root)
    if root is None:
        raise ValueError(f"dataset {name!r} is supplied by the user: pass root= the folder holding it")
    if name == "cifar10":
        return load_cifar10(root, split)
    return load_image_folder(root, split)


def dataset_labels(dataset: Dataset) -> torch.Tensor:
    """The int64 labels of every item of ``dataset`` (fast paths for TensorDataset, ImageFolder, Subset)."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[1].long()
    if hasattr(dataset, "targets"):
        return torch.as_tensor(dataset.targets, dtype=torch.long)
    if isinstance(dataset, torch.utils.data.Subset):
        return dataset_labels(dataset.dataset)[torch.as_tensor(dataset.indices, dtype=torch.long)]
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)


@validate_params({"n_classes": Interval(int, 1, None), "per_class": Interval(int, 1, None), "seed": Interval(int)})
def class_balanced_indices(labels: torch.Tensor, n_classes: int, per_class: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``per_class`` items from each of ``n_classes`` classes, chosen by ``seed``.

    Classes are drawn at random (seeded) when fewer than all are asked for, then sorted;
    indices are grouped by class (class order ascending) and, within a class, in the order drawn.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    classes = torch.unique(labels)
    n_classes = check_int("n_classes", n_classes, minimum=1, maximum=len(classes))
    gen = torch.Generator().manual_seed(seed)
    chosen = classes if n_classes == len(classes) else classes[torch.randperm(len(classes), generator=gen)[:n_classes]]
    out = []
    for c in torch.sort(chosen).values.tolist():
        members = torch.nonzero(labels == c).flatten()
        if len(members) < per_class:
            raise ValueError(f"per_class={per_class} is too large: class {c} has only {len(members)} items")
        out.append(members[torch.randperm(len(members), generator=gen)[:per_class]])
    return torch.cat(out)


def class_balanced_subset(
    dataset: Dataset, n_classes: int, per_class: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of a seeded class-balanced subset (P = n_classes, M = per_class): the same for every model.

    Returns ``(x, y)`` with ``x`` of shape (n_classes * per_class, C, H, W), grouped by class.
    """
    idx = class_balanced_indices(dataset_labels(dataset), n_classes, per_class, seed)
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[0][idx].clone(), dataset.tensors[1][idx].clone()
    items = [dataset[i] for i in idx.tolist()]
    return torch.stack([torch.as_tensor(it[0]) for it in items]), torch.tensor([int(it[1]) for it in items])
