"""advgeom.cache: canonical keys, atomic writes, and a damaged cache file rebuilt, never used."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from advgeom import cache


def test_canonical_json_and_param_key() -> None:
    a = {"b": (1, 2), "a": Path("/x"), "c": np.float64(0.5), "d": {"z": None, "y": np.int64(3)}}
    b = {"a": "/x", "b": [1, 2], "c": 0.5, "d": {"y": 3, "z": None}}
    assert cache.canonical_json(a) == cache.canonical_json(b) == '{"a":"/x","b":[1,2],"c":0.5,"d":{"y":3,"z":null}}'
    assert json.loads(cache.canonical_json(a)) == b
    assert cache.param_key(a) == cache.param_key(b) and len(cache.param_key(a)) == 16
    assert cache.param_key({"x": 1}) != cache.param_key({"x": 2})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        cache.canonical_json({"x": object()})


def test_cache_path_and_atomic_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "root"))
    path = cache.cache_path("things", {"x": 1}, ".txt")
    assert path == tmp_path / "root" / "things" / f"{cache.param_key({'x': 1})}.txt" and path.parent.is_dir()
    cache.atomic_write_text(path, "hello")
    assert path.read_text() == "hello" and sorted(p.name for p in path.parent.iterdir()) == [path.name]
    with pytest.raises(RuntimeError), cache.atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "hello" and sorted(p.name for p in path.parent.iterdir()) == [path.name]


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


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the writer never reached its sleep"
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
