"""ImageNet-scale builders: local checkpoints in every supported layout (random weights, no downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18, resnet50

from advgeom.models import build_imagenet_model, extract_representations, layer_names, load_checkpoint_state_dict
from advgeom.models.imagenet import IMAGENET_MEAN, IMAGENET_STD


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
        net = build_imagenet_model("resnet50", path)
        assert not net.training
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
        other = build_imagenet_model("vone_resnet50", path, simple_channels=8, complex_channels=8, gabor_seed=9)
        assert torch.equal(other.vone.q0, net.vone.q0)  # the checkpoint's filters replace the sampled ones
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(1)
            outputs.append(other(x))
    torch.testing.assert_close(outputs[0], outputs[1])
    assert layer_names(net) == ["pixels", "vone", "layer1", "layer2", "layer3", "layer4", "logits"]


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_imagenet_model("resnet50", tmp_path / "missing.pt")
    torch.save(resnet18(weights=None).state_dict(), tmp_path / "r18.pt")
    with pytest.raises(ValueError, match="does not fit resnet50"):
        build_imagenet_model("resnet50", tmp_path / "r18.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not be read"):
        load_checkpoint_state_dict(tmp_path / "junk.pt")
    torch.save({"epoch": 1, "args": {"lr": 0.1}}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="holds no state dict"):
        load_checkpoint_state_dict(tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="arch='vgg16'"):
        build_imagenet_model("vgg16")
