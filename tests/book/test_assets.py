"""advgeom.book.assets: the offline vega bundle and MathJax, and the Sphinx hook that keeps pages lean."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from advgeom.book import assets


@pytest.fixture(scope="module")
def static(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("static") / "_static"
    assets.vendor_assets(root, progress=False)
    return root


def test_vega_bundle_defines_global_vega_embed(static):
    bundle = static / "vendor" / "vega" / assets.VEGA_BUNDLE
    text = bundle.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("/*") and lines[1] == "(function () {" and lines[-1] == "})();"  # an IIFE
    assert "window.vegaEmbed=" in text.replace(" ", "")
    record = json.loads((bundle.parent / "VERSION.json").read_text())
    assert record == assets.vega_record()


@pytest.mark.skipif(shutil.which("node") is None, reason="node (Debian nodejs) not installed")
def test_vega_bundle_runs_and_only_adds_three_globals(static):
    bundle = static / "vendor" / "vega" / assets.VEGA_BUNDLE
    script = (
        "globalThis.window = globalThis;"
        "const before = new Set(Object.keys(globalThis));"
        f"(0, eval)(require('fs').readFileSync({json.dumps(str(bundle))}, 'utf8'));"
        "const added = Object.keys(globalThis).filter(k => !before.has(k)).sort();"
        "console.log(JSON.stringify({added, embed: typeof window.vegaEmbed}));"
    )
    proc = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["added"] == ["vega", "vegaEmbed", "vegaLite"]
    assert result["embed"] == "function"


def test_mathjax_entry_and_lazy_parts_present(static):
    mj = static / "vendor" / "mathjax"
    assert (mj / assets.MATHJAX_ENTRY).stat().st_size > 500_000
    fonts = list((mj / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) > 10
    for part in ("input/tex/extensions/boldsymbol.js", "ui/menu.js", "a11y/assistive-mml.js", "output/svg.js"):
        assert (mj / part).is_file(), part
    assert json.loads((mj / "VERSION.json").read_text())["mathjax"] == assets.MATHJAX_VERSION


def test_vendor_assets_is_idempotent_and_force_rebuilds(static):
    bundle = static / "vendor" / "vega" / assets.VEGA_BUNDLE
    entry = static / "vendor" / "mathjax" / assets.MATHJAX_ENTRY
    stamps = (bundle.stat().st_mtime_ns, entry.stat().st_ino)
    assets.vendor_assets(static, progress=False)
    assert (bundle.stat().st_mtime_ns, entry.stat().st_ino) == stamps
    (bundle.parent / "VERSION.json").write_text("{}")  # a stale record triggers a rebuild of that part
    assets.vendor_assets(static, progress=False)
    assert bundle.stat().st_mtime_ns != stamps[0]
    assert entry.stat().st_ino == stamps[1]
    assert not [p for p in (static / "vendor").iterdir() if p.name.startswith(".")]  # no temp folders left


def test_missing_npm_names_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(assets.AssetError, match="nodejs npm"):
        assets.write_mathjax(tmp_path / "mathjax")
    assert not (tmp_path / "mathjax").exists()


def test_sphinx_hook_drops_auto_added_vendor_files(tmp_path):
    class App:
        srcdir = str(tmp_path)

    config = {
        "html_js_files": ["vendor/vega/vega-bundle.js", "custom.js", "vendor/vega/vega-bundle.js",
                          "vendor/mathjax/tex-mml-chtml.js", ("vendor/mathjax/ui/menu.js", {"defer": "defer"})],
        "html_css_files": ["vendor/x/y.css", "book.css"],
    }
    for part in ("vendor/vega/vega-bundle.js", "vendor/mathjax/tex-mml-chtml.js"):
        (tmp_path / "_static" / part).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "_static" / part).write_text("x")
    assets.prune_vendor_files(App(), config)
    assert config["html_js_files"] == ["vendor/vega/vega-bundle.js", "custom.js"]
    assert config["html_css_files"] == ["book.css"]
