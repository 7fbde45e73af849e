"""Vision data: embedded Fashion-MNIST, user-supplied CIFAR-10 and image folders, seeded subsets."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from advgeom.data import (
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


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_read_idx_round_trip(tmp_path: Path) -> None:
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx.gz", "a.idx"):
        _write_idx(tmp_path / name, arr)
        np.testing.assert_array_equal(read_idx(tmp_path / name), arr)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_published_splits() -> None:
    assert FASHION_MNIST_DIR.is_dir(), "the embedded data set is missing: apt-get install dataset-fashion-mnist"
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    assert train.tensors[0].shape == (60000, 1, 28, 28) and test.tensors[0].shape == (10000, 1, 28, 28)
    x = train.tensors[0]
    assert x.dtype == torch.float32 and x.min() == 0.0 and x.max() == 1.0
    # published label order: the first training labels are 9 0 0 3 0 2 7 2 5 5; classes balanced
    assert train.tensors[1][:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert torch.bincount(train.tensors[1]).tolist() == [6000] * 10
    assert torch.bincount(test.tensors[1]).tolist() == [1000] * 10


def test_fashion_mnist_missing_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)
    with pytest.raises(ValueError, match="split='valid'"):
        load_fashion_mnist("valid")


def _fake_cifar(folder: Path, n: int = 6) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        batches[name] = data
    return batches


def test_cifar10_from_pickles(tmp_path: Path) -> None:
    batches = _fake_cifar(tmp_path / "cifar-10-batches-py")
    train = load_cifar10(tmp_path, "train")  # the parent folder is accepted too
    test = load_vision_dataset("cifar10", "test", tmp_path / "cifar-10-batches-py")
    assert train.tensors[0].shape == (30, 3, 32, 32) and test.tensors[0].shape == (6, 3, 32, 32)
    first = batches["data_batch_1"][0].reshape(3, 32, 32) / 255.0
    np.testing.assert_allclose(train.tensors[0][0].numpy(), first, atol=1e-7)
    assert 0 <= train.tensors[0].min() and train.tensors[0].max() <= 1


def test_cifar10_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path / "other")
    folder = tmp_path / "partial"
    folder.mkdir()
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="3072"):
        load_cifar10(folder, "test")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(folder, "train")
    with pytest.raises(ValueError, match="root="):
        load_vision_dataset("cifar10")


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "train" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
                tmp_path / "train" / cls / f"{i}.png"
            )
    ds = load_image_folder(tmp_path, "train", image_size=32, resize=36)
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and 0 <= x.min() and x.max() <= 1 and y == 0
    assert dataset_labels(ds).tolist() == [0, 0, 0, 1, 1, 1]
    xs, ys = class_balanced_subset(ds, n_classes=2, per_class=2, seed=1)
    assert xs.shape == (4, 3, 32, 32) and ys.tolist() == [0, 0, 1, 1]
    with pytest.raises(FileNotFoundError, match="ImageNet-style"):
        load_image_folder(tmp_path, "val")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="one sub-folder per class"):
        load_image_folder(tmp_path / "empty")


def test_class_balanced_subset_is_seeded_and_balanced() -> None:
    labels = torch.arange(100) % 10
    a = class_balanced_indices(labels, n_classes=4, per_class=3, seed=5)
    b = class_balanced_indices(labels, n_classes=4, per_class=3, seed=5)
    c = class_balanced_indices(labels, n_classes=4, per_class=3, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    chosen = labels[a]
    assert len(set(chosen.tolist())) == 4 and all((chosen == k).sum() == 3 for k in set(chosen.tolist()))
    assert torch.equal(chosen, torch.sort(chosen).values) and len(set(a.tolist())) == 12
    ds = torch.utils.data.TensorDataset(torch.randn(100, 1, 2, 2), labels)
    x, y = class_balanced_subset(ds, n_classes=10, per_class=10, seed=0)
    assert sorted(y.tolist()) == sorted(labels.tolist()) and x.shape == (100, 1, 2, 2)
    with pytest.raises(ValueError, match="per_class=11"):
        class_balanced_indices(labels, 10, 11)
    with pytest.raises(ValueError, match="n_classes=11"):
        class_balanced_indices(labels, 11, 1)


def test_missing_and_broken_data_folders(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        load_cifar10(missing)
    assert str(missing) in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="does not hold CIFAR-10 python batches"):
        load_cifar10(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "test_batch").write_bytes(b"\x80\x04 definitely not a pickle")
    with pytest.raises(ValueError, match="is not a CIFAR-10 pickle batch"):
        load_cifar10(bad, "test")
    (bad / "test_batch").write_bytes(pickle.dumps({b"data": [[1, 2, 3]], b"labels": [0]}))
    with pytest.raises(ValueError, match="expected \\(N, 3072\\)"):
        load_cifar10(bad, "test")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(missing)
    with pytest.raises(FileNotFoundError, match="not an ImageNet-style tree"):
        load_image_folder(tmp_path / "empty")


def test_corrupt_idx_files(tmp_path):
    garbage = tmp_path / "garbage-idx3-ubyte"
    garbage.write_bytes(b"PK\x03\x04 zip, not idx")
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(garbage)
    truncated = tmp_path / "short-idx1-ubyte"
    truncated.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 10, 1, 2, 3]))  # announces 10 labels, holds 3
    with pytest.raises(ValueError, match="header announces shape"):
        read_idx(truncated)


def test_declared_arguments_are_converted_and_named() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    idx = class_balanced_indices(labels, np.int64(2), np.int64(1), seed=np.int64(3))
    assert torch.equal(idx, class_balanced_indices(labels, 2, 1, seed=3)) and len(idx) == 2
    with pytest.raises(ValueError, match="n_classes=4 is too large; it must be <= 3"):
        class_balanced_indices(labels, 4, 1)
    with pytest.raises(ValueError, match="per_class=0 is too small"):
        class_balanced_indices(labels, 2, 0)
    with pytest.raises(ValueError, match="split='val' is not allowed"):
        load_fashion_mnist("val")
    with pytest.raises(ValueError, match="name='mnist' is not allowed"):
        load_vision_dataset("mnist")


class _RunsCode:
    """An object whose unpickling runs a shell command (what a hostile data file holds)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["data", "labels", "batch"])
