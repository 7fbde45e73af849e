"""advgeom.book.execute: papermill execution (private kernel transport, atomic output, failures kept aside,
timings, where the time went, interrupted and killed runs) and the re-run note under every executed chapter."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from advgeom import timing
from advgeom.book import BOOK_ENV, CHAPTER_ENV, execute, notebooks

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"


def glued(path: Path) -> dict[str, str]:
    """name -> text/plain of every myst_nb.glue output in an executed notebook."""
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out[name] = o["data"]["application/papermill.record/text/plain"]
    return out


# ------------------------------------------------------------------------ execution


def test_bad_parameters_fail_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="no parameter"):
        execute.run_notebook(TINY, {"nope": 1}, out_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_run_tiny_notebook_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the notebook must still run in the repository root
    out = execute.run_notebook(TINY, {"n": 4, "scale": 2, "offsets": [0, 1]}, out_dir=tmp_path / "book",
                               progress=False)
    assert out == tmp_path / "book" / "99_tiny.ipynb"
    values = glued(out)
    # y = scale * i + offset for i < n and each offset: 2 * 2 * (0+1+2+3) + 4 * (0 + 1)
    assert float(values["tiny_total"]) == 28.0
    assert values["tiny_cwd"].strip("'\"") == str(notebooks.repo_root())
    assert "'scale': 'float'" in values["tiny_types"]  # int 2 was injected as float 2.0
    nb = nbformat.read(out, as_version=4)
    html = [o for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert html and "vegaEmbed" in html[0]["data"]["text/html"]  # ADVGEOM_BOOK=1 reached the kernel
    tables = notebooks.published_tables(out)
    assert [t["chapter"] for t in tables] == ["99_tiny", "99_tiny"]  # ADVGEOM_CHAPTER=<stem> too
    assert any('download="99_tiny-accuracy.csv"' in o["data"]["text/html"] for o in html)
    assert os.environ.get(BOOK_ENV) is None and os.environ.get(CHAPTER_ENV) is None
    assert os.environ.get(timing.TIMING_ENV) is None
    assert not list((tmp_path / "book").glob(".*"))  # no temporary files left
    # the tiny chapter trains, attacks and measures nothing: it shows 0 s in every category
    assert nb.metadata["advgeom"]["timing"] == dict.fromkeys(timing.CATEGORIES, 0.0)


TIMED_CELLS = '''

# %%
import time as _time

from advgeom.timing import timed

with timed("training"):
    _time.sleep(0.4)
with timed("attacks"):
    with timed("attacks"):  # nested: counted once
        _time.sleep(0.3)
    _time.sleep(0.1)
'''


def test_a_run_records_and_prints_where_its_time_went(tmp_path, capsys, monkeypatch):
    """The tiny chapter with timed blocks appended: the kernel's ledger reaches the executed notebook's metadata
    and the last line the runner prints; the notebook's cells are the chapter's own, nothing injected."""
    chapter = tmp_path / "notebooks" / "97_timed.py"
    chapter.parent.mkdir()
    chapter.write_text(TINY.read_text() + TIMED_CELLS)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))  # where the runner puts the kernel's ledger file
    out = execute.run_notebook(chapter, {"n": 2}, out_dir=tmp_path / "book", progress=True)
    total, spent = execute.executed_timing(tmp_path / "book", "97_timed")
    assert 0.4 <= spent["training"] < 2.0 and 0.4 <= spent["attacks"] < 2.0 and spent["geometry"] == 0.0
    assert total >= spent["training"] + spent["attacks"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("[advgeom]   time 97_timed: ") and "geometry 0.0 s, other " in printed[-1]
    assert f"training {spent['training']:.1f} s, attacks {spent['attacks']:.1f} s" in printed[-1]
    sources = [c.source for c in nbformat.read(out, as_version=4).cells]
    assert sum("ADVGEOM_TIMING_FILE" in s or "write_ledger" in s for s in sources) == 0
    assert list(tmpdir.iterdir()) == []  # the ledger file (and the kernel's folder) removed
    assert execute.executed_timing(tmp_path / "book", "01_missing") is None


@pytest.mark.skipif(os.name != "posix", reason="the IPC kernel transport exists on POSIX systems only")
def test_kernel_talks_over_private_unix_sockets(tmp_path, capfd, monkeypatch):
    folders = []
    real_mkdtemp = tempfile.mkdtemp

    def spy(*args, **kwargs):
        folders.append(real_mkdtemp(*args, **kwargs))
        return folders[-1]

    monkeypatch.setattr(execute.tempfile, "mkdtemp", spy)
    execute.run_notebook(TINY, {"n": 2}, out_dir=tmp_path, progress=False)
    kernel_folders = [f for f in folders if "advgeom-kernel-" in f]
    assert len(kernel_folders) == 1 and not os.path.exists(kernel_folders[0])  # used, then removed
    assert "without encryption" not in capfd.readouterr().err  # ipykernel warns only on TCP


@pytest.mark.skipif(os.name != "posix", reason="the IPC kernel transport exists on POSIX systems only")
def test_a_deep_temporary_directory_moves_the_kernel_sockets_where_they_fit(tmp_path, monkeypatch):
    """Unix socket paths are limited to about 100 bytes: under a deep $TMPDIR the kernel could not connect
    (ZMQError: File name too long) and the run would hang, so its folder goes to /tmp instead."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    assert execute.kernel_folder_root() == execute.FALLBACK_KERNEL_ROOT
    out = execute.run_notebook(TINY, {"n": 2}, out_dir=tmp_path / "book", progress=False)
    assert out.exists() and not any(deep.iterdir())
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    assert execute.kernel_folder_root() == "/tmp"


