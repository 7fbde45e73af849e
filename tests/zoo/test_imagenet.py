"""ImageNet-scale networks: local checkpoints in every supported layout (random weights, no downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18, resnet50

from advgeom.models import build_imagenet_model, extract_representations, layer_names
from advgeom.models.imagenet import IMAGENET_MEAN, IMAGENET_STD
from advgeom.zoo import NetSpec, get_network, network_info
from advgeom.zoo.imagenet import load_checkpoint_state_dict, load_imagenet_weights


@pytest.fixture(scope="module")
def tv_resnet50() -> torch.nn.Module:
    torch.manual_seed(0)
    net = resnet50(weights=None).eval()
    for m in net.modules():  # non-trivial BN statistics so a lost buffer would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


def _layouts(state: dict[str, torch.Tensor]) -> dict[str, object]:
    robust = {f"module.model.{k}": v for k, v in state.items()}
    robust.update({f"module.attacker.model.{k}": v for k, v in state.items()})
    robust.update(
        {"module.normalizer.new_mean": torch.zeros(3, 1, 1), "module.attacker.normalize.new_std": torch.ones(3)}
    )
    return {
        "bare": state,
        "dataparallel": {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3},
        "robustness": {"model": robust, "epoch": 90, "schedule": None},
    }


def test_resnet50_checkpoint_layouts(tmp_path: Path, tv_resnet50: torch.nn.Module) -> None:
    x = torch.rand(2, 3, 64, 64)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = tv_resnet50((x - mean) / std)
    for name, obj in _layouts(tv_resnet50.state_dict()).items():
        path = tmp_path / f"{name}.pt"
        torch.save(obj, path)
        net = get_network("resnet50", checkpoint=path, device="cpu")
        assert not net.training and net.config["checkpoint"] == str(path)
        with torch.no_grad():
            torch.testing.assert_close(net(x), expected, rtol=1e-4, atol=1e-4, msg=f"layout {name}")
    assert layer_names(net) == ["pixels", "stem", "layer1", "layer2", "layer3", "layer4", "logits"]
    reps = extract_representations(net, x[:1], layers=["layer4", "logits"])
    assert reps["layer4"].shape == (1, 2048 * 2 * 2) and reps["logits"].shape == (1, 1000)


def test_vone_resnet50_round_trip_and_vonenet_names(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_imagenet_model("vone_resnet50", simple_channels=8, complex_channels=8)
    for p in net.parameters():
        p.data.normal_(0, 0.05)
    ours = tmp_path / "ours.pt"
    torch.save(net.state_dict(), ours)
    # the same weights under the VOneNet names (Dapello et al. 2020 checkpoints), wrapped by DataParallel
    renamed = {}
    for k, v in net.state_dict().items():
        if k.startswith("normalize."):
            continue
        k = k.replace("vone.q0", "vone_block.simple_conv_q0.weight").replace(
            "vone.q1", "vone_block.simple_conv_q1.weight"
        )
        if k.startswith(("layer", "logits")):
            k = "model." + k.replace("logits.2.", "fc.")
        renamed[f"module.{k}"] = v
    theirs = tmp_path / "vonenet.pth.tar"
    torch.save({"state_dict": renamed, "flags": {"stride": 4}}, theirs)
    x = torch.rand(2, 3, 64, 64)
    outputs = []
    for path in (ours, theirs):
        other = build_imagenet_model("vone_resnet50", simple_channels=8, complex_channels=8, gabor_seed=9)
        other = load_imagenet_weights(other, path)
        assert torch.equal(other.vone.q0, net.vone.q0)  # the checkpoint's filters replace the sampled ones
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(1)
            outputs.append(other(x))
    torch.testing.assert_close(outputs[0], outputs[1])
    assert layer_names(net) == ["pixels", "vone", "layer1", "layer2", "layer3", "layer4", "logits"]


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_network("resnet50", checkpoint=tmp_path / "missing.pt")
    torch.save(resnet18(weights=None).state_dict(), tmp_path / "r18.pt")
    with pytest.raises(ValueError, match="does not fit resnet50"):
        get_network("resnet50", checkpoint=tmp_path / "r18.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not be read"):
        load_checkpoint_state_dict(tmp_path / "junk.pt")
    torch.save({"epoch": 1, "args": {"lr": 0.1}}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="holds no state dict"):
        load_checkpoint_state_dict(tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="name='vgg16'"):
        get_network("vgg16")
    junk = tmp_path / "random.pt"
    junk.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match="could not be read as a torch checkpoint"):
        get_network("resnet50", checkpoint=junk)
    with pytest.raises(ValueError, match="checkpoint=3 must be the path"):
        get_network("resnet50", checkpoint=3)


def test_random_weights_are_seeded_and_options() -> None:
    info = network_info("vone_resnet50")
    assert info.modality == "vision" and info.source == "checkpoint"
    assert dict(info.options) == {"checkpoint": None, "seed": 0, "noise_mode": None, "noise_scale": None}
    a = get_network("vone_resnet50", seed=4, noise_scale=0.5, device="cpu")
    b = get_network("vone_resnet50", seed=4, noise_scale=0.5, device="cpu")
    assert a.vone.noise.scale == 0.5 and a.config["noise_scale"] == 0.5 and not a.training
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert get_network("vone_resnet50", device="cpu").config["noise_scale"] == 1.0  # the architecture's default


def test_imagenet_scale_spec_from_a_local_checkpoint(tmp_path: Path) -> None:
    """The NetSpec part of book/scaling.md's worked example: ResNet50 weights from a file, keyed by its bytes."""
    torch.manual_seed(1)
    source = build_imagenet_model("resnet50", num_classes=1000)
    ckpt = tmp_path / "resnet50.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, ckpt)
    spec = NetSpec("resnet50", {"checkpoint": str(ckpt)})
    assert spec.label == "resnet50=resnet50.pt" and NetSpec.create("resnet50", checkpoint=ckpt) == spec
    net = spec.build("cpu")
    for name, value in source.state_dict().items():
        torch.testing.assert_close(net.state_dict()[name], value)
    before = spec.key()["checkpoint_sha256"]
    torch.save({"state_dict": {}}, ckpt)  # other weights in the same file: another cache entry
    assert spec.key()["checkpoint_sha256"] != before
    assert "checkpoint_sha256" not in NetSpec("resnet50", {"checkpoint": str(tmp_path / "gone.pt")}).key()


