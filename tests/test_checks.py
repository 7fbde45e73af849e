"""advgeom.checks: the imperative checks, the declared constraints, and every declared function of the package
refusing every invalid example of every constrained parameter, with a message naming it."""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass

import numpy as np
import pytest

import advgeom
from advgeom.checks import (
    Interval,
    Options,
    ParamConstraint,
    Satisfies,
    check_choice,
    check_float,
    check_int,
    validate_params,
    validated_callables,
)


def _import_everything() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(advgeom.__path__, "advgeom.") if m.name != "advgeom.__main__"]
    for name in names:
        importlib.import_module(name)
    return names


# the public entry points whose argument checks are declared (the list); each must be registered
DECLARED = {
    "advgeom.attacks.pgd", "advgeom.attacks.fgsm", "advgeom.attacks.example_scores", "advgeom.attacks.robust_scores",
    "advgeom.attacks.project", "advgeom.attacks.random_in_ball",
    "advgeom.train.train_model", "advgeom.train.fgsm_random_start",
    "advgeom.geometry.mftma.manifold_analysis", "advgeom.geometry.simcap.simulated_capacity",
    "advgeom.geometry.theory.alpha0", "advgeom.geometry.theory.ball_capacity",
    "advgeom.geometry.theory.ball_inverse_capacity", "advgeom.geometry.theory.ball_anchor_radius",
    "advgeom.geometry.theory.cover_fraction",
    "advgeom.data.vision.load_fashion_mnist", "advgeom.data.vision.load_cifar10",
    "advgeom.data.vision.load_image_folder", "advgeom.data.vision.load_vision_dataset",
    "advgeom.data.vision.class_balanced_indices",
    "advgeom.data.audio.CorpusSpec", "advgeom.data.audio.synth_corpus", "advgeom.data.audio.load_word_folder",
    "advgeom.data.audio.load_asterisk_digits",
    "advgeom.zoo.vision.standard", "advgeom.zoo.vision.adversarial", "advgeom.zoo.vision.vone",
    "advgeom.zoo.vision.vone_nonoise", "advgeom.zoo.words.word_deterministic", "advgeom.zoo.words.word_stochastic",
    "advgeom.zoo.words.word_adversarial", "advgeom.zoo.imagenet.resnet50", "advgeom.zoo.imagenet.vone_resnet50",
}  # fmt: skip


def _calls():
    """(declared callable, parameter, invalid value, positional args, keyword args) for every invalid example."""
    _import_everything()
    for entry in validated_callables():
        for pname, constraint in entry.constraints.items():
            for bad in constraint.invalid_examples():
                args, kwargs = [], {}
                for p in entry.signature.parameters.values():
                    if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                        continue
                    if p.name == pname:
                        value = bad
                    elif p.name in entry.constraints:
                        value = entry.constraints[p.name].valid_example()
                    elif p.default is inspect.Parameter.empty:
                        value = None  # validation runs before the body: an unconstrained argument is never used
                    else:
                        continue
                    if p.kind is p.POSITIONAL_ONLY:
                        args.append(value)
                    else:
                        kwargs[p.name] = value
                yield pytest.param(entry.func, pname, bad, args, kwargs, id=f"{entry.qualname}-{pname}={bad!r}")


def test_every_module_imports_and_the_entry_points_are_declared() -> None:
    _import_everything()
    declared = {entry.qualname for entry in validated_callables()}
    assert DECLARED <= declared, sorted(DECLARED - declared)


@pytest.mark.parametrize("func, pname, bad, args, kwargs", list(_calls()))
def test_every_declared_function_refuses_every_invalid_value(func, pname, bad, args, kwargs) -> None:
    with pytest.raises(ValueError) as err:
        func(*args, **kwargs)
    assert pname in str(err.value), str(err.value)


def test_every_valid_example_is_accepted() -> None:
    _import_everything()
    for entry in validated_callables():
        for pname, constraint in entry.constraints.items():
            example = constraint.valid_example()
            assert constraint.accepts(example), (entry.qualname, pname, example)
            assert constraint.invalid_examples(), (entry.qualname, pname)


# ----------------------------------------------------------------------------------------------- constraints
@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3)])
def test_interval_int_converts_as_check_int(value) -> None:
    out = Interval(int, 1, 5).convert("n", value)
    assert out == check_int("n", value, minimum=1, maximum=5) == 3 and type(out) is int