def test_failed_run_keeps_the_good_notebook(tmp_path):
    book = tmp_path / "book"
    good = execute.run_notebook(TINY, {"n": 2}, out_dir=book, progress=False)
    before = good.read_bytes()
    with pytest.raises(execute.NotebookExecutionError) as err:
        execute.run_notebook(TINY, {"n": 5, "fail": True}, out_dir=book, progress=False)
    message = str(err.value)
    assert "RuntimeError: tiny notebook asked to fail" in message and "99_tiny.failed.ipynb" in message
    assert good.read_bytes() == before
    failed = book / "99_tiny.failed.ipynb"
    errors = [o for c in nbformat.read(failed, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["evalue"] == "tiny notebook asked to fail"
    assert sorted(p.name for p in book.iterdir()) == ["99_tiny.failed.ipynb", "99_tiny.ipynb"]
    execute.run_notebook(TINY, {"n": 3}, out_dir=book, progress=False)
    assert not failed.exists()  # a later success clears the stale failure
    assert float(glued(good)["tiny_total"]) == 1.5 * 3 * 2 + 3 * 0.5


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ADVGEOM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_corrupt_runner_timings_are_ignored(fresh_cache, tmp_path):
    timings = fresh_cache / "runner" / "timings.json"
    timings.parent.mkdir(parents=True)
    timings.write_text("{ not json")
    execute.run_notebook(TINY, {"n": 2}, out_dir=tmp_path / "out", progress=True)
    assert timings.read_text().startswith("{") and "99_tiny" in timings.read_text()


def test_a_run_prints_its_estimate_and_last_time(fake_repo, fresh_cache, capsys):
    execute.run_notebook("01_tiny", preset="tiny", out_dir=fake_repo / "out", progress=True)
    first = capsys.readouterr().out
    assert "[advgeom]   estimate ~3 s" in first and "last run" not in first
    execute.run_notebook("01_tiny", preset="tiny", out_dir=fake_repo / "out", progress=True)
    assert "estimate ~3 s; last run with these parameters took" in capsys.readouterr().out


@pytest.fixture(scope="module")
def module_cache_dir() -> Path:
    """The cache folder seen by a module-scoped fixture (executed notebooks are module-scoped)."""
    from advgeom.cache import cache_dir

    return cache_dir()


def test_module_fixtures_never_use_the_users_cache(module_cache_dir: Path) -> None:
    assert module_cache_dir.name == "advgeom-cache" and "pytest" in str(module_cache_dir)
    assert module_cache_dir != Path.home() / ".cache" / "advgeom"


# ------------------------------------------------------------------ the re-run note

FAKE_PRESETS = """\
[01_tiny.presets.tiny]
n = 2
label = "a b"

[01_tiny.presets.classroom]

[01_tiny.estimates]
default = "~1 s"
classroom = "~2 s"
tiny = "~3 s"
"""


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks" / "01_tiny.py").write_text(TINY.read_text())
    (tmp_path / "notebooks" / notebooks.PRESETS_FILE).write_text(FAKE_PRESETS)
    monkeypatch.setenv(notebooks.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_rerun_command_is_what_the_cli_runs(fake_repo):
    cmd = execute.rerun_command("01_tiny", {"n": 2, "label": "a b", "offsets": [0.0, 1.5]}, "tiny")
    assert cmd == "advgeom run 01_tiny --preset tiny -p offsets '[0.0, 1.5]'"  # preset values are not repeated
    cmd = execute.rerun_command("01_tiny", {"n": 5, "label": "two words", "fail": False})
    words = shlex.split(cmd)
    assert words[:3] == ["advgeom", "run", "01_tiny"]
    spec = notebooks.notebook_parameters("01_tiny")
    pairs = {words[i + 1]: notebooks.parse_value(words[i + 2], spec[words[i + 1]]) for i in range(3, len(words), 3)}
    assert pairs == {"n": 5, "label": "two words", "fail": False}
    assert execute.rerun_command("01_tiny") == "advgeom run 01_tiny"


def test_executed_notebook_carries_its_command(fake_repo):
    out = execute.run_notebook("01_tiny", {"scale": 2.5}, preset="tiny", progress=False)
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata["advgeom"]["command"] == "advgeom run 01_tiny --preset tiny -p scale 2.5"
    assert nb.metadata["advgeom"]["parameters"] == {"n": 2, "label": "a b", "scale": 2.5}
    [note] = [c for c in nb.cells if execute.RERUN_TAG in c.metadata.get("tags", [])]
    assert nb.cells.index(note) == 1 and nb.cells[0].source.startswith("# A tiny test chapter")
    assert "advgeom run 01_tiny --preset tiny -p scale 2.5" in note.source
    assert "{download}`01_tiny.py <../notebooks/01_tiny.py>`" in note.source
    assert "[Parameters](parameters.md)" in note.source
    assert execute.executed_metadata(fake_repo / "book", "01_tiny") == nb.metadata["advgeom"]
    # the defaults and papermill's overrides fold behind a "show code" toggle
    parameter_cells = [c for c in nb.cells if set(c.metadata.get("tags", [])) & set(execute.PARAMETER_TAGS)]
    assert len(parameter_cells) == 2 and all("hide-input" in c.metadata["tags"] for c in parameter_cells)
    # running again replaces the note instead of adding a second one
    out = execute.run_notebook("01_tiny", preset="tiny", progress=False)
    notes = [c for c in nbformat.read(out, as_version=4).cells if execute.RERUN_TAG in c.metadata.get("tags", [])]
    assert len(notes) == 1 and "--preset tiny\n" in notes[0].source
    assert execute.executed_metadata(fake_repo / "book", "02_missing") == {}


@pytest.mark.parametrize("seconds, text", [(42.4, "42 s"), (210, "3.5 min"), (5760, "1.6 h")])
def test_format_duration(seconds, text):
    assert execute.format_duration(seconds) == text


# --------------------------------------------------------------------- interrupted runs

SLOW = '''\
# %% [markdown]
# # A slow chapter

# %% tags=["parameters"]
sleep_s = 0.0  # seconds to sleep in the middle
marker = ""  # file written just before sleeping

# %%
import pathlib
import time

from myst_nb import glue

if marker:
    pathlib.Path(marker).write_text("sleeping")
time.sleep(sleep_s)
glue("slept", sleep_s, display=False)
'''


def _start(notebook: Path, out: Path, tmpdir: Path | None = None, **params: object) -> subprocess.Popen:
    args = [sys.executable, "-m", "advgeom", "run", str(notebook), "--out", str(out), "--quiet"]
    for name, value in params.items():
        args += ["-p", name, str(value)]
    env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None  # where its kernel folder goes
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=env)  # fmt: skip


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the notebook never reached its sleep"
        time.sleep(0.2)


def _kill_tree(proc: subprocess.Popen, sig: int) -> list[psutil.Process]:
    """Send ``sig`` to the runner only; return its descendants (the kernel) for clean-up by pid."""
    children = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, sig)
    return children


def _reap(children: list[psutil.Process]) -> None:
    for child in children:  # the processes this test started, by pid
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=10)