class _RunsCode:
    """An object whose unpickling runs a shell command (what a hostile checkpoint holds)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused_unread(tmp_path: Path, capsys) -> None:
    """Only torch.load(weights_only=True): no fallback that unpickles (it ran os.system), from the API or the CLI;
    the message names the file and says how to convert a trusted one."""
    from advgeom import cli

    marker = tmp_path / "code-ran"
    path = tmp_path / "hostile.pt"
    torch.save({"state_dict": _RunsCode(marker), "epoch": 3}, path)
    with pytest.raises(ValueError) as err:
        get_network("resnet50", checkpoint=path)
    message = str(err.value)
    assert message.startswith(f"{path} needs the Python object posix.system to load") and "\n" not in message
    assert "torch.load(weights_only=True) only" in message
    convert = "in a Python session you trust: load it there with the unpickling your torch version needs, keep only"
    assert convert in message and "torch.save(obj['state_dict'], 'weights.pt')" in message
    assert "weights_only=False" not in message  # no unsafe call to copy and paste
    assert cli.main(["sweep", "--model", f"resnet50={path}", "--scheduler", "serial", "--quiet"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("advgeom: error: ") and str(path) in line and "weights_only" in line
    assert not marker.exists()


def test_a_checkpoint_with_training_arguments_is_refused_with_how_to_convert_it(tmp_path: Path) -> None:
    import argparse

    path = tmp_path / "robustness.ckpt"
    torch.save({"model": resnet18(weights=None).state_dict(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(ValueError, match=r"needs the Python object argparse.Namespace to load.*then pass weights.pt"):
        load_checkpoint_state_dict(path)