@pytest.mark.parametrize("value", [1, 0.5, np.float32(0.5), np.float64(0.25)])
def test_interval_float_converts_as_check_float(value) -> None:
    out = Interval(float, 0.0, 1.0).convert("x", value)
    assert out == check_float("x", value, minimum=0.0, maximum=1.0) and type(out) is float


@pytest.mark.parametrize(
    "constraint, value, message",
    [
        (Interval(int, 1, None), 0, "n=0 is too small; it must be >= 1"),
        (Interval(int, None, 3), 4, "n=4 is too large; it must be <= 3"),
        (Interval(int), 1.5, "n must be an integer, got 1.5 (float)"),
        (Interval(int), True, "n must be an integer, got True (bool)"),
        (Interval(float, 0.0, None), -1, "n=-1.0 is too small; it must be >= 0.0"),
        (Interval(float), "0.1", "n must be a number, got '0.1' (str)"),
        (Interval(float), math.inf, "n=inf must be finite"),
        (Options(("linf", "l2")), "l3", "n='l3' is not allowed; choose one of ['linf', 'l2']"),
    ],
)
def test_messages_are_those_of_the_check_functions(constraint, value, message) -> None:
    with pytest.raises(ValueError) as err:
        constraint.convert("n", value)
    assert str(err.value) == message


def test_interval_without_finiteness_and_examples() -> None:
    assert Interval(float, 0.0, None, finite=False).convert("R", math.inf) == math.inf
    assert Interval(int, 2, 4).valid_example() == 2 and Interval(float).valid_example() == 0.0
    bad = Interval(int, 2, 4).invalid_examples()
    assert 1 in bad and 5 in bad and 1.5 in bad and True in bad
    assert all(not Interval(int, 2, 4).accepts(v) for v in bad)
    with pytest.raises(TypeError):
        Interval(str)
    with pytest.raises(ValueError):
        Interval(int, 3, 1)


def test_param_constraint_none_and_alternatives() -> None:
    eot = ParamConstraint.make([Interval(int, 1, None), None])
    assert eot.convert("eot", None) is None and eot.convert("eot", np.int64(2)) == 2
    assert None not in eot.invalid_examples() and 0 in eot.invalid_examples()
    with pytest.raises(ValueError, match="eot=0 is too small"):  # one alternative: its own message
        eot.convert("eot", 0)
    either = ParamConstraint.make([Options(("auto",)), Interval(int, 1, None)])
    assert either.convert("k", "auto") == "auto" and either.convert("k", 3) == 3
    with pytest.raises(ValueError, match=r"k=0 is not allowed; it must be one of \['auto'\] or an integer >= 1"):
        either.convert("k", 0)
    assert None in either.invalid_examples() and "auto" not in either.invalid_examples()
    methods = ParamConstraint.make(Options((None, "fgsm")))  # None as an option, not as "None allowed"
    assert methods.convert("adversarial", None) is None and None not in methods.invalid_examples()


def test_satisfies_names_the_parameter() -> None:
    def positive(v):
        if v <= 0:
            raise ValueError("must be positive")
        return v

    c = Satisfies(positive, 1, (0, -1), "a positive number")
    assert c.convert("size", 2) == 2 and c.invalid_examples() == [0, -1]
    with pytest.raises(ValueError, match=r"size=0: must be positive"):
        c.convert("size", 0)


# --------------------------------------------------------------------------------------------- the decorator
NUMPY_TWO = np.int64(2)


def test_validate_params_converts_arguments_and_defaults() -> None:
    @validate_params({"n": Interval(int, 1, None), "x": Interval(float), "mode": Options(("a", "b"))})
    def f(data, n=NUMPY_TWO, *, x=1, mode="a"):
        return data, n, x, mode

    data, n, x, mode = f("d")
    assert (data, n, x, mode) == ("d", 2, 1.0, "a") and type(n) is int and type(x) is float
    assert f("d", 3, x=np.float32(0.5))[1:3] == (3, 0.5)
    with pytest.raises(ValueError, match="n=0 is too small"):
        f("d", 0)
    with pytest.raises(ValueError, match="mode='c' is not allowed"):
        f("d", mode="c")
    with pytest.raises(TypeError):
        f()  # a missing argument is a TypeError, as without the decorator
    assert f.validate_arguments(None, x=2) == {"data": None, "x": 2.0}  # given arguments only
    assert inspect.signature(f) == inspect.signature(f.__wrapped__)
    assert f in {entry.func for entry in validated_callables()}
    with pytest.raises(TypeError, match="has no parameters"):
        validate_params({"nope": Interval(int)})(lambda a: a)


