"""advgeom.cache: canonical keys, atomic writes, and a damaged cache file rebuilt, never used."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
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


KEY = {"format": 1, "x": 1}


def _torch_bytes(value) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _torch_value(payload: bytes):
    import io

    return torch.load(io.BytesIO(payload), weights_only=True)


def test_an_entry_records_checksum_length_and_key(fresh_cache) -> None:
    path = cache.cache_path("numbers", KEY, ".bin")
    cache.write_entry(path, KEY, b"payload bytes")
    data = path.read_bytes()
    header, payload = data.split(b"\n", 1)
    assert header.startswith(cache.ENTRY_MAGIC) and payload == b"payload bytes"
    fields = json.loads(header[len(cache.ENTRY_MAGIC) :])
    assert fields == {"key": json.loads(cache.canonical_json(KEY)), "length": 13,
                      "sha256": hashlib.sha256(b"payload bytes").hexdigest()}
    assert cache.read_entry(path, {"x": 1, "format": 1}) == b"payload bytes"  # the key compared canonically
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # written atomically, no temporaries


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    header, payload = data.split(b"\n", 1)
    if how == "truncated":
        path.write_bytes(data[: len(data) - 10])
    elif how == "edited":
        path.write_bytes(header + b"\n" + payload[:-1] + bytes([payload[-1] ^ 1]))
    elif how == "extended":
        path.write_bytes(data + b"more")
    elif how == "no header":
        path.write_bytes(payload)  # a bare torch file, as the previous format wrote them
    elif how == "header":
        path.write_bytes(header[:-3] + b"\n" + payload)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "other key":
        other = cache.cache_path("numbers", {"format": 1, "x": 2}, ".pt")
        cache.write_entry(other, {"format": 1, "x": 2}, payload)
        other.replace(path)  # a good entry of another key, copied here
    elif how == "folder":
        path.unlink()
        (path / "inside").mkdir(parents=True)
    elif how == "undecodable":
        cache.write_entry(path, KEY, b"\x00 a good entry whose payload is no torch file")


DAMAGES = {
    "truncated": "payload bytes, its header", "edited": "does not match its checksum", "extended": "payload bytes",
    "no header": "has no advgeom cache header", "header": "its header is damaged", "empty": "has no advgeom cache",
    "other key": "computed from another key", "folder": "a folder stands where the file should be",
    "undecodable": "UnpicklingError",
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_entry_is_reported_moved_aside_and_recomputed(fresh_cache, damage):
    path = cache.cache_path("numbers", KEY, ".pt")
    calls = []

    def compute():
        calls.append(1)
        return {"value": torch.arange(1000.0)}

    first = cache.cached(path, KEY, compute, _torch_bytes, _torch_value)
    _damage(path, damage)
    damaged = path.read_bytes() if path.is_file() else None
    with pytest.warns(UserWarning) as record:
        again = cache.cached(path, KEY, compute, _torch_bytes, _torch_value)
    [warning] = [str(w.message) for w in record]
    assert warning.startswith(f"cache file {path} is unreadable: ") and DAMAGES[damage] in warning
    assert "\n" not in warning and warning.endswith(f"moved aside to {path.name}.damaged, recomputing it")
    assert len(calls) == 2 and torch.equal(again["value"], first["value"])
    aside = path.with_name(path.name + ".damaged")
    assert (aside.read_bytes() == damaged) if damaged is not None else (aside / "inside").is_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(cache.cached(path, KEY, compute, _torch_bytes, _torch_value)["value"], first["value"])
    assert len(calls) == 2  # the rebuilt entry is good


def test_only_the_last_damaged_entry_is_kept(fresh_cache):
    path = cache.cache_path("numbers", KEY, ".txt")
    for text in ("first damage", "second damage"):
        path.write_text(text)
        with pytest.warns(UserWarning, match="unreadable"):
            assert cache.cached(path, KEY, lambda: 1.5, lambda v: repr(v).encode(), lambda b: float(b)) == 1.5
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".damaged"]
    assert path.with_name(path.name + ".damaged").read_text() == "second damage"


def test_a_fresh_value_is_returned_as_it_reads_back(fresh_cache):
    path = cache.cache_path("numbers", KEY, ".txt")
    value = cache.cached(path, KEY, lambda: 0.1 + 0.2, lambda v: f"{v:.3f}".encode(), lambda b: float(b))
    assert value == 0.3 == cache.cached(path, KEY, lambda: 9.0, lambda v: b"9", lambda b: float(b))
    with pytest.raises(ValueError, match="refused"):  # a value its own decoder refuses is never stored
        cache.cached(cache.cache_path("numbers", {"y": 1}, ".txt"), {"y": 1}, lambda: 1, lambda v: b"1",
                     lambda b: (_ for _ in ()).throw(ValueError("refused")))
    assert not cache.cache_path("numbers", {"y": 1}, ".txt").exists()


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
    value = cache.cached(target, KEY, lambda: b"complete", bytes, bytes)
    assert value == b"complete" and cache.read_entry(target, KEY) == b"complete"
