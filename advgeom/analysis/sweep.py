"""Measurement sweeps beyond one process: fan (network, eps, protocol, seed[, layer]) out over Dask.

A sweep is a list of :class:`SweepTask` (what to measure: a network as a
:class:`advgeom.zoo.NetSpec`, its images as a :class:`DataSpec`, a
:class:`~advgeom.analysis.protocol.Protocol`, the layers and the kind of measurement), built
by :func:`make_tasks` from a grid. :func:`run_sweep` runs every task not already cached and
returns one DataFrame (one row per task and layer, in task order, whatever order the workers
finish in):

* ``scheduler="local"`` (default): a ``dask.distributed.LocalCluster`` of ``n_workers`` processes;
* ``scheduler="tcp://host:8786"`` or ``client=``: an existing Dask cluster (``dask scheduler`` /
  ``dask worker`` on other machines, dask-jobqueue on a batch system, ...);
* ``scheduler="synchronous"``: Dask's single-threaded scheduler in this process (debugging);
* ``scheduler="serial"``: a plain loop, no Dask (the reference the tests compare against).

A task is one call of :func:`advgeom.analysis.measurements.measure`, and its result lives in the
same cache (``cache_dir()/measure``, keyed by the network's content fingerprint, the images,
the protocol, the layers and the kind): a sweep and a chapter that measure the same thing share
one entry, an interrupted sweep resumes where it stopped and a re-run does no work. The networks
are built (trained, or loaded from their checkpoints) once, in this process, before any task
runs; workers on other machines need the same ``ADVGEOM_CACHE`` (a shared file system) or a copy
of it. Workers compute on ``advgeom.device.default_device()`` (CUDA when present).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.cache import atomic_path, param_key
from advgeom.checks import Constraint, Interval, Options, check_choice, check_float, check_int, check_output_file

if TYPE_CHECKING:  # heavy imports stay lazy: `advgeom --help` must not load torch
    import pandas as pd
    import torch
    from torch import nn

    from advgeom.analysis.protocol import Protocol
    from advgeom.zoo import NetSpec

SCHEDULERS = ("local", "synchronous", "serial")


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class DataSpec:
    """The images of a task: a seeded class-balanced subset (``n_classes`` x ``per_class``) of a data set.

    ``dataset`` is ``fashion-mnist`` (embedded), ``cifar10`` or ``imagefolder`` (an ImageNet-style
    tree at ``root``; ``split`` is then its sub-folder, e.g. ``val``). The same seed gives the same
    images to every model. For exemplar manifolds the P images are these ``n_classes * per_class``.
    """

    dataset: str = "fashion-mnist"
    split: str | None = "test"
    root: str | None = None
    n_classes: int = 10
    per_class: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        from advgeom.data import DATASETS

        check_choice("dataset", self.dataset, DATASETS)
        check_int("n_classes", self.n_classes, minimum=2)
        check_int("per_class", self.per_class, minimum=1)
        check_int("seed", self.seed, minimum=0)
        if self.dataset != "fashion-mnist" and self.root is None:
            raise ValueError(f"dataset {self.dataset!r} is supplied by the user: give root= the folder holding it")

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)``: images in [0, 1], grouped by class."""
        from advgeom.data import class_balanced_subset, load_image_folder, load_vision_dataset

        if self.dataset == "imagefolder":
            data = load_image_folder(self.root, self.split)
        else:
            data = load_vision_dataset(self.dataset, self.split or "test", self.root)
        return class_balanced_subset(data, self.n_classes, self.per_class, seed=self.seed)


def _default_protocol() -> Protocol:
    from advgeom.analysis.protocol import Protocol

    return Protocol()


@dataclass(frozen=True)
class SweepTask:
    """One measurement: a network, its images, a protocol, the layers (None: all) and the kind
    (``"manifolds"`` or ``"overlap"``, see :func:`advgeom.analysis.measurements.measure`)."""

    model: NetSpec
    data: DataSpec = field(default_factory=DataSpec)
    protocol: Protocol = field(default_factory=_default_protocol)
    layers: tuple[str, ...] | None = None
    kind: str = "manifolds"

    def __post_init__(self) -> None:
        from advgeom.analysis.measurements import KINDS

        check_choice("kind", self.kind, KINDS)

    def describe(self) -> dict[str, Any]:
        """The task's fields as plain values (for names and logs; the cache key is the measurement's)."""
        return {"model": self.model.key(), "data": asdict(self.data), "protocol": asdict(self.protocol),
                "layers": None if self.layers is None else list(self.layers), "kind": self.kind}  # fmt: skip