def test_validate_params_on_a_dataclass() -> None:
    @validate_params({"n": Interval(int, 0, None)})
    @dataclass(frozen=True)
    class Spec:
        n: int = 1

    assert Spec(np.int64(4)).n == 4 and type(Spec(np.int64(4)).n) is int
    with pytest.raises(ValueError, match="n=-1 is too small"):
        Spec(-1)
    assert Spec.validate_arguments(n=2) == {"n": 2}
    assert list(inspect.signature(Spec).parameters) == ["n"]


def test_check_choice_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"split='dev' is not allowed; choose one of \['train', 'test'\]"):
        check_choice("split", "dev", ("train", "test"))


@pytest.mark.parametrize(
    "constraint, good, bad, message",
    [
        (Interval(float, 0.0, 1.0, closed="right"), [1.0, 1e-9], [0.0, -1.0], "x=0.0 is too small; it must be > 0.0"),
        (Interval(float, 0.0, 1.0, closed="left"), [0.0, 0.5], [1.0], "x=1.0 is too large; it must be < 1.0"),
        (Interval(int, 0, 3, closed="neither"), [1, 2], [0, 3], "x=0 is too small; it must be > 0"),
        (Interval(float, 0.0, math.inf, finite=False), [math.inf, 0.0], [math.nan, -1.0],
         "x=nan is not allowed; it must be a number in [0.0, inf]"),
    ],
)
def test_open_and_half_open_intervals(constraint, good, bad, message) -> None:
    assert all(constraint.accepts(v) for v in good) and not any(constraint.accepts(v) for v in bad)
    with pytest.raises(ValueError) as err:
        constraint.convert("x", bad[0])
    assert str(err.value) == message
    assert constraint.accepts(constraint.valid_example())
    assert constraint.invalid_examples() and not any(constraint.accepts(v) for v in constraint.invalid_examples())
    with pytest.raises(ValueError, match="is empty"):
        Interval(float, 1.0, 1.0, closed="left")
    with pytest.raises(ValueError, match="closed='open' is not allowed"):
        Interval(float, 0.0, 1.0, closed="open")


def test_nan_is_in_no_interval() -> None:
    """Even one that admits infinities: ``Interval(float, 0, None, finite=False)`` (a ball radius) refuses NaN."""
    radius = Interval(float, 0.0, None, finite=False)
    assert radius.convert("R", math.inf) == math.inf and not radius.accepts(math.nan)
    assert Interval(float, 0.0, 1.0, closed="right").describe() == "a number in (0.0, 1.0]"


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder this process cannot create files in: a mode-0500 folder, or (as root, who ignores modes) /sys."""
    import os
    import tempfile
    from pathlib import Path

    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        yield folder
        folder.chmod(0o700)
        return
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        yield Path("/sys")
        return
    pytest.skip("no read-only folder available")


def test_output_locations_are_checked_without_writing(tmp_path, read_only_dir) -> None:
    from advgeom.checks import check_output_dir, check_output_file

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert check_output_dir("--out", tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_output_file("--out", tmp_path / "new" / "results.csv") == tmp_path / "new" / "results.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing created, the probe removed
    cases = [
        (check_output_dir, "", "--out is empty"),
        (check_output_dir, a_file, f"--out '{a_file}' is a file, not a folder"),
        (check_output_dir, a_file / "sub", f"--out '{a_file / 'sub'}' lies under the file {a_file}, not a folder"),
        (check_output_dir, read_only_dir / "book", f"--out '{read_only_dir / 'book'}' is not writable"),
        (check_output_file, "", "--out is empty"),
        (check_output_file, tmp_path, f"--out '{tmp_path}' is a folder; give a file name"),
        (check_output_file, a_file / "r.csv", "lies under the file"),
        (check_output_file, read_only_dir / "r.csv", "is not writable"),
    ]
    for check, path, fragment in cases:
        with pytest.raises(ValueError) as err:
            check("--out", path)
        assert fragment in str(err.value), (path, str(err.value))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
