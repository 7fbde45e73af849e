"""advgeom.timing: seconds per category, nested blocks counted once, the ledger file and its table."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import torch

from advgeom import timing


@pytest.fixture(autouse=True)
def fresh_ledger(monkeypatch):
    monkeypatch.delenv(timing.TIMING_ENV, raising=False)
    timing.reset()
    yield
    timing.reset()


def test_blocks_add_their_wall_time_to_their_category() -> None:
    with timing.timed("training"):
        time.sleep(0.05)

    @timing.timed("geometry")
    def work(x: int) -> int:
        time.sleep(0.02)
        return x + 1

    assert work(1) == 2 and work(2) == 3 and work.__name__ == "work"
    spent = timing.ledger()
    assert set(spent) == set(timing.CATEGORIES)
    assert 0.05 <= spent["training"] < 0.5 and 0.04 <= spent["geometry"] < 0.5 and spent["attacks"] == 0.0


def test_nested_blocks_count_once_in_the_outermost_category() -> None:
    @timing.timed("attacks")
    def score() -> None:
        time.sleep(0.02)

    @timing.timed("attacks")
    def attack() -> None:
        score()
        score()

    t0 = time.perf_counter()
    with timing.timed("training"):  # an attack inside training is training time
        attack()
    wall = time.perf_counter() - t0
    attack()
    spent = timing.ledger()
    assert 0.04 <= spent["training"] <= wall and 0.04 <= spent["attacks"] < 0.5
    assert sum(spent.values()) <= wall + spent["attacks"] + 1e-6  # nothing is counted twice


def test_a_block_that_raises_still_counts_and_unwinds() -> None:
    with pytest.raises(RuntimeError), timing.timed("attacks"):
        time.sleep(0.01)
        raise RuntimeError("boom")
    with timing.timed("geometry"):  # the failed block left no depth behind: this one counts
        time.sleep(0.01)
    assert timing.ledger()["attacks"] >= 0.01 and timing.ledger()["geometry"] >= 0.01


def test_threads_keep_their_own_nesting() -> None:
    def worker() -> None:
        with timing.timed("geometry"):
            time.sleep(0.03)

    with timing.timed("training"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert timing.ledger()["geometry"] >= 0.03  # not swallowed by the main thread's open block


def test_unknown_categories_are_refused() -> None:
    with pytest.raises(ValueError, match="'plotting' is unknown"):
        timing.timed("plotting")


def test_the_ledger_file_is_written_after_each_outermost_block(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ledger.json"
    monkeypatch.setenv(timing.TIMING_ENV, str(path))
    with timing.timed("attacks"):
        with timing.timed("attacks"):
            pass
        assert not path.exists()  # only an outermost block writes
    assert json.loads(path.read_text()).keys() == set(timing.CATEGORIES)
    assert timing.read_ledger(path) == pytest.approx(timing.ledger(), abs=1e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]  # written atomically, no temporaries left


def _timed_child() -> None:
    with timing.timed("geometry"):
        time.sleep(0.01)


def test_only_the_process_that_found_the_variable_writes(tmp_path, monkeypatch) -> None:
    """Children (Dask or data-loader workers), forked or spawned after the claim, never write over the ledger."""
    import multiprocessing
    import subprocess
    import sys

    path = tmp_path / "ledger.json"
    monkeypatch.setenv(timing.TIMING_ENV, str(path))
    with timing.timed("training"):
        pass
    assert timing.TIMING_ENV not in os.environ  # taken out: spawned children do not inherit it
    written = path.read_text()
    code = "from advgeom import timing\nwith timing.timed('attacks'):\n    pass"
    subprocess.run([sys.executable, "-c", code], check=True)  # inherits this environment
    child = multiprocessing.get_context("fork").Process(target=_timed_child)
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0 and path.read_text() == written
    with timing.timed("attacks"):  # the owner still writes
        time.sleep(0.01)
    assert timing.read_ledger(path)["attacks"] > 0


def test_an_unwritable_ledger_file_never_breaks_the_work(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(timing.TIMING_ENV, str(tmp_path / "missing" / "folder" / "x.json"))
    (tmp_path / "missing").write_text("a file where the folder should be")
    with timing.timed("training"):
        pass
    assert timing.ledger()["training"] >= 0


@pytest.mark.parametrize("text", ["", "{ not json", "[1, 2]", '{"training": "soon", "attacks": -1}'])
def test_unreadable_ledgers_read_as_nothing_spent(tmp_path, text) -> None:
    path = tmp_path / "ledger.json"
    path.write_text(text)
    assert timing.read_ledger(path) == dict.fromkeys(timing.CATEGORIES, 0.0)
    assert timing.read_ledger(tmp_path / "absent.json") == dict.fromkeys(timing.CATEGORIES, 0.0)


def test_line_and_table_show_every_category_and_the_rest() -> None:
    spent = {"training": 30.0, "attacks": 12.0, "geometry": 3.0}
    line = timing.timing_line("01_x", 50.0, spent)
    assert line == "01_x: 50 s (training 30 s, attacks 12 s, geometry 3.0 s, other 5.0 s)"
    assert "other 0.0 s" in timing.timing_line("cached", 2.0, {"training": 3.0})  # never negative
    table = timing.timing_table({"01_x": (50.0, spent), "02_cached": (4.0, {})}).splitlines()
    assert table[0].split() == ["chapter", "total", "s", "training", "s", "attacks", "s", "geometry", "s", "other", "s"]
    assert table[1].split() == ["01_x", "50.0", "30.0", "12.0", "3.0", "5.0"]
    assert table[2].split() == ["02_cached", "4.0", "0.0", "0.0", "0.0", "4.0"]
    assert table[3].split() == ["all", "54.0", "30.0", "12.0", "3.0", "9.0"]


def test_the_science_entry_points_are_timed() -> None:
    """pgd (with its scoring inside robust_scores counted once) as attacks, train_model as training (its
    attacks included), manifold_analysis as geometry."""
    import numpy as np

    from advgeom.attacks import robust_accuracy
    from advgeom.geometry import manifold_analysis
    from advgeom.train import train_model

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3)).eval()
    x, y = torch.rand(12, 8), torch.arange(12) % 3
    robust_accuracy(model, (x, y), eps=0.1, steps=2)
    after_attack = timing.ledger()
    assert after_attack["attacks"] > 0 and after_attack["training"] == 0
    train_model(model, (x, y), epochs=1, batch_size=6, adversarial="fgsm", eps=0.1, progress=False, device="cpu")
    after_training = timing.ledger()
    assert after_training["training"] > 0 and after_training["attacks"] == after_attack["attacks"]
    rng = np.random.default_rng(0)
    manifold_analysis([rng.normal(size=(20, 5)) for _ in range(3)], n_t=20, n_restarts=1)
    assert timing.ledger()["geometry"] > 0
