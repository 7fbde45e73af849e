"""Robustness: bad inputs across the API, corrupted caches and checkpoints, interrupted writes.

Every bad input must fail early with a message naming the bad value (ValueError / FileNotFoundError;
exit status 2 and one line on the command line); a corrupt cache or checkpoint is reported, rebuilt and
never used; a run killed mid-way leaves no half-written result and a re-run completes.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from advgeom import cache
from advgeom.analysis import Protocol, cached_manifold_geometry
from advgeom.attacks import accuracy, pgd
from advgeom.data import load_cifar10, load_fashion_mnist, load_image_folder, read_idx
from advgeom.models import build_imagenet_model, build_model, model_config
from advgeom.train import get_trained_model

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = {"train_size": 20, "epochs": 1, "progress": False}


# --------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("standard").eval()


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: build_model("resnet"), "variant='resnet' is not allowed"),
        (lambda: build_model("standard", "mnist"), "dataset='mnist' is not allowed"),
        (lambda: model_config("standard", noise_scale=0.5), "applies to vone variants only"),
        (lambda: model_config("vone", noise_mode="poisson"), "noise_mode='poisson'"),
        (lambda: get_trained_model("nope"), "variant='nope' is not allowed"),
        (lambda: get_trained_model("standard", epochs=0), "epochs=0 is too small"),
        (lambda: Protocol(norm="l3"), "norm='l3' is not allowed"),
        (lambda: Protocol(eps=-0.1), "eps=-0.1 is too small"),
        (lambda: Protocol(n_t=2.5), "n_t must be an integer"),
        (lambda: build_imagenet_model("resnet18"), "arch='resnet18' is not allowed"),
    ],
)
def test_api_bad_values_are_named(call, fragment):
    with pytest.raises(ValueError) as err:
        call()
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"eps": -1.0}, "eps=-1.0 is too small"),
        ({"eps": 0.1, "norm": "l3"}, "norm='l3' is not allowed"),
        ({"eps": 0.1, "steps": 1.5}, "steps must be an integer"),
        ({"eps": 0.1, "eot": 0}, "eot=0 is too small"),
        ({"eps": 0.1, "bounds": (1.0, 0.0)}, "low < high"),
        ({"eps": "0.1"}, "eps must be a number"),
    ],
)
def test_attack_bad_arguments(tiny_net, kwargs, fragment):
    x, y = torch.rand(2, 1, 28, 28), torch.tensor([0, 1])
    with pytest.raises(ValueError) as err:
        pgd(tiny_net, x, y, **kwargs)
    assert fragment in str(err.value)


def test_attack_and_accuracy_shape_errors(tiny_net):
    with pytest.raises(ValueError, match="x has 2 examples but y has 3"):
        pgd(tiny_net, torch.rand(2, 1, 28, 28), torch.tensor([0, 1, 2]), eps=0.1)
    with pytest.raises(ValueError, match="empty"):
        accuracy(tiny_net, torch.rand(0, 1, 28, 28), torch.tensor([], dtype=torch.long))


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


def test_corrupt_idx_and_checkpoint_files(tmp_path):
    garbage = tmp_path / "garbage-idx3-ubyte"
    garbage.write_bytes(b"PK\x03\x04 zip, not idx")
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(garbage)
    truncated = tmp_path / "short-idx1-ubyte"
    truncated.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 10, 1, 2, 3]))  # announces 10 labels, holds 3
    with pytest.raises(ValueError, match="header announces shape"):
        read_idx(truncated)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_imagenet_model("resnet50", tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match="could not be read as a torch checkpoint"):
        build_imagenet_model("resnet50", junk)


# ------------------------------------------------------- corrupted caches and checkpoints


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_cached_value_rebuilt_from_a_damaged_file(fresh_cache, damage):
    path = cache.cache_path("numbers", {"x": 1}, ".pt")
    calls = []

    def compute():
        calls.append(1)
        return {"value": torch.arange(1000.0)}

    def load(p):
        return torch.load(p, weights_only=True)

    first = cache.cached(path, compute, lambda v, p: torch.save(v, p), load)
    good = path.read_bytes()
    path.write_bytes({"garbage": b"\x00not torch", "truncated": good[: len(good) // 2], "empty": b""}[damage])
    with pytest.warns(UserWarning, match="unreadable.*recomputing"):
        again = cache.cached(path, compute, lambda v, p: torch.save(v, p), load)
    assert len(calls) == 2 and torch.equal(again["value"], first["value"])
    assert torch.equal(load(path)["value"], first["value"])  # the file was replaced by a good one


def test_corrupt_or_mismatched_model_checkpoint_is_retrained(fresh_cache):
    net = get_trained_model("standard", **TINY_MODEL)
    ckpt = Path(net.checkpoint_path)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # a download or copy cut short
    with pytest.warns(UserWarning, match="unreadable"):
        again = get_trained_model("standard", **TINY_MODEL)
    for name, value in weights.items():  # seeded training: the rebuilt model is the same model
        torch.testing.assert_close(again.state_dict()[name], value)
    other = get_trained_model("standard", seed=1, **TINY_MODEL)
    Path(other.checkpoint_path).replace(ckpt)  # a checkpoint of other parameters at this model's path
    with pytest.warns(UserWarning, match="trained with other parameters"):
        third = get_trained_model("standard", **TINY_MODEL)
    for name, value in weights.items():
        torch.testing.assert_close(third.state_dict()[name], value)


def test_corrupt_geometry_cache_is_recomputed(fresh_cache):
    net = get_trained_model("standard", **TINY_MODEL)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    protocol = Protocol(n_t=20, width=50)
    first = cached_manifold_geometry(net, x, y, protocol, ["pixels", "logits"])
    [path] = list((fresh_cache / "geometry").glob("*.csv"))
    path.write_text("layer,capacity\npixels,not-a-number\n")
    with pytest.warns(UserWarning, match="unreadable"):
        again = cached_manifold_geometry(net, x, y, protocol, ["pixels", "logits"])
    assert again["capacity"].tolist() == pytest.approx(first["capacity"].tolist())


# --------------------------------------------------------------------- interrupted runs

def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the notebook never reached its sleep"
        time.sleep(0.2)



ATOMIC_WRITER = textwrap.dedent('''\
    import sys, time
    from pathlib import Path
    from advgeom.cache import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"half of a large file")
            f.flush()
            Path(sys.argv[2]).write_text("writing")
            time.sleep(120)
            f.write(b" and the rest")
''')


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_atomic_write_leaves_no_target(tmp_path, sig):
    target, marker = tmp_path / "data" / "result.bin", tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", ATOMIC_WRITER, str(target), str(marker)], start_new_session=True)
    try:
        _wait_for(marker, proc, timeout=60)
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not target.exists()
    # whatever temporary the killed writer left is hidden and never read as the result
    assert all(p.name.startswith(".result.bin.") for p in target.parent.iterdir())
    value = cache.cached(target, lambda: b"complete", lambda v, p: p.write_bytes(v), lambda p: p.read_bytes())
    assert value == b"complete" and target.read_bytes() == b"complete"
