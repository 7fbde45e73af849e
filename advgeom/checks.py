"""Argument checks that fail early with a message naming the bad value and what is allowed.

Two ways to use them:

* imperatively, :func:`check_choice`, :func:`check_int`, :func:`check_float` inside a function body
  (for checks that depend on other arguments or on data);
* declared, in the spirit of scikit-learn's parameter validation (``sklearn.utils._param_validation``):
  a function states the allowed values of its parameters once, as constraint objects
  (:class:`Interval`, :class:`Options`, :class:`Satisfies`, ``None`` for "None allowed"), with the
  decorator :func:`validate_params`. The decorator binds each call's arguments, checks and converts
  the constrained ones (an :class:`Interval` returns exactly what :func:`check_int` / :func:`check_float`
  return: a Python ``int`` / ``float``) and only then runs the body.

Every constraint can produce a :meth:`~Constraint.valid_example` and :meth:`~Constraint.invalid_examples`,
and the decorator records each function with its constraints (:func:`validated_callables`), so one
test can call every declared function with every invalid value and check that the error names the
parameter.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError listing the choices."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {allowed}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as int if it is an integer within [minimum, maximum], else raise."""
    if isinstance(value, bool) or not isinstance(value, int) and not (hasattr(value, "__index__")):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} is too small; it must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value} is too large; it must be <= {maximum}")
    return value


def check_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None, finite: bool = True
) -> float:
    """Return ``value`` as float if it is a real number within [minimum, maximum], else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError(f"{name}={value} must be finite")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} is too small; it must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value} is too large; it must be <= {maximum}")
    return value


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as anything: a folder, a file)."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _check_writable_folder(name: str, given: str, folder: Path, target: Path) -> None:
    """ValueError naming ``name`` and ``given`` (the path as the user wrote it, of ``target``) unless ``folder``
    (``target`` or the folder that holds it) is, or can be created as, a folder we may write in.

    Nothing is left behind: the nearest existing ancestor must be a folder, and a probe file is created
    in it and removed at once (``os.access`` says yes to root on a read-only place; creating a file does not).
    """
    base = _existing_ancestor(folder)
    if not base.is_dir():
        where = "is a file" if base == target else f"lies under the file {base}"
        raise ValueError(f"{name} {given!r} {where}, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".advgeom-write-probe-", dir=base)
    except OSError as err:
        raise ValueError(f"{name} {given!r} is not writable ({base}: {err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)


def check_output_dir(name: str, path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is a folder we can write in, or one we can create (nothing is created);
    else ValueError naming ``name`` (an empty path, a file, a path under a file, a read-only place)."""
    text = os.fspath(path)
    if not str(text).strip():
        raise ValueError(f"{name} is empty; give a folder (or leave the option out for the default)")
    folder = Path(text).expanduser()
    _check_writable_folder(name, str(text), folder.absolute(), folder.absolute())
    return folder