def make_tasks(
    models: Sequence[NetSpec],
    eps: Sequence[float],
    seeds: Sequence[int] = (0,),
    *,
    protocol: Protocol | None = None,
    protocols: Sequence[Protocol] | None = None,
    data: DataSpec | None = None,
    layers: Sequence[str] | None = None,
    per_layer: bool = False,
    kind: str = "manifolds",
) -> list[SweepTask]:
    """The grid models x protocols x eps x seeds (x layers when ``per_layer``) as tasks.

    ``protocol`` (or several ``protocols``) gives every other analysis setting; its ``eps`` and
    ``seed`` are replaced by each grid value. Seed ``s`` also selects the images (``data`` with
    ``seed=s``), so every model sees the same images for a seed. ``per_layer`` makes one task per
    layer (for very large networks; otherwise one task measures all ``layers`` from one forward pass).
    """
    if protocol is not None and protocols is not None:
        raise ValueError("give protocol= or protocols=, not both")
    protocols = list(protocols) if protocols is not None else [protocol or _default_protocol()]
    data = data or DataSpec()
    if not models or not eps or not seeds or not protocols:
        raise ValueError("models, eps, seeds and protocols must each hold at least one value")
    if per_layer and not layers:
        raise ValueError("per_layer=True needs the layer names (layers=[...])")
    layer_groups: list[tuple[str, ...] | None] = (
        [(name,) for name in layers] if per_layer else [None if layers is None else tuple(layers)]
    )
    tasks = []
    for model, proto, e, s, group in product(models, protocols, eps, seeds, layer_groups):
        e = check_float("eps", e, minimum=0.0)
        s = check_int("seed", s, minimum=0)
        tasks.append(SweepTask(model, replace(data, seed=s), replace(proto, eps=e, seed=s), group, kind))
    return tasks


# ----------------------------------------------------------------------------- tasks


@functools.lru_cache(maxsize=4)
def _model(spec: NetSpec, device: str) -> nn.Module:
    return spec.build(device)


@functools.lru_cache(maxsize=8)
def _data(spec: DataSpec) -> tuple[torch.Tensor, torch.Tensor]:
    return spec.load()


def measure_task(task: SweepTask, cache: bool = True) -> pd.DataFrame:
    """A task's measurement (:func:`advgeom.analysis.measurements.measure`; cached unless ``cache=False``),
    one row per layer.

    Runs on ``default_device()``. The measurement seeds every noise draw with the protocol seed, so
    stochastic networks draw the same noise wherever the task runs.
    """
    from advgeom.analysis.measurements import measure
    from advgeom.device import default_device

    model = _model(task.model, str(default_device()))
    x, y = _data(task.data)
    layers = None if task.layers is None else list(task.layers)
    return measure(model, x, y, task.protocol, layers, kind=task.kind, cache=cache)


def _run(task: SweepTask, threads: int, cache: bool = True) -> pd.DataFrame:
    """:func:`measure_task` with ``threads`` BLAS and torch threads.

    The thread count is fixed because results can depend on it (reduction order in BLAS), and
    a sweep must give the same numbers whichever scheduler runs it.
    """
    from advgeom.threads import limited_threads

    with limited_threads(threads):
        return measure_task(task, cache)


# ----------------------------------------------------------------------------- runner


def task_key(task: SweepTask, fingerprint: str | None = None) -> dict:
    """The cache key of a task: its measurement's (:func:`advgeom.analysis.measurements.measure_key`).

    ``fingerprint``: the network's :func:`~advgeom.fingerprint.model_fingerprint` if known (else the
    network is built, or loaded, here to compute it).
    """
    from advgeom.analysis.measurements import measure_key
    from advgeom.device import default_device
    from advgeom.fingerprint import model_fingerprint

    if fingerprint is None:
        fingerprint = model_fingerprint(_model(task.model, str(default_device())))
    x, y = _data(task.data)
    return measure_key(fingerprint, x, y, task.protocol, task.layers, task.kind)


def task_path(task: SweepTask, fingerprint: str | None = None) -> Path:
    """The cache file of a task: its measurement's (:func:`advgeom.analysis.measurements.measure_path`)."""
    from advgeom.analysis.measurements import measure_path

    return measure_path(task_key(task, fingerprint))


