"""Image data sets: the embedded Fashion-MNIST, and loaders for CIFAR-10 and ImageNet-style folders.

Every loader returns images as float tensors in [0, 1] (channels first); normalisation
lives inside the models. Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) is read from the
idx files installed by Debian's ``dataset-fashion-mnist`` package, with the published
train/test split. CIFAR-10 (Krizhevsky 2009) is read from the "python version" pickle
batches by a restricted unpickler that builds nothing but containers, numbers, text and numpy
arrays (a hostile file cannot run code); an ImageNet-style tree is read with
:class:`torchvision.datasets.ImageFolder`.
"""

from __future__ import annotations

import gzip
import math
import pickle
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

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


def _read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, gunzipped when its name ends in .gz; a damaged .gz raises ValueError naming it."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{path} is not a readable gzip file ({err})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (LeCun's MNIST format; gzip-compressed when the name ends in .gz) into an array.

    Header: two zero bytes, a type code, the number of dimensions, then each dimension as a
    big-endian uint32; the data follow in C order. A damaged file (bad magic number, a header or data
    shorter or longer than announced, NaN or infinite values in a float file) raises ValueError naming it.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an idx file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(f"{path}: its header announces {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow whatever the header says
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header announces shape {shape} ({expected} bytes) but holds {len(raw) - offset}")
    array = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{path} holds values that are not finite numbers (NaN or inf)")
    return array


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


def _numpy_reconstruction() -> dict[tuple[str, str], Any]:
    """The only globals a CIFAR-10 batch may name: numpy's array and dtype reconstruction, under the module
    names numpy 1 and numpy 2 pickle them with; and ``_codecs.encode`` for latin-1 (how Python 3 writes bytes
    in protocol-2 pickles), restricted to latin-1."""
    import codecs
    import importlib

    multiarray = importlib.import_module("numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray")
    numeric = importlib.import_module("numpy._core.numeric" if hasattr(np, "_core") else "numpy.core.numeric")

    def latin1(text: str, encoding: str = "latin1") -> bytes:
        if encoding != "latin1":
            raise pickle.UnpicklingError(f"it encodes bytes as {encoding!r} (only latin1 is read)")
        return codecs.encode(text, "latin1")

    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                           ("_codecs", "encode"): latin1}  # fmt: skip
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles builtin containers, bytes, str, numbers and numpy arrays; refuses any other Python object
    (a pickle names what it builds: a hostile one names ``os.system`` and friends, which never run)."""

    allowed = _numpy_reconstruction()

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"it asks for the Python object {module}.{name}, which a CIFAR-10 batch never holds "
                "(refused: unpickling it could run code)"
            )
        return found


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: ``(data (N, 3072) uint8, labels (N,) int64 in 0..9)``.

    Read by a restricted unpickler (:class:`_BatchUnpickler`: nothing but containers, numbers, text and
    numpy arrays is ever built), then checked; anything else raises ValueError naming the file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            batch = _BatchUnpickler(f, encoding="bytes").load()
        except Exception as err:
            raise ValueError(f"{path} is not a CIFAR-10 pickle batch ({' '.join(str(err).split())[:300]})") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} holds a {type(batch).__name__}, expected a dict with b'data' and b'labels'")
    data, labels = batch.get(b"data", batch.get("data")), batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path} lacks the 'data' / 'labels' entries of a CIFAR-10 batch (keys {list(batch)})")
    data, labels = np.asarray(data), np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        raise ValueError(
            f"{path}: data shape {data.shape} / labels shape {labels.shape}; expected (N, 3072) and N labels"
        )
    if data.dtype.kind not in "ui" or (data.size and not (data.min() >= 0 and data.max() <= 255)):
        raise ValueError(f"{path}: data must be pixel values 0..255, got {data.dtype} values")
    if labels.dtype.kind not in "ui" or (labels.size and not (labels.min() >= 0 and labels.max() <= 9)):
        bad = labels[(labels < 0) | (labels > 9)][:1] if labels.dtype.kind in "uif" else labels[:1]
        raise ValueError(f"{path}: labels must be the classes 0..9, found {bad.tolist()} ({labels.dtype})")
    return data.astype(np.uint8), labels.astype(np.int64)


@validate_params({"split": Options(SPLITS)})
def load_cifar10(root: str | Path, split: str = "train") -> TensorDataset:
    """CIFAR-10 from a folder of python pickle batches (:func:`read_cifar_batch`: restricted unpickling, checked
    shapes and labels): images (N, 3, 32, 32) in [0, 1], int64 labels."""
    folder = _cifar_folder(Path(root))
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 batch {path} is missing (the {split} split needs {names})")
        data, labels = read_cifar_batch(path)
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
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
