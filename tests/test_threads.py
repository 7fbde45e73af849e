"""advgeom.threads: the thread count from injected cores and loads, the environment's say, validation, and
applying and exporting the choice (no timing)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from advgeom import threads
from advgeom.threads import (
    ENV,
    POOL_VARIABLES,
    ThreadChoice,
    configure_threads,
    decide_threads,
    limited_threads,
    thread_environment,
    threads_for,
)


@pytest.fixture
def torch_threads() -> Iterator[int]:
    """Whatever a test sets, the session's torch and BLAS pool sizes come back."""
    import numpy  # noqa: F401  (its BLAS is loaded, so the tests see it)
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores every loaded library's size on exit
        yield before
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    "cores, load, expected",
    [(2, 0.0, 2), (2, 0.3, 2), (2, 0.5, 1), (2, 0.6, 1), (2, 1.0, 1), (2, 2.0, 1), (2, 7.5, 1), (1, 0.0, 1),
     (16, 4.2, 12), (16, 4.5, 11), (8, 0.0, 8)],
)  # fmt: skip
def test_free_cores_rounded_at_least_one(cores: int, load: float, expected: int) -> None:
    assert threads_for(cores, load) == expected


@pytest.mark.parametrize("cores, load, fragment", [(0, 0.0, "cores=0 is too small"), (2, -0.5, "load=-0.5"),
                                                   (2, math.nan, "load=nan"), (2, math.inf, "load=inf")])  # fmt: skip
def test_threads_for_refuses_impossible_inputs(cores: int, load: float, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        threads_for(cores, load)


def test_measured_when_nothing_is_set() -> None:
    assert decide_threads({}, cores=2, load=1.0) == ThreadChoice(1, "measured", 2, 1.0)
    assert decide_threads({}, cores=2, load=0.1).threads == 2
    assert decide_threads({ENV: "auto"}, cores=4, load=1.0).threads == 3
    # auto measures even when OpenMP's variable says otherwise
    assert decide_threads({ENV: " AUTO ", "OMP_NUM_THREADS": "7"}, cores=4, load=3.0).threads == 1


def test_the_environment_decides_without_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> float:
        raise AssertionError("measured although the environment decides")

    monkeypatch.setattr(threads, "other_load", refuse)
    assert decide_threads({ENV: "3"}) == ThreadChoice(3, ENV)
    assert decide_threads({ENV: "5", "OMP_NUM_THREADS": "2"}).threads == 5  # ours wins
    assert decide_threads({"OMP_NUM_THREADS": "4"}) == ThreadChoice(4, "OMP_NUM_THREADS")
    assert decide_threads({"OMP_NUM_THREADS": "4,2"}).threads == 4  # one count per nesting level
    assert decide_threads({ENV: "off", "OMP_NUM_THREADS": "4"}) == ThreadChoice(None, "off")


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", " "])
def test_a_bad_thread_count_is_refused_by_name(value: str) -> None:
    if value.strip():
        with pytest.raises(ValueError) as err:
            decide_threads({ENV: value}, cores=2, load=0.0)
        assert str(err.value).startswith(f"${ENV}={value!r} is not allowed; use a positive integer, 'auto'")
        assert "'off'" in str(err.value)
    else:  # empty means unset
        assert decide_threads({ENV: value}, cores=2, load=0.0).source == "measured"
    with pytest.raises(ValueError, match=r"\$OMP_NUM_THREADS=.* is not allowed; use a positive integer"):
        decide_threads({"OMP_NUM_THREADS": value + "x"}, cores=2, load=0.0)


def test_load_is_sampled_from_proc_stat_less_our_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two CPUs, 100 ticks each in the interval, 150 busy of which 50 were this process: 1 core busy elsewhere."""
    ticks = iter([(1000, 4000), (1150, 4200)])
    clock = iter([10.0, 10.5])
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(threads, "_cpu_ticks", lambda cpus: next(ticks))
    monkeypatch.setattr(threads.time, "process_time", lambda: next(clock))
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    assert threads.other_load() == pytest.approx(1.0)


def test_load_falls_back_to_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_cpu_ticks", lambda cpus: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.25, 0.0, 0.0))
    assert threads.other_load() == 1.25


def test_proc_stat_lines_of_our_cpus_only(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  9 9 9 9 9 9 9 9 0 0\n"
        "cpu0 10 0 5 80 5 0 0 0 0 0\n"  # busy 15 of 100 (idle and iowait are not busy)
        "cpu1 50 0 0 50 0 0 0 0 0 0\n"
        "cpu2 100 0 0 0 0 0 0 0 0 0\n"
        "intr 12345 0 0\nctxt 999\n"
    )
    assert threads._cpu_ticks({0, 1}, str(stat)) == (65, 200)
    assert threads._cpu_ticks({2}, str(stat)) == (100, 100)
    assert threads._cpu_ticks({5}, str(stat)) is None
    assert threads._cpu_ticks({0}, str(tmp_path / "missing")) is None


def test_the_measurement_is_a_number_of_cores() -> None:
    load = threads.other_load(0.05)
    assert 0.0 <= load <= threads.available_cores() + 0.5  # tick rounding
    assert 1 <= decide_threads({}).threads <= threads.available_cores()


def test_configure_applies_and_exports(torch_threads: int) -> None:
    env = {ENV: "1"}
    choice = configure_threads(env)
    assert choice == ThreadChoice(1, ENV)
    assert env == thread_environment(1) and set(env) == {*POOL_VARIABLES, ENV}
    assert torch.get_num_threads() == 1
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and set(blas) == {1}


def test_configure_with_sizing_off_changes_nothing(torch_threads: int) -> None:
    env = {ENV: "off"}
    assert configure_threads(env).threads is None and env == {ENV: "off"}
    assert torch.get_num_threads() == torch_threads


def test_limited_threads_restores(torch_threads: int) -> None:
    torch.set_num_threads(2)
    with limited_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_describe() -> None:
    assert decide_threads({}, cores=2, load=1.04).describe() == "1 thread (2 cores, 1.0 busy with other processes)"
    assert ThreadChoice(3, ENV).describe() == f"3 threads (from ${ENV})"
    assert "off" in ThreadChoice(None, "off").describe()


def test_kernels_inherit_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from advgeom.book import execute

    monkeypatch.setenv(ENV, "3")
    for name in POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with execute._book_environment("99_tiny"):
        assert {name: threads.os.environ[name] for name in (*POOL_VARIABLES, ENV)} == thread_environment(3)
    assert all(name not in threads.os.environ for name in POOL_VARIABLES)
    monkeypatch.setenv(ENV, "off")
    with execute._book_environment("99_tiny"):
        assert all(name not in threads.os.environ for name in POOL_VARIABLES)


def test_sweep_workers_follow_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from advgeom.analysis import sweep

    monkeypatch.setenv(ENV, "4")
    assert sweep._free_cores() == 4
    monkeypatch.setenv(ENV, "off")
    assert sweep._free_cores() == threads.available_cores()


def test_the_command_line_refuses_a_bad_count_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from advgeom import cli

    monkeypatch.setenv(ENV, "many")
    assert cli.main(["run", "no-such-notebook"]) == cli.EXIT_USER_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"advgeom: error: ${ENV}='many' is not allowed; use a positive integer")