def run_sweep(
    tasks: Iterable[SweepTask],
    *,
    scheduler: str = "local",
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    client: Any = None,
    cache: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``tasks`` (those not cached) and return all results as one DataFrame, in task order.

    ``scheduler``: ``"local"`` (a LocalCluster of ``n_workers`` processes with ``threads_per_worker``
    threads; default: one worker per 2 free CPU cores, :mod:`advgeom.threads`), ``"synchronous"``,
    ``"serial"``, or the address of a running Dask scheduler; ``client``: a ``distributed.Client`` to use
    instead. Every task runs with ``threads_per_worker`` BLAS and torch threads, whatever the
    scheduler, so the numbers do not depend on where it ran. ``cache=False`` recomputes everything
    and writes nothing. The ``model`` column holds each network's :attr:`~advgeom.zoo.NetSpec.label`.
    The frame's ``attrs`` hold ``computed`` and ``cached`` (task counts) and ``seconds``.
    """
    import pandas as pd
    from tqdm import tqdm

    from advgeom.analysis.measurements import read_measurement, store_measurement

    tasks = list(tasks)
    if not tasks:
        raise ValueError("run_sweep got no tasks (build them with advgeom.analysis.sweep.make_tasks)")
    bad = [t for t in tasks if not isinstance(t, SweepTask)]
    if bad:
        raise ValueError(f"tasks must be SweepTask objects, got {type(bad[0]).__name__}: {bad[0]!r}")
    if client is None and scheduler not in SCHEDULERS and "://" not in scheduler:
        raise ValueError(
            f"scheduler={scheduler!r} is not allowed; choose one of {list(SCHEDULERS)} or a scheduler address "
            "like 'tcp://host:8786'"
        )
    start = time.perf_counter()
    keys: list[dict | None] = [None] * len(tasks)
    if cache:
        from advgeom.device import default_device
        from advgeom.fingerprint import model_fingerprint

        # every network is built (trained or loaded) once, here, before any task runs
        fingerprints = {spec: model_fingerprint(_model(spec, str(default_device()))) for spec in
                        dict.fromkeys(t.model for t in tasks)}  # fmt: skip
        keys = [task_key(t, fingerprints[t.model]) for t in tasks]
    results: list[pd.DataFrame | None] = [read_measurement(k) if k is not None else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    n_cached = len(tasks) - len(todo)
    if todo:
        bar = tqdm(total=len(todo), desc=f"sweep ({n_cached} cached)", disable=not progress)

        def finish(i: int, frame: pd.DataFrame) -> None:
            key = keys[i]
            results[i] = store_measurement(frame, key) if key is not None else frame
            bar.update()

        try:
            if client is None and scheduler == "serial":
                for i in todo:
                    finish(i, _run(tasks[i], threads_per_worker, cache))
            elif client is None and scheduler == "synchronous":
                _run_synchronous(tasks, todo, finish, threads_per_worker, cache)
            else:
                _run_distributed(tasks, todo, finish, client, scheduler, n_workers, threads_per_worker, cache)
        finally:
            bar.close()
    frames = []
    for task, frame in zip(tasks, results, strict=True):
        frame = frame.copy()
        frame.insert(0, "model", task.model.label)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs.update(computed=len(todo), cached=n_cached, seconds=round(time.perf_counter() - start, 2))
    return frame


def _run_synchronous(tasks, todo, finish: Callable, threads: int, cache: bool) -> None:
    import dask

    delayed = [dask.delayed(_run)(tasks[i], threads, cache, dask_key_name=f"sweep-{i}") for i in todo]
    for i, frame in zip(todo, dask.compute(*delayed, scheduler="synchronous"), strict=True):
        finish(i, frame)


def _free_cores() -> int:
    """The cores other processes leave free (:func:`advgeom.threads.decide_threads`; all of ours with sizing off)."""
    from advgeom.threads import available_cores, decide_threads

    return decide_threads().threads or available_cores()


def _run_distributed(tasks, todo, finish: Callable, client, scheduler, n_workers, threads_per_worker, cache) -> None:
    from distributed import Client, LocalCluster, as_completed

    own: list[Any] = []
    if client is None:
        if scheduler == "local":
            n_workers = n_workers or max(1, _free_cores() // 2)
            cluster = LocalCluster(
                n_workers=check_int("n_workers", n_workers, minimum=1),
                threads_per_worker=check_int("threads_per_worker", threads_per_worker, minimum=1),
                processes=True, dashboard_address=None,
            )  # fmt: skip
            own.append(cluster)
            client = Client(cluster)
        else:
            client = Client(scheduler)
        own.insert(0, client)
    try:
        futures = {}
        for i in todo:
            key = f"sweep-{param_key(tasks[i].describe())}-{i}"
            futures[client.submit(_run, tasks[i], threads_per_worker, cache, key=key, pure=False)] = i
        for future in as_completed(futures):
            finish(futures[future], future.result())
    finally:
        import logging

        nanny = logging.getLogger("distributed.nanny")
        level = nanny.level
        nanny.setLevel(logging.ERROR)  # workers busy with torch threads may need killing at close: not an error
        try:
            for obj in own:
                obj.close()
        finally:
            nanny.setLevel(level)


# ----------------------------------------------------------------------------- command line


@dataclass(frozen=True)
class OptionValue:
    """An argparse ``type=``: one word of an option, read as ``kind`` and checked against ``constraint``.

    A bad word is refused as the command line is read, before anything is built, with a message naming
    the option (``argument --n-t: n_t=0 is too small; it must be >= 1``).
    """

    name: str
    kind: type
    constraint: Constraint

    def __call__(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            wanted = {int: "an integer", float: "a number"}.get(self.kind, self.kind.__name__)
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}") from None
        try:
            return self.constraint.convert(self.name, value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None


def _option_constraints() -> dict[str, tuple[type, Constraint]]:
    """The declared values of ``advgeom sweep``'s options: destination -> (word type, constraint). Sizes are
    bounded so that a typo cannot ask for terabytes; the protocol, data and networks check the rest."""
    from advgeom.analysis.protocol import MANIFOLDS
    from advgeom.attacks import NORMS
    from advgeom.data import DATASETS

    count = {"repeats": (1, 1000), "attack_steps": (1, 10_000), "eot": (1, 1000), "width": (2, 20_000),
             "n_t": (1, 5000), "n_classes": (2, 1000), "per_class": (1, 10_000), "epochs": (1, 1000),
             "train_size": (1, 10_000_000), "workers": (1, 1024), "seeds": (0, 10**9)}  # fmt: skip
    out: dict[str, tuple[type, Constraint]] = {k: (int, Interval(int, lo, hi)) for k, (lo, hi) in count.items()}
    out.update(eps=(float, Interval(float, 0.0, None)), noise_scale=(float, Interval(float, 0.0, 100.0)),
               manifold=(str, Options(MANIFOLDS)), norm=(str, Options(NORMS)), dataset=(str, Options(DATASETS)))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``advgeom sweep``; every numeric or named option is read through :class:`OptionValue`."""
    checked = {dest: OptionValue(dest, kind, constraint) for dest, (kind, constraint) in _option_constraints().items()}
    parser.add_argument(
        "--model", action="append", required=True, metavar="NAME[=CHECKPOINT]",
        help="a network of `advgeom.zoo.list_networks()` (the vision zoo: standard, adversarial, vone, vone_nonoise; "
        "ImageNet-scale: resnet50, vone_resnet50 with a local checkpoint file, resnet50=/path/to/ckpt.pt); repeatable",
    )  # fmt: skip
    parser.add_argument("--eps", type=checked["eps"], nargs="+", default=[0.0], help="attack strengths (default: 0)")
    parser.add_argument("--seeds", type=checked["seeds"], nargs="+", default=[0], help="seeds: images, attacks, MFTMA")
    parser.add_argument("--manifold", type=checked["manifold"], default="exemplar",
                        help="class or exemplar (default exemplar)")  # fmt: skip
    parser.add_argument("--norm", type=checked["norm"], default="linf", help="linf, l2 or l1")
    parser.add_argument("--repeats", type=checked["repeats"], default=8, help="M perturbed versions per exemplar")
    parser.add_argument("--attack-steps", type=checked["attack_steps"], default=16, help="PGD steps")
    parser.add_argument("--eot", type=checked["eot"], default=None,
                        help="noise draws per attack gradient (default: 8 if noisy)")  # fmt: skip
    parser.add_argument("--width", type=checked["width"], default=2000, help="random-projection width")
    parser.add_argument("--n-t", type=checked["n_t"], default=200, help="MFTMA Gaussian samples")
    parser.add_argument("--layers", nargs="+", default=None, help="layers to analyse (default all)")
    parser.add_argument("--per-layer", action="store_true", help="one task per layer")
    parser.add_argument("--dataset", type=checked["dataset"], default="fashion-mnist",
                        help="fashion-mnist, cifar10 or imagefolder")  # fmt: skip
    parser.add_argument("--data-root", default=None, help="folder of a user-supplied data set")
    parser.add_argument("--split", default=None, help="data split / ImageFolder sub-folder (default test; val)")
    parser.add_argument("--n-classes", type=checked["n_classes"], default=10, help="classes drawn per seed")
    parser.add_argument("--per-class", type=checked["per_class"], default=5, help="images per class")
    parser.add_argument("--noise-scale", type=checked["noise_scale"], default=None, help="VOne noise multiplier")
    parser.add_argument("--epochs", type=checked["epochs"], default=None,
                        help="training epochs of zoo models (default recipe)")  # fmt: skip
    parser.add_argument("--train-size", type=checked["train_size"], default=None,
                        help="train zoo models on this many images")  # fmt: skip
    parser.add_argument("--scheduler", default="local", help="local, synchronous, serial, or tcp://HOST:PORT")
    parser.add_argument("--workers", type=checked["workers"], default=None, help="LocalCluster worker processes")
    parser.add_argument("--out", default=None, help="write the results to this CSV file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def check_layers(models: Sequence[NetSpec], layers: Sequence[str]) -> None:
    """ValueError naming the first of ``layers`` that some network of ``models`` does not have (its
    untrained architecture is built to list them: nothing is trained or loaded)."""
    import torch

    from advgeom.models import layer_names
    from advgeom.zoo import build_network, network_info

    for spec in models:
        options = {k: v for k, v in spec.kwargs.items() if k in network_info(spec.name).build_options}
        with torch.random.fork_rng(devices=[]):  # building draws weights: leave the caller's RNG alone
            names = layer_names(build_network(spec.name, **options))
        unknown = [layer for layer in layers if layer not in names]
        if unknown:
            raise ValueError(
                f"--layers: {unknown[0]!r} is not a layer of {spec.label}; its layers are {', '.join(names)}"
            )


def parse_model(text: str, args: argparse.Namespace) -> NetSpec:
    """``NAME`` or ``ARCH=CHECKPOINT`` (command line) as a :class:`~advgeom.zoo.NetSpec`.

    The command's network options (``--noise-scale``, ``--epochs``, ``--train-size``, the data set)
    go to the networks that take them.
    """
    from advgeom.zoo import NetSpec, network_info

    name, _, checkpoint = text.partition("=")
    accepted = network_info(name).options  # an unknown name is refused here, naming the networks
    zoo_dataset = args.dataset if args.dataset != "imagefolder" else "fashion-mnist"
    given = {
        "dataset": zoo_dataset, "noise_scale": args.noise_scale, "epochs": args.epochs, "train_size": args.train_size,
        "data_root": args.data_root if args.dataset != "fashion-mnist" else None,
    }  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None and k in accepted}
    if checkpoint:  # refused, with its reason, by a network that is trained here rather than read from a file
        options["checkpoint"] = checkpoint
    return NetSpec.create(name, **options)


def run_from_args(args: argparse.Namespace) -> pd.DataFrame:
    """What ``advgeom sweep`` does: check ``--out`` and ``--layers``, build the grid, run it, write ``--out``,
    print a summary."""
    from advgeom.analysis.protocol import Protocol

    out = check_output_file("--out", args.out) if args.out is not None else None  # before any compute
    models = [parse_model(m, args) for m in args.model]
    if args.layers:
        check_layers(models, args.layers)
    split = args.split or ("val" if args.dataset == "imagefolder" else "test")
    data = DataSpec(args.dataset, split, args.data_root, args.n_classes, args.per_class)
    protocol = Protocol(
        manifold=args.manifold, norm=args.norm, repeats=args.repeats, attack_steps=args.attack_steps, eot=args.eot,
        width=args.width, n_t=args.n_t,
    )  # fmt: skip
    tasks = make_tasks(models, args.eps, args.seeds, protocol=protocol, data=data, layers=args.layers,
                       per_layer=args.per_layer)  # fmt: skip
    frame = run_sweep(tasks, scheduler=args.scheduler, n_workers=args.workers, progress=not args.quiet)
    if out is not None:
        with atomic_path(out) as tmp:
            frame.to_csv(tmp, index=False)
    summary = frame.groupby(["model", "eps", "layer"], sort=False)[["capacity", "radius", "dimension"]].median()
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"[advgeom] {len(tasks)} tasks: {frame.attrs['computed']} computed, {frame.attrs['cached']} cached, "
          f"{frame.attrs['seconds']:.1f} s" + (f"; results in {args.out}" if args.out else ""))  # fmt: skip
    return frame