@pytest.fixture
def slow_notebook(tmp_path) -> Path:
    path = tmp_path / "notebooks" / "98_slow.py"
    path.parent.mkdir()
    path.write_text(SLOW)
    return path


def _glued(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    return {o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"]
            for c in nb.cells for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killed_run_leaves_no_half_written_notebook(slow_notebook, tmp_path, sig, monkeypatch, request):
    """Ctrl-C and SIGTERM: the kernel is killed, the good page kept, the partial run kept as .failed.ipynb,
    the temporary output and the kernel's folder (sockets, connection file) removed, one line on stderr.
    SIGKILL leaves them; the next run removes what the killed one left."""
    out = tmp_path / "book"
    target = out / "98_slow.ipynb"
    # a private temporary directory short enough for the kernel's sockets (kernel_folder_root): in the shared
    # fallback another test's run would remove the killed run's folder as stale before this test looks
    tmpdir = Path(tempfile.mkdtemp(prefix="advgeom-test-", dir=execute.FALLBACK_KERNEL_ROOT))
    request.addfinalizer(lambda: shutil.rmtree(tmpdir, ignore_errors=True))
    assert len(str(tmpdir)) < 40
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))  # this process's runs put their kernel folders there too
    good = execute.run_notebook(slow_notebook, {"sleep_s": 0.0}, out_dir=out, progress=False)
    before = good.read_bytes()

    marker = tmp_path / "sleeping"
    proc = _start(slow_notebook, out, tmpdir, sleep_s=120, marker=marker)
    children: list[psutil.Process] = []
    try:
        _wait_for(marker, proc)
        kernel_folders = list(tmpdir.glob(f"advgeom-kernel-{proc.pid}-*"))
        assert len(kernel_folders) == 1 and (kernel_folders[0] / "connection.json").is_file()  # all kernel files
        children = _kill_tree(proc, sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _reap(children)
    assert target.read_bytes() == before  # the last good page is untouched
    leftovers = list(out.glob(".98_slow.*.running.ipynb"))
    failed = out / "98_slow.failed.ipynb"
    if sig != signal.SIGKILL:
        expected = {signal.SIGINT: (130, "advgeom: interrupted"), signal.SIGTERM: (143, "advgeom: terminated")}[sig]
        assert (proc.returncode, proc.stderr.read().strip()) == expected
        assert leftovers == [] and not kernel_folders[0].exists()  # a clean stop removes its temporaries
        cells = nbformat.read(failed, as_version=4).cells  # the partial run, for a look
        assert any("time.sleep(sleep_s)" in c.source for c in cells)
    else:
        assert not failed.exists() and kernel_folders[0].exists()  # nothing ran its clean-up
    # a re-run completes, replaces the page and removes what the killed run left behind
    execute.run_notebook(slow_notebook, {"sleep_s": 0.5}, out_dir=out, progress=False)
    assert float(_glued(target)["slept"]) == 0.5
    assert sorted(p.name for p in out.iterdir()) == ["98_slow.ipynb"]
    assert list(tmpdir.glob("advgeom-kernel-*")) == []


def test_stale_kernel_folders_are_removed_by_owner_pid(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{execute.KERNEL_FOLDER_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{execute.KERNEL_FOLDER_PREFIX}{os.getpid()}-def"
    old_style = tmp_path / f"{execute.KERNEL_FOLDER_PREFIX}k2j4h5"  # no owner pid: not ours to judge
    for folder in (stale, live, old_style):
        folder.mkdir()
        (folder / "connection.json").write_text("{}")
    assert execute.remove_stale_kernel_folders(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and old_style.exists()


def test_killed_first_run_leaves_no_target(slow_notebook, tmp_path):
    out = tmp_path / "book"
    marker = tmp_path / "sleeping"
    proc = _start(slow_notebook, out, sleep_s=120, marker=marker)
    children: list[psutil.Process] = []
    try:
        _wait_for(marker, proc)
        children = _kill_tree(proc, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        _reap(children)
    assert not (out / "98_slow.ipynb").exists()
    assert [p for p in out.iterdir() if not p.name.startswith(".")] == []  # only hidden temporaries, if any
