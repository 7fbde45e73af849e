"""advgeom.runner: parameter parsing and checks, notebook lookup, presets, papermill execution."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
import pytest

from advgeom import presets, runner

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "99_tiny.py"

CELL = '''\
n_images = 50  # images per manifold
eps = 0.5  # attack strength
name = "resnet"  # model name
noisy = True  # stochastic front end
eps_grid = [0, 0.5, 1.0]  # strengths to sweep
layers = ("pixels", "logits")  # layers to analyse
seeds = [1, 2, 3]
empty = []  # anything
device = None  # auto
'''


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


def test_parse_parameters_types_and_descriptions():
    params = runner.parse_parameters(CELL)
    assert list(params) == ["n_images", "eps", "name", "noisy", "eps_grid", "layers", "seeds", "empty", "device"]
    kinds = {k: p.type_name for k, p in params.items()}
    assert kinds == {
        "n_images": "int", "eps": "float", "name": "str", "noisy": "bool", "eps_grid": "list[float]",
        "layers": "tuple[str]", "seeds": "list[int]", "empty": "list[any]", "device": "None (any literal)",
    }
    assert params["n_images"].description == "images per manifold"
    assert params["seeds"].description == ""
    assert params["eps_grid"].default == [0, 0.5, 1.0]


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("x = np.pi  # no", "must be a literal"),
        ("a, b = 1, 2", "only hold `name = literal"),
        ("print(1)", "only hold `name = literal"),
        ("x = [1, 2", "not valid Python"),
    ],
)
def test_parse_parameters_rejects_non_literals(source, fragment):
    with pytest.raises(ValueError, match="line|Python") as err:
        runner.parse_parameters(source)
    assert fragment in str(err.value)


def test_validate_accepts_and_converts():
    spec = runner.parse_parameters(CELL)
    out = runner.validate_params(spec, {"eps": 1, "eps_grid": [0, 1], "layers": ["a"], "device": "cpu", "seeds": (4,)})
    assert out == {"eps": 1.0, "eps_grid": [0.0, 1.0], "layers": ["a"], "device": "cpu", "seeds": [4]}
    assert isinstance(out["eps"], float) and all(isinstance(v, float) for v in out["eps_grid"])


def test_unknown_parameter_lists_valid_names_and_types():
    spec = runner.parse_parameters(CELL)
    with pytest.raises(ValueError) as err:
        runner.validate_params(spec, {"n_image": 3}, notebook="01_x")
    message = str(err.value)
    assert "'n_image'" in message and "01_x" in message
    for name, p in spec.items():
        assert name in message and p.type_name in message


@pytest.mark.parametrize(
    "name, value, fragment",
    [
        ("n_images", 2.5, "must be int"),
        ("n_images", True, "must be int"),  # bool is not an int here
        ("n_images", "50", "must be int"),
        ("eps", "0.5", "must be float"),
        ("noisy", 1, "must be bool"),
        ("name", 3, "must be str"),
        ("eps_grid", "[0, 1]", "must be list[float]"),  # a str where a list is expected
        ("eps_grid", 0.5, "must be list[float]"),
        ("eps_grid", [0, "a"], "element 1 is 'a'"),
        ("seeds", [1, 2.5], "element 1 is 2.5"),
        ("layers", ["pixels", 3], "element 1 is 3"),
        ("device", {"a": 1}, "simple literal"),
    ],
)
def test_wrong_types_are_rejected(name, value, fragment):
    spec = runner.parse_parameters(CELL)
    with pytest.raises(ValueError) as err:
        runner.validate_params(spec, {name: value})
    assert fragment in str(err.value)
    assert repr(spec[name].default) in str(err.value)


@pytest.mark.parametrize(
    "text, expected",
    [("[0, 0.05, 0.1]", [0, 0.05, 0.1]), ("3", 3), ("1e-3", 0.001), ("true", True), ("False", False),
     ("null", None), ("None", None), ("resnet", "resnet"), ("'quoted'", "quoted"), ("[a, b]", ["a", "b"])],
)
def test_parse_value_like_papermill(text, expected):
    assert runner.parse_value(text) == expected


def test_parse_value_keeps_text_for_str_parameters():
    spec = runner.parse_parameters(CELL)
    assert runner.parse_value("123", spec["name"]) == "123"
    assert runner.parse_value("true", spec["name"]) == "true"
    assert runner.parse_value("123", spec["n_images"]) == 123


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    nb = tmp_path / "notebooks"
    nb.mkdir()
    text = TINY.read_text()
    for stem in ("01_alpha_beta", "02_gamma"):
        (nb / f"{stem}.py").write_text(text)
    (nb / "helpers.py").write_text("x = 1\n")  # not a chapter: no NN_ prefix
    monkeypatch.setenv(runner.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_list_and_resolve_notebooks(fake_repo):
    assert [p.stem for p in runner.list_notebooks()] == ["01_alpha_beta", "02_gamma"]
    target = fake_repo / "notebooks" / "01_alpha_beta.py"
    for name in ("01", "1", "01_alpha_beta", "01_alpha_beta.py", "alpha_beta", str(target)):
        assert runner.resolve_notebook(name) == target, name
    with pytest.raises(ValueError) as err:
        runner.resolve_notebook("03")
    assert "01_alpha_beta" in str(err.value) and "02_gamma" in str(err.value)


def test_presets_are_checked(fake_repo, monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "02_gamma", {"tiny": {"n": 2}, "broken": {"nn": 2}, "bad": {"n": "x"}})
    path, values = runner.resolve_params("02", {"scale": 2}, preset="tiny")
    assert values == {"n": 2, "scale": 2.0}
    _, values = runner.resolve_params("02", {"n": 5}, preset="tiny")
    assert values == {"n": 5}  # explicit parameters win over the preset
    with pytest.raises(ValueError, match="no parameter.*'nn'"):
        runner.resolve_params("02", preset="broken")
    with pytest.raises(ValueError, match="must be int"):
        runner.resolve_params("02", preset="bad")
    with pytest.raises(ValueError, match=r"no preset 'huge'.*\['bad', 'broken', 'tiny'\]"):
        runner.resolve_params("02", preset="huge")


def test_every_chapter_has_valid_tiny_and_classroom_presets():
    chapters = runner.list_notebooks(ROOT / "notebooks")
    for stem in presets.PRESETS:
        assert stem.split("_", 1)[0].isdigit(), f"preset key {stem!r} is not a notebook stem NN_name"
    for path in chapters:
        assert {"tiny", "classroom"} <= set(presets.PRESETS.get(path.stem, {})), f"{path.stem} lacks presets"
        spec = runner.parse_parameters(runner._parameters_cell(runner._read(path), str(path)))
        for name, values in presets.PRESETS[path.stem].items():
            runner.validate_params(spec, values, notebook=f"{path.stem} preset {name}")


def test_bad_parameters_fail_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="no parameter"):
        runner.run_notebook(TINY, {"nope": 1}, out_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_run_tiny_notebook_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the notebook must still run in the repository root
    out = runner.run_notebook(TINY, {"n": 4, "scale": 2, "offsets": [0, 1]}, out_dir=tmp_path / "book",
                              progress=False)
    assert out == tmp_path / "book" / "99_tiny.ipynb"
    values = glued(out)
    # y = scale * i + offset for i < n and each offset: 2 * 2 * (0+1+2+3) + 4 * (0 + 1)
    assert float(values["tiny_total"]) == 28.0
    assert values["tiny_cwd"].strip("'\"") == str(runner.repo_root())
    assert "'scale': 'float'" in values["tiny_types"]  # int 2 was injected as float 2.0
    nb = nbformat.read(out, as_version=4)
    html = [o for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert html and "vegaEmbed" in html[0]["data"]["text/html"]  # ADVGEOM_BOOK=1 reached the kernel
    assert os.environ.get(runner.BOOK_ENV) is None
    assert not list((tmp_path / "book").glob(".*"))  # no temporary files left


@pytest.mark.skipif(os.name != "posix", reason="the IPC kernel transport exists on POSIX systems only")
def test_kernel_talks_over_private_unix_sockets(tmp_path, capfd, monkeypatch):
    folders = []
    real_mkdtemp = tempfile.mkdtemp

    def spy(*args, **kwargs):
        folders.append(real_mkdtemp(*args, **kwargs))
        return folders[-1]

    monkeypatch.setattr(runner.tempfile, "mkdtemp", spy)
    runner.run_notebook(TINY, {"n": 2}, out_dir=tmp_path, progress=False)
    kernel_folders = [f for f in folders if "advgeom-kernel-" in f]
    assert len(kernel_folders) == 1 and not os.path.exists(kernel_folders[0])  # used, then removed
    assert "without encryption" not in capfd.readouterr().err  # ipykernel warns only on TCP


def test_failed_run_keeps_the_good_notebook(tmp_path):
    book = tmp_path / "book"
    good = runner.run_notebook(TINY, {"n": 2}, out_dir=book, progress=False)
    before = good.read_bytes()
    with pytest.raises(runner.NotebookExecutionError) as err:
        runner.run_notebook(TINY, {"n": 5, "fail": True}, out_dir=book, progress=False)
    message = str(err.value)
    assert "RuntimeError: tiny notebook asked to fail" in message and "99_tiny.failed.ipynb" in message
    assert good.read_bytes() == before
    failed = book / "99_tiny.failed.ipynb"
    errors = [o for c in nbformat.read(failed, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["evalue"] == "tiny notebook asked to fail"
    assert sorted(p.name for p in book.iterdir()) == ["99_tiny.failed.ipynb", "99_tiny.ipynb"]
    runner.run_notebook(TINY, {"n": 3}, out_dir=book, progress=False)
    assert not failed.exists()  # a later success clears the stale failure
    assert float(glued(good)["tiny_total"]) == 1.5 * 3 * 2 + 3 * 0.5


@pytest.fixture(scope="module")
def module_cache_dir() -> Path:
    """The cache folder seen by a module-scoped fixture (executed notebooks are module-scoped)."""
    from advgeom.cache import cache_dir

    return cache_dir()


def test_module_fixtures_never_use_the_users_cache(module_cache_dir: Path) -> None:
    assert module_cache_dir.name == "advgeom-cache" and "pytest" in str(module_cache_dir)
    assert module_cache_dir != Path.home() / ".cache" / "advgeom"
