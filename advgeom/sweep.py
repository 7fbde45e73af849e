"""Geometry sweeps beyond one process: fan (model, eps, protocol, seed[, layer]) analyses out over Dask.

A sweep is a list of :class:`SweepTask` (what to measure: a :class:`ModelSpec`, a :class:`DataSpec`,
an :class:`advgeom.analysis.Protocol` and the layers), built by :func:`make_tasks` from a grid.
:func:`run_sweep` runs every task not already cached and returns one DataFrame (one row per task
and layer, in task order, whatever order the workers finish in):

* ``scheduler="local"`` (default): a ``dask.distributed.LocalCluster`` of ``n_workers`` processes;
* ``scheduler="tcp://host:8786"`` or ``client=``: an existing Dask cluster (``dask scheduler`` /
  ``dask worker`` on other machines, dask-jobqueue on a batch system, ...);
* ``scheduler="synchronous"``: Dask's single-threaded scheduler in this process (debugging);
* ``scheduler="serial"``: a plain loop, no Dask (the reference the tests compare against).

Each finished task is written to ``cache_dir()/sweep/<key>.csv`` by the client as it arrives, keyed
by every field of the task, so an interrupted sweep resumes where it stopped and a re-run does no
work. Workers compute on ``advgeom.device.default_device()`` (CUDA when present). A trained zoo
model is built once per sweep (one preparation task per model, before the analyses that need it):
workers on other machines need the same ``ADVGEOM_CACHE`` (a shared file system) or a copy of it.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advgeom.cache import atomic_path, cache_path, param_key
from advgeom.checks import check_choice, check_float, check_int

if TYPE_CHECKING:  # heavy imports stay lazy: `advgeom --help` must not load torch
    import pandas as pd
    import torch
    from torch import nn

    from advgeom.analysis import Protocol

SWEEP_FORMAT = 2  # 2: representation draws seeded inside manifold_geometry
SCHEDULERS = ("local", "synchronous", "serial")
ZOO_VARIANTS = ("standard", "adversarial", "vone", "vone_nonoise")
IMAGENET_ARCHS = ("resnet50", "vone_resnet50")


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ModelSpec:
    """A network to analyse, rebuilt on whichever worker runs the task.

    ``variant`` is a zoo variant (``standard``, ``adversarial``, ``vone``, ``vone_nonoise``;
    trained and cached by :func:`advgeom.train.get_trained_model` with ``dataset``, ``epochs``,
    ``train_size``, ``seed``, ``data_root``) or an ImageNet-scale architecture (``resnet50``,
    ``vone_resnet50``; :func:`advgeom.models.build_imagenet_model` with weights from the local
    file ``checkpoint``, random weights seeded by ``seed`` when None). ``noise_scale`` multiplies
    the VOne noise. ``name`` labels the model in the results (default: derived from the fields).
    """

    variant: str = "standard"
    dataset: str = "fashion-mnist"
    noise_scale: float | None = None
    noise_mode: str = "neuronal"
    seed: int = 0
    epochs: int | None = None
    train_size: int | None = None
    data_root: str | None = None
    checkpoint: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        check_choice("variant", self.variant, ZOO_VARIANTS + IMAGENET_ARCHS)
        check_int("seed", self.seed, minimum=0)
        if self.noise_scale is not None:
            check_float("noise_scale", self.noise_scale, minimum=0.0)
        if self.epochs is not None:
            check_int("epochs", self.epochs, minimum=1)
        if self.train_size is not None:
            check_int("train_size", self.train_size, minimum=1)
        if self.checkpoint is not None and self.variant not in IMAGENET_ARCHS:
            raise ValueError(
                f"checkpoint= is for the ImageNet architectures {IMAGENET_ARCHS}; zoo variant {self.variant!r} "
                "is trained and cached by advgeom.train.get_trained_model"
            )

    @property
    def imagenet(self) -> bool:
        """True for the ImageNet-scale architectures."""
        return self.variant in IMAGENET_ARCHS

    @property
    def label(self) -> str:
        """The model's name in the results."""
        if self.name:
            return self.name
        label = self.variant
        if self.noise_scale is not None:
            label += f"@{self.noise_scale:g}"
        if self.checkpoint:
            label += f"={Path(self.checkpoint).name}"
        return label

    def key(self) -> dict[str, Any]:
        """Cache-key fields: every field, and for a local checkpoint file a digest of its bytes."""
        out = {k: v for k, v in asdict(self).items() if k != "name"}
        if self.checkpoint and Path(self.checkpoint).is_file():
            stat = Path(self.checkpoint).stat()
            path = str(Path(self.checkpoint).resolve())
            out["checkpoint_sha256"] = _file_digest(path, stat.st_size, stat.st_mtime_ns)
        return out

    def build(self, device: torch.device | str | None = None, progress: bool = False) -> nn.Module:
        """The network in eval mode on ``device`` (trained or loaded; see the class docstring)."""
        import torch

        from advgeom.device import default_device

        device = torch.device(device) if device is not None else default_device()
        if self.imagenet:
            from advgeom.models import build_imagenet_model

            torch.manual_seed(self.seed)
            kwargs: dict[str, Any] = {}
            if self.variant == "vone_resnet50":
                kwargs = {"noise_mode": self.noise_mode, "noise_scale": 1.0 if self.noise_scale is None
                          else self.noise_scale}  # fmt: skip
            return build_imagenet_model(self.variant, self.checkpoint, **kwargs).to(device).eval()
        from advgeom.train import get_trained_model

        return get_trained_model(
            self.variant, self.dataset, noise_scale=self.noise_scale, noise_mode=self.noise_mode, seed=self.seed,
            epochs=self.epochs, progress=progress, device=device, data_root=self.data_root,
            train_size=self.train_size,
        )  # fmt: skip


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
    from advgeom.analysis import Protocol

    return Protocol()