def test_a_cifar_batch_that_would_run_code_is_refused_unread(tmp_path: Path, where: str) -> None:
    marker = tmp_path / "code-ran"
    folder = tmp_path / "cifar"
    folder.mkdir()
    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}
    payload = _RunsCode(marker) if where == "batch" else {**batch, f"{where}".encode(): _RunsCode(marker)}
    (folder / "test_batch").write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError) as err:
        load_cifar10(folder, "test")
    assert str(folder / "test_batch") in str(err.value)
    assert "asks for the Python object posix.system, which a CIFAR-10 batch never holds" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_batches_of_every_pickle_protocol_are_read(tmp_path: Path, protocol: int) -> None:
    """The restricted unpickler admits what numpy arrays need, as numpy 1 and 2 write them in any protocol."""
    rng = np.random.default_rng(protocol)
    data = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    labels = np.array([0, 9, 4])
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": data, b"labels": labels, b"filenames": [b"a"] * 3},
                                                       protocol=protocol))  # fmt: skip
    test = load_cifar10(tmp_path, "test")
    np.testing.assert_array_equal(test.tensors[0].numpy().reshape(3, -1) * 255, data.astype(np.float32))
    assert test.tensors[1].tolist() == [0, 9, 4]


@pytest.mark.parametrize(
    "batch, fragment",
    [
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels must be the classes 0..9, found [10]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [-1, 3]}, "found [-1]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.5, 1.0]}, "labels must be the classes 0..9"),
        ({b"data": np.full((1, 3072), 300), b"labels": [1]}, "data must be pixel values 0..255"),
        ({b"data": np.zeros((1, 3072), np.float32), b"labels": [1]}, "data must be pixel values 0..255, got float32"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}, "expected (N, 3072) and N labels"),
    ],
)
def test_cifar_labels_and_pixels_are_checked(tmp_path: Path, batch: dict, fragment: str) -> None:
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch))
    with pytest.raises(ValueError) as err:
        load_cifar10(tmp_path, "test")
    assert str(err.value).startswith(str(tmp_path / "test_batch")) and fragment in str(err.value)


def _idx_bytes(type_code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in shape) + data


@pytest.mark.parametrize(
    "name, raw, fragment",
    [
        ("garbage-idx1-ubyte.gz", b"\x1f\x8b\x08\x00 not really gzip", "is not a readable gzip file"),
        ("plain-idx1-ubyte.gz", b"\x00\x00\x08\x01 uncompressed bytes", "is not a readable gzip file"),
        ("cut-idx1-ubyte.gz", gzip.compress(_idx_bytes(8, (4,), b"1234"), mtime=0)[:-6], "is not a readable gzip file"),
        ("short-header-idx3-ubyte", bytes([0, 0, 8, 3, 0, 0, 0, 1]), "announces 3 dimensions but the file ends"),
        # 2**32-1 cubed overflows int64: np.prod said 'small', a Python int says how large
        ("huge-idx3-ubyte", _idx_bytes(8, (2**32 - 1,) * 3, b"123"), "(79228162458924105385300197375 bytes)"),
        ("nan-idx1-float", _idx_bytes(0x0D, (2,), np.array([1.0, np.nan], ">f4").tobytes()), "not finite numbers"),
        ("inf-idx1-double", _idx_bytes(0x0E, (1,), np.array([np.inf], ">f8").tobytes()), "not finite numbers"),
    ],
)
def test_damaged_idx_files_name_the_file(tmp_path: Path, name: str, raw: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(ValueError) as err:
        read_idx(path)
    assert str(err.value).startswith(str(path)) and fragment in str(err.value), str(err.value)