def check_output_file(name: str, path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if a file can be written there (its folder exists or can be created, and it is not
    a folder); else ValueError naming ``name``. Nothing is written."""
    text = os.fspath(path)
    if not str(text).strip():
        raise ValueError(f"{name} is empty; give a file name (or leave the option out)")
    target = Path(text).expanduser().absolute()
    if target.is_dir():
        raise ValueError(f"{name} {str(text)!r} is a folder; give a file name")
    _check_writable_folder(name, str(text), target.parent, target)
    return Path(text).expanduser()


# ------------------------------------------------------------------------------------------- declared constraints
class Constraint:
    """The allowed values of one parameter: converts a good value, raises ValueError naming a bad one."""

    def convert(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        """``value`` as the function receives it; ValueError naming ``name`` if it is not allowed."""
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        """Whether :meth:`convert` takes ``value``."""
        try:
            self.convert("value", value)
        except ValueError:
            return False
        return True

    def valid_example(self) -> Any:  # pragma: no cover - abstract
        """One allowed value."""
        raise NotImplementedError

    def invalid_examples(self) -> list[Any]:  # pragma: no cover - abstract
        """Values this constraint refuses (for tests)."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """What is allowed, in words."""
        raise NotImplementedError


CLOSED = ("both", "left", "right", "neither")


@dataclass(frozen=True)
class Interval(Constraint):
    """An ``int`` or a real number (``float``) between ``minimum`` and ``maximum`` (``None``: unbounded on that side).

    ``closed`` says which bounds belong to the interval (as in scikit-learn): ``"both"`` (default,
    ``[minimum, maximum]``), ``"left"`` (``[minimum, maximum)``), ``"right"`` (``(minimum, maximum]``) or
    ``"neither"``. Converts as :func:`check_int` / :func:`check_float` do (to a Python int / float). A float
    must be finite unless ``finite=False``; then +-inf pass as they pass ``check_float`` (a bound may be
    +-inf: ``Interval(float, 0, math.inf, finite=False)`` admits inf). NaN is in no interval.
    """

    type: type
    minimum: float | None = None
    maximum: float | None = None
    finite: bool = True
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.type not in (int, float):
            raise TypeError(f"Interval type must be int or float, got {self.type!r}")
        check_choice("closed", self.closed, CLOSED)
        if self.minimum is not None and self.maximum is not None:
            if self.minimum > self.maximum or (self.minimum == self.maximum and self.closed != "both"):
                raise ValueError(f"Interval {self._notation()} is empty")

    @property
    def _left_closed(self) -> bool:
        return self.closed in ("both", "left")

    @property
    def _right_closed(self) -> bool:
        return self.closed in ("both", "right")

    def convert(self, name: str, value: Any) -> Any:
        low = self.minimum if self._left_closed else None
        high = self.maximum if self._right_closed else None
        if self.type is int:
            value = check_int(name, value, minimum=low, maximum=high)
        else:
            value = check_float(name, value, minimum=low, maximum=high, finite=self.finite)
            if math.isnan(value):
                raise ValueError(f"{name}=nan is not allowed; it must be {self.describe()}")
        if not self._left_closed and self.minimum is not None and not value > self.minimum:
            raise ValueError(f"{name}={value} is too small; it must be > {self.minimum}")
        if not self._right_closed and self.maximum is not None and not value < self.maximum:
            raise ValueError(f"{name}={value} is too large; it must be < {self.maximum}")
        return value

    def valid_example(self) -> Any:
        candidates = [self.minimum, self.maximum, 0]
        candidates += [b + s for b in (self.minimum, self.maximum) if b is not None for s in (1, -1, 0.5, -0.5)]
        finite = [c for c in candidates if c is not None and math.isfinite(c)]
        typed = [self.type(c) for c in finite if self.type is float or float(c).is_integer()]
        return next((c for c in typed if self.accepts(c)), typed[0])

    def invalid_examples(self) -> list[Any]:
        out: list[Any] = ["1", True]
        if self.type is int:
            out.append(1.5)
        else:
            out += [float("nan"), float("inf")]
        for bound, step in ((self.minimum, -1), (self.maximum, 1)):
            if bound is not None and math.isfinite(bound):
                out += [self.type(bound), self.type(bound + step)]
        return [v for v in out if not self.accepts(v)]

    def _notation(self) -> str:
        def show(v: float | None, default: str) -> str:
            return default if v is None else f"{v:g}" if isinstance(v, float) and math.isinf(v) else str(v)

        left, right = "[" if self._left_closed else "(", "]" if self._right_closed else ")"
        return f"{left}{show(self.minimum, '-inf')}, {show(self.maximum, 'inf')}{right}"

    def describe(self) -> str:
        kind = "an integer" if self.type is int else "a number"
        if self.closed != "both" or (self.minimum is not None and self.maximum is not None):
            return f"{kind} in {self._notation()}"
        if self.minimum is not None:
            return f"{kind} >= {self.minimum}"
        if self.maximum is not None:
            return f"{kind} <= {self.maximum}"
        return kind


@dataclass(frozen=True, init=False)
class Options(Constraint):
    """One of a fixed set of values (checked as :func:`check_choice` does; the value is returned unchanged)."""

    choices: tuple[Any, ...]

    def __init__(self, choices: Iterable[Any]) -> None:
        object.__setattr__(self, "choices", tuple(choices))
        if not self.choices:
            raise ValueError("Options needs at least one choice")

    def convert(self, name: str, value: Any) -> Any:
        return check_choice(name, value, self.choices)

    def valid_example(self) -> Any:
        return self.choices[0]

    def invalid_examples(self) -> list[Any]:
        return [v for v in ("<not an option>", 12345) if not self.accepts(v)]

    def describe(self) -> str:
        return f"one of {list(self.choices)}"


@dataclass(frozen=True)
class Satisfies(Constraint):
    """Whatever ``check(value)`` accepts; it returns the converted value or raises ValueError.

    ``valid`` is one allowed value, ``invalid`` some refused ones, ``description`` says what is allowed.
    A message of ``check`` that does not name the parameter is prefixed with ``name=value:``.
    """

    check: Callable[[Any], Any]
    valid: Any
    invalid: tuple[Any, ...]
    description: str

    def convert(self, name: str, value: Any) -> Any:
        try:
            return self.check(value)
        except ValueError as err:
            if name in str(err):
                raise
            raise ValueError(f"{name}={value!r}: {err}") from err

    def valid_example(self) -> Any:
        return self.valid

    def invalid_examples(self) -> list[Any]:
        return [v for v in self.invalid if not self.accepts(v)]

    def describe(self) -> str:
        return self.description


ConstraintSpec = Constraint | None | Sequence["Constraint | None"]


@dataclass(frozen=True)
class ParamConstraint:
    """The constraint of one parameter: any of ``members`` (``None`` allowed when ``allow_none``)."""

    members: tuple[Constraint, ...]
    allow_none: bool

    @classmethod
    def make(cls, spec: ConstraintSpec) -> ParamConstraint:
        """From a constraint, ``None`` or a list of them (``[Interval(int, 1, None), None]``)."""
        items = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        members = tuple(c for c in items if c is not None)
        bad = [c for c in members if not isinstance(c, Constraint)]
        if bad:
            raise TypeError(f"constraints must be Constraint objects or None, got {bad[0]!r}")
        return cls(members, allow_none=len(members) < len(items))

    def convert(self, name: str, value: Any) -> Any:
        """``value`` converted by the first member that takes it; ValueError naming ``name`` otherwise."""
        if value is None and self.allow_none:
            return None
        errors = []
        for member in self.members:
            try:
                return member.convert(name, value)
            except ValueError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise ValueError(f"{name}={value!r} is not allowed; it must be {self.describe()}")

    def accepts(self, value: Any) -> bool:
        """Whether :meth:`convert` takes ``value``."""
        try:
            self.convert("value", value)
        except ValueError:
            return False
        return True

    def describe(self) -> str:
        """What is allowed, in words."""
        words = [m.describe() for m in self.members] + (["None"] if self.allow_none else [])
        return " or ".join(words)

    def valid_example(self) -> Any:
        """One allowed value: the first member's example that is not None (else None, then allowed)."""
        examples = [m.valid_example() for m in self.members]
        return next((v for v in examples if v is not None), None)

    def invalid_examples(self) -> list[Any]:
        """Values refused by every member (``None`` among them when None is not allowed)."""
        out = [] if self.accepts(None) else [None]
        for member in self.members:
            out += [v for v in member.invalid_examples() if not self.accepts(v)]
        return out


@dataclass(frozen=True)
class Validated:
    """A callable declared with :func:`validate_params`: its constraints and its (original) signature."""

    func: Callable[..., Any]
    constraints: Mapping[str, ParamConstraint]
    signature: inspect.Signature = field(repr=False)

    @property
    def qualname(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


_VALIDATED: list[Validated] = []


def validated_callables() -> list[Validated]:
    """Every function and class declared with :func:`validate_params` so far (in the modules imported)."""
    return list(_VALIDATED)


def validate_params(constraints: Mapping[str, ConstraintSpec]) -> Callable[[F], F]:
    """Decorator: check and convert the arguments named in ``constraints`` before the body runs.

    ``constraints`` maps a parameter name to a :class:`Constraint`, ``None`` (only None allowed) or a
    list of them (any of them; ``None`` in the list allows None). Defaults are checked too, as an
    explicit check in the body would. A bad value raises ValueError naming the parameter, the value
    and what is allowed. On a class (a dataclass, say) it wraps ``__init__``. The decorated callable
    gets ``validate_arguments(*args, **kwargs)``: the arguments given, bound and converted, as a dict
    (defaults not filled in), without running the body.
    """
    specs = {name: ParamConstraint.make(spec) for name, spec in constraints.items()}

    def decorate(obj: F) -> F:
        is_class = isinstance(obj, type)
        target = obj.__init__ if is_class else obj
        sig = inspect.signature(target)
        unknown = sorted(set(specs) - set(sig.parameters))
        if unknown:
            raise TypeError(f"validate_params: {obj.__qualname__} has no parameters {unknown}")

        def bind(args: tuple[Any, ...], kwargs: dict[str, Any], defaults: bool) -> inspect.BoundArguments:
            bound = sig.bind(*args, **kwargs)
            if defaults:
                bound.apply_defaults()
            for name, spec in specs.items():
                if name in bound.arguments:
                    bound.arguments[name] = spec.convert(name, bound.arguments[name])
            return bound

        @functools.wraps(target)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = bind(args, kwargs, True)
            return target(*bound.args, **bound.kwargs)

        if is_class:
            obj.__init__ = wrapper  # type: ignore[misc]
            public_sig = inspect.signature(obj)

            def validate_arguments(*args: Any, **kwargs: Any) -> dict[str, Any]:
                arguments = dict(bind((None, *args), kwargs, False).arguments)
                arguments.pop(next(iter(sig.parameters)))
                return arguments

            obj.validate_arguments = staticmethod(validate_arguments)  # type: ignore[attr-defined]
            _VALIDATED.append(Validated(obj, specs, public_sig))
            return obj
        wrapper.validate_arguments = lambda *a, **k: dict(bind(a, k, False).arguments)  # type: ignore[attr-defined]
        _VALIDATED.append(Validated(wrapper, specs, sig))
        return wrapper  # type: ignore[return-value]

    return decorate