@dataclass(frozen=True)
class SweepTask:
    """One geometry measurement: a model, its images, a protocol and the layers (None: all)."""

    model: ModelSpec
    data: DataSpec = field(default_factory=DataSpec)
    protocol: Protocol = field(default_factory=_default_protocol)
    layers: tuple[str, ...] | None = None

    def key(self, fn: Callable[[SweepTask], pd.DataFrame]) -> dict[str, Any]:
        """Everything that shapes this task's result under ``fn`` (the cache key)."""
        return {
            "format": SWEEP_FORMAT,
            "fn": f"{fn.__module__}.{fn.__qualname__}",
            "model": self.model.key(),
            "data": asdict(self.data),
            "protocol": asdict(self.protocol),
            "layers": None if self.layers is None else list(self.layers),
        }


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's bytes (memoised per path, size and modification time)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def make_tasks(
    models: Sequence[ModelSpec],
    eps: Sequence[float],
    seeds: Sequence[int] = (0,),
    *,
    protocol: Protocol | None = None,
    protocols: Sequence[Protocol] | None = None,
    data: DataSpec | None = None,
    layers: Sequence[str] | None = None,
    per_layer: bool = False,
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
        tasks.append(SweepTask(model, replace(data, seed=s), replace(proto, eps=e, seed=s), group))
    return tasks


# ----------------------------------------------------------------------------- tasks


@functools.lru_cache(maxsize=4)
def _model(spec: ModelSpec, device: str) -> nn.Module:
    return spec.build(device)


@functools.lru_cache(maxsize=8)
def _data(spec: DataSpec) -> tuple[torch.Tensor, torch.Tensor]:
    return spec.load()


def geometry_task(task: SweepTask) -> pd.DataFrame:
    """The default task: :func:`advgeom.analysis.manifold_geometry` of the task, one row per layer.

    Runs on ``default_device()``. :func:`~advgeom.analysis.manifold_geometry` seeds every noise
    draw with the protocol seed, so stochastic networks draw the same noise wherever the task runs.
    """
    from advgeom.analysis import manifold_geometry
    from advgeom.device import default_device

    model = _model(task.model, str(default_device()))
    x, y = _data(task.data)
    frame = manifold_geometry(model, x, y, task.protocol, None if task.layers is None else list(task.layers))
    frame.insert(0, "model", task.model.label)
    return frame


def prepare_model(spec: ModelSpec) -> str:
    """Train (or load) the model once before its analyses run, so workers do not train it twice."""
    from advgeom.device import default_device

    _model(spec, str(default_device()))
    return spec.label


