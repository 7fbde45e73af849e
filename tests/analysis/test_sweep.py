"""advgeom.analysis.sweep: Dask fan-out of measurements equals the serial loop; tasks share the measurement cache."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch

from advgeom import cli
from advgeom.analysis import Protocol, measurements, sweep
from advgeom.analysis.sweep import DataSpec, make_tasks, run_sweep
from advgeom.cache import read_entry, write_entry
from advgeom.zoo import NetSpec

TINY = {"train_size": 40, "epochs": 1}
PROTOCOL = Protocol(manifold="exemplar", repeats=3, attack_steps=2, n_t=20, width=100)
DATA = DataSpec(n_classes=3, per_class=2)
LAYERS = ["pixels", "block1", "logits"]


@pytest.fixture(autouse=True)
def _own_sweep_cache(tmp_path, tmp_path_factory, monkeypatch):
    """A fresh cache per test (sweep results), sharing the tiny trained models across tests."""
    models = tmp_path_factory.getbasetemp() / "sweep-models"
    models.mkdir(exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models").symlink_to(models, target_is_directory=True)
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "cache"))


def tiny_tasks() -> list[sweep.SweepTask]:
    models = [NetSpec.create("standard", **TINY), NetSpec.create("vone", **TINY)]
    return make_tasks(models, [0.0, 0.05], [0], protocol=PROTOCOL, data=DATA, layers=LAYERS)


def test_make_tasks_grid_and_seeds():
    models = [NetSpec.create("standard", **TINY), NetSpec.create("vone", noise_scale=0.5, **TINY)]
    tasks = make_tasks(models, [0, 0.1], [1, 2], protocol=PROTOCOL, data=DATA)
    assert len(tasks) == 2 * 2 * 2
    assert {(t.model.label, t.protocol.eps, t.protocol.seed) for t in tasks} == {
        (m, e, s) for m in ("standard", "vone@0.5") for e in (0.0, 0.1) for s in (1, 2)
    }
    assert all(t.data.seed == t.protocol.seed for t in tasks)  # a seed picks the images too
    per_layer = make_tasks(models[:1], [0.0], protocol=PROTOCOL, layers=LAYERS, per_layer=True)
    assert [t.layers for t in per_layer] == [("pixels",), ("block1",), ("logits",)]
    paths = {sweep.task_path(t) for t in tasks}
    assert len(paths) == len(tasks)
    renamed = NetSpec.create("standard", label="baseline", **TINY)
    assert renamed.key() == NetSpec.create("standard", **TINY).key()  # the label is not part of the key
    assert renamed.label == "baseline"
    overlap = make_tasks(models[:1], [0.1], protocol=PROTOCOL, kind="overlap")
    assert overlap[0].kind == "overlap" and sweep.task_path(overlap[0]) != sweep.task_path(tasks[0])


def test_dask_cluster_equals_serial_and_rerun_does_no_work(monkeypatch):
    tasks = tiny_tasks()
    reference = run_sweep(tasks, scheduler="serial", cache=False, progress=False)
    assert reference.attrs["computed"] == 4 and len(reference) == 4 * len(LAYERS)
    assert list(reference["model"].unique()) == ["standard", "vone"]
    # deterministic net: clean exemplar manifolds are points; the noisy one has extent after its noise stage
    clean = reference[reference.eps == 0].set_index(["model", "layer"])
    assert clean.loc[("standard", "logits"), "radius"] < 1e-6
    assert clean.loc[("vone", "logits"), "radius"] > 0.01

    distributed = run_sweep(tasks, scheduler="local", n_workers=2, progress=False)
    assert distributed.attrs == {**distributed.attrs, "computed": 4, "cached": 0}
    pd.testing.assert_frame_equal(distributed, reference, check_exact=True)

    def no_work(*args, **kwargs):
        raise AssertionError("a cached sweep must not run any task")

    monkeypatch.setattr(sweep, "_run", no_work)
    again = run_sweep(tasks, scheduler="local", n_workers=2, progress=False)
    assert again.attrs["computed"] == 0 and again.attrs["cached"] == 4
    pd.testing.assert_frame_equal(again, reference, check_exact=True)


def test_synchronous_scheduler_and_partial_cache():
    tasks = tiny_tasks()
    first = run_sweep(tasks[:2], scheduler="synchronous", progress=False)
    assert first.attrs["computed"] == 2
    both = run_sweep(tasks, scheduler="synchronous", progress=False)
    assert (both.attrs["computed"], both.attrs["cached"]) == (2, 2)
    serial = run_sweep(tasks, scheduler="serial", cache=False, progress=False)
    pd.testing.assert_frame_equal(both, serial, check_exact=True)


def test_corrupt_task_cache_is_rebuilt_with_a_warning():
    task = tiny_tasks()[:1]
    good = run_sweep(task, scheduler="serial", progress=False)
    path = sweep.task_path(task[0])
    path.write_bytes(b"\x00\x01 not a csv")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = run_sweep(task, scheduler="serial", progress=False)
    assert rebuilt.attrs["computed"] == 1
    pd.testing.assert_frame_equal(rebuilt, good, check_exact=True)
    # a table with other columns, even in a good entry, is set aside (it raised KeyError on every run)
    key = sweep.task_key(task[0])
    write_entry(path, key, read_entry(path, key).replace(b"radius", b"rad", 1))
    with pytest.warns(UserWarning, match="unexpected \\['rad'\\]"):
        assert run_sweep(task, scheduler="serial", progress=False).attrs["computed"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_sweep(task, scheduler="serial", progress=False).attrs["cached"] == 1


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: NetSpec.create("resnet18"), "name='resnet18' is not allowed"),
        (lambda: NetSpec.create("standard", checkpoint="x.pt"), "checkpoint= is for the ImageNet"),
        (lambda: NetSpec.create("vone", noise_scale=-1).build(), "noise_scale=-1.0 is too small"),
        (lambda: DataSpec("cifar10"), "give root="),
        (lambda: DataSpec(n_classes=1), "n_classes=1 is too small"),
        (lambda: make_tasks([NetSpec.create("standard")], []), "at least one value"),
        (lambda: make_tasks([NetSpec.create("standard")], [0.0], per_layer=True), "per_layer=True needs"),
        (lambda: run_sweep([]), "no tasks"),
        (lambda: run_sweep(["standard"]), "must be SweepTask objects"),
        (lambda: run_sweep(tiny_tasks(), scheduler="threads"), "scheduler='threads' is not allowed"),
        (lambda: make_tasks([NetSpec.create("standard")], [0.0], kind="volume"), "kind='volume' is not allowed"),
    ],
)
def test_bad_inputs_name_the_value(make, fragment):
    with pytest.raises(ValueError) as err:
        make()
    assert fragment in str(err.value)


def test_imagenet_scale_spec_from_a_local_checkpoint_and_image_folder(tmp_path):
    """The worked example of book/scaling.md at toy size: ResNet50 weights from a file, an ImageFolder tree."""
    from PIL import Image

    from advgeom.models import build_imagenet_model

    torch.manual_seed(1)
    source = build_imagenet_model("resnet50", num_classes=1000)
    ckpt = tmp_path / "resnet50.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, ckpt)
    gen = torch.Generator().manual_seed(0)
    for c in ("n01", "n02"):
        (tmp_path / "imagenet" / "val" / c).mkdir(parents=True)
        for i in range(2):
            pixels = (torch.rand(64, 80, 3, generator=gen) * 255).to(torch.uint8).numpy()
            Image.fromarray(pixels).save(tmp_path / "imagenet" / "val" / c / f"{i}.png")
    spec = NetSpec.create("resnet50", checkpoint=str(ckpt))
    net = spec.build("cpu")
    for name, value in source.state_dict().items():
        torch.testing.assert_close(net.state_dict()[name], value)
    data = DataSpec("imagefolder", "val", str(tmp_path / "imagenet"), n_classes=2, per_class=2)
    tasks = make_tasks([spec], [0.0], protocol=Protocol(manifold="exemplar", repeats=2, n_t=10, width=50), data=data,
                       layers=["layer4", "logits"])  # fmt: skip
    frame = run_sweep(tasks, scheduler="serial", progress=False)
    assert list(frame["layer"]) == ["layer4", "logits"] and set(frame["model"]) == {"resnet50=resnet50.pt"}
    assert (frame["radius"] < 1e-6).all()  # a deterministic net: clean exemplar manifolds are points
    before = spec.key()["checkpoint_sha256"]
    torch.save({"state_dict": {}}, ckpt)  # other weights in the same file: another cache entry
    assert spec.key()["checkpoint_sha256"] != before


def test_cli_sweep(tmp_path, capsys):
    out = tmp_path / "results.csv"
    args = ["sweep", "--model", "standard", "--train-size", "40", "--epochs", "1", "--eps", "0", "0.05",
            "--n-classes", "3", "--per-class", "2", "--repeats", "2", "--attack-steps", "2", "--n-t", "10",
            "--width", "50", "--layers", "pixels", "logits", "--scheduler", "serial", "--quiet", "--out", str(out)]
    assert cli.main(args) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 4 and set(frame["eps"]) == {0.0, 0.05}
    assert "2 tasks: 2 computed, 0 cached" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert "2 tasks: 0 computed, 2 cached" in capsys.readouterr().out
    assert cli.main(["sweep", "--model", "resnet18", "--scheduler", "serial"]) == cli.EXIT_USER_ERROR
    assert "name='resnet18' is not allowed" in capsys.readouterr().err


def test_a_sweep_and_an_in_process_measurement_share_one_cache_entry():
    task = tiny_tasks()[1]  # the stochastic network at eps 0
    swept = run_sweep([task], scheduler="serial", progress=False)
    model = task.model.build("cpu")
    x, y = task.data.load()
    calls = []
    original = measurements.MEASUREMENTS["manifolds"]
    measurements.MEASUREMENTS["manifolds"] = lambda *a: calls.append(1) or original(*a)
    try:
        direct = measurements.measure(model, x, y, task.protocol, list(task.layers))
    finally:
        measurements.MEASUREMENTS["manifolds"] = original
    assert calls == []  # read from the entry the sweep wrote
    pd.testing.assert_frame_equal(swept.drop(columns="model"), direct, check_exact=True)