def _run(fn: Callable[[SweepTask], pd.DataFrame], task: SweepTask, threads: int, *ready: Any) -> pd.DataFrame:
    """``fn(task)`` with ``threads`` BLAS and torch threads (``ready``: finished preparation tasks).

    The thread count is fixed because results can depend on it (reduction order in BLAS), and
    a sweep must give the same numbers whichever scheduler runs it.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            return fn(task)
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------- runner


def _task_path(task: SweepTask, fn: Callable[[SweepTask], pd.DataFrame]) -> Path:
    return cache_path("sweep", task.key(fn), ".csv")


def _load(path: Path) -> pd.DataFrame | None:
    """The cached result at ``path``, or None (missing, or unreadable: then it is removed with a warning)."""
    import pandas as pd

    if not path.exists():
        return None
    try:
        # exact float round trip: pandas >= 3 by default, older pandas only when asked
        exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        frame = pd.read_csv(path, **exact)
        if frame.empty:
            raise ValueError("empty table")
    except Exception as err:  # noqa: BLE001 - any failure means "not a good cache entry"
        import warnings

        warnings.warn(f"sweep cache file {path} is unreadable ({err!r}); recomputing it", stacklevel=3)
        path.unlink(missing_ok=True)
        return None
    if "eot" in frame:
        frame["eot"] = frame["eot"].astype(object).where(frame["eot"].notna(), None)
    return frame


def _save(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Write ``frame`` atomically and return it as read back (so fresh and cached results are identical)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return _load(path)


def run_sweep(
    tasks: Iterable[SweepTask],
    *,
    scheduler: str = "local",
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    client: Any = None,
    fn: Callable[[SweepTask], pd.DataFrame] = geometry_task,
    cache: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``tasks`` (those not cached) and return all results as one DataFrame, in task order.

    ``scheduler``: ``"local"`` (a LocalCluster of ``n_workers`` processes with
    ``threads_per_worker`` threads; default: one worker per 2 CPU cores), ``"synchronous"``,
    ``"serial"``, or the address of a running Dask scheduler; ``client``: a ``distributed.Client``
    to use instead. Every task runs with ``threads_per_worker`` BLAS and torch threads, whatever the
    scheduler, so the numbers do not depend on where it ran. ``fn`` maps a task to a DataFrame and
    must be importable on the workers (a module-level function). ``cache=False`` recomputes
    everything and writes nothing.
    The frame's ``attrs`` hold ``computed`` and ``cached`` (task counts) and ``seconds``.
    """
    import pandas as pd
    from tqdm import tqdm

    tasks = list(tasks)
    if not tasks:
        raise ValueError("run_sweep got no tasks (build them with advgeom.sweep.make_tasks)")
    bad = [t for t in tasks if not isinstance(t, SweepTask)]
    if bad:
        raise ValueError(f"tasks must be SweepTask objects, got {type(bad[0]).__name__}: {bad[0]!r}")
    if client is None and scheduler not in SCHEDULERS and "://" not in scheduler:
        raise ValueError(
            f"scheduler={scheduler!r} is not allowed; choose one of {list(SCHEDULERS)} or a scheduler address "
            "like 'tcp://host:8786'"
        )
    start = time.perf_counter()
    paths = [_task_path(t, fn) for t in tasks] if cache else [None] * len(tasks)
    results: list[pd.DataFrame | None] = [_load(p) if p is not None else None for p in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    n_cached = len(tasks) - len(todo)
    if todo:
        bar = tqdm(total=len(todo), desc=f"sweep ({n_cached} cached)", disable=not progress)

        def finish(i: int, frame: pd.DataFrame) -> None:
            results[i] = _save(frame, paths[i]) if paths[i] is not None else frame
            bar.update()

        try:
            if client is None and scheduler == "serial":
                for i in todo:
                    finish(i, _run(fn, tasks[i], threads_per_worker))
            elif client is None and scheduler == "synchronous":
                _run_synchronous(tasks, todo, fn, finish, threads_per_worker)
            else:
                _run_distributed(tasks, todo, fn, finish, client, scheduler, n_workers, threads_per_worker)
        finally:
            bar.close()
    frame = pd.concat(results, ignore_index=True)
    frame.attrs.update(computed=len(todo), cached=n_cached, seconds=round(time.perf_counter() - start, 2))
    return frame


def _run_synchronous(tasks, todo, fn, finish, threads) -> None:
    import dask

    delayed = [dask.delayed(_run)(fn, tasks[i], threads, dask_key_name=f"sweep-{i}") for i in todo]
    for i, frame in zip(todo, dask.compute(*delayed, scheduler="synchronous"), strict=True):
        finish(i, frame)


def _run_distributed(tasks, todo, fn, finish, client, scheduler, n_workers, threads_per_worker) -> None:
    import os

    from distributed import Client, LocalCluster, as_completed

    own: list[Any] = []
    if client is None:
        if scheduler == "local":
            n_workers = n_workers or max(1, (os.cpu_count() or 2) // 2)
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
        prepared = {}
        for i in todo:
            spec = tasks[i].model
            if fn is geometry_task and spec not in prepared:
                prepared[spec] = client.submit(prepare_model, spec, key=f"prepare-{param_key(spec.key())}")
        futures = {}
        for i in todo:
            deps = [prepared[tasks[i].model]] if tasks[i].model in prepared else []
            key = f"sweep-{param_key(tasks[i].key(fn))}-{i}"
            futures[client.submit(_run, fn, tasks[i], threads_per_worker, *deps, key=key, pure=False)] = i
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``advgeom sweep``."""
    parser.add_argument(
        "--model", action="append", required=True, metavar="NAME[=CHECKPOINT]",
        help=f"a zoo variant {list(ZOO_VARIANTS)} or an ImageNet architecture {list(IMAGENET_ARCHS)} with its local "
        "checkpoint file (resnet50=/path/to/ckpt.pt); repeatable",
    )  # fmt: skip
    parser.add_argument("--eps", type=float, nargs="+", default=[0.0], help="attack strengths (default: 0)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds: images, attacks, MFTMA")
    parser.add_argument("--manifold", default="exemplar", help="class or exemplar (default exemplar)")
    parser.add_argument("--norm", default="linf", help="linf, l2 or l1")
    parser.add_argument("--repeats", type=int, default=8, help="M perturbed versions per exemplar")
    parser.add_argument("--attack-steps", type=int, default=16, help="PGD steps")
    parser.add_argument("--eot", type=int, default=None, help="noise draws per attack gradient (default: 8 if noisy)")
    parser.add_argument("--width", type=int, default=2000, help="random-projection width")
    parser.add_argument("--n-t", type=int, default=200, help="MFTMA Gaussian samples")
    parser.add_argument("--layers", nargs="+", default=None, help="layers to analyse (default all)")
    parser.add_argument("--per-layer", action="store_true", help="one task per layer")
    parser.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, cifar10 or imagefolder")
    parser.add_argument("--data-root", default=None, help="folder of a user-supplied data set")
    parser.add_argument("--split", default=None, help="data split / ImageFolder sub-folder (default test; val)")
    parser.add_argument("--n-classes", type=int, default=10, help="classes drawn per seed")
    parser.add_argument("--per-class", type=int, default=5, help="images per class")
    parser.add_argument("--noise-scale", type=float, default=None, help="VOne noise multiplier")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs of zoo models (default recipe)")
    parser.add_argument("--train-size", type=int, default=None, help="train zoo models on this many images")
    parser.add_argument("--scheduler", default="local", help="local, synchronous, serial, or tcp://HOST:PORT")
    parser.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes")
    parser.add_argument("--out", default=None, help="write the results to this CSV file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_model(text: str, args: argparse.Namespace) -> ModelSpec:
    """``NAME`` or ``ARCH=CHECKPOINT`` (command line) as a :class:`ModelSpec`."""
    name, _, checkpoint = text.partition("=")
    zoo_dataset = args.dataset if args.dataset != "imagefolder" else "fashion-mnist"
    return ModelSpec(
        name, zoo_dataset, noise_scale=args.noise_scale, epochs=args.epochs, train_size=args.train_size,
        data_root=args.data_root if name in ZOO_VARIANTS and args.dataset != "fashion-mnist" else None,
        checkpoint=checkpoint or None,
    )  # fmt: skip


def run_from_args(args: argparse.Namespace) -> pd.DataFrame:
    """What ``advgeom sweep`` does: build the grid, run it, write ``--out``, print a summary."""
    from advgeom.analysis import Protocol

    models = [parse_model(m, args) for m in args.model]
    split = args.split or ("val" if args.dataset == "imagefolder" else "test")
    data = DataSpec(args.dataset, split, args.data_root, args.n_classes, args.per_class)
    protocol = Protocol(
        manifold=args.manifold, norm=args.norm, repeats=args.repeats, attack_steps=args.attack_steps, eot=args.eot,
        width=args.width, n_t=args.n_t,
    )  # fmt: skip
    tasks = make_tasks(models, args.eps, args.seeds, protocol=protocol, data=data, layers=args.layers,
                       per_layer=args.per_layer)  # fmt: skip
    frame = run_sweep(tasks, scheduler=args.scheduler, n_workers=args.workers, progress=not args.quiet)
    if args.out:
        with atomic_path(args.out) as tmp:
            frame.to_csv(tmp, index=False)
    summary = frame.groupby(["model", "eps", "layer"], sort=False)[["capacity", "radius", "dimension"]].median()
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"[advgeom] {len(tasks)} tasks: {frame.attrs['computed']} computed, {frame.attrs['cached']} cached, "
          f"{frame.attrs['seconds']:.1f} s" + (f"; results in {args.out}" if args.out else ""))  # fmt: skip
    return frame
