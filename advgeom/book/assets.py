"""Vendor the JavaScript the book needs, so it builds and reads with no network at all.

* Vega + Vega-Lite + vega-embed: ``vl_convert.javascript_bundle()`` (one self-contained
  ES bundle whose default snippet assigns ``window.vegaEmbed``, ``window.vega`` and
  ``window.vegaLite``), wrapped in an IIFE so its top-level names do not leak into the
  page's global scope -> ``_static/vendor/vega/vega-bundle.js`` (loaded by
  ``html_js_files`` in ``_config.yml``).
* MathJax 3 from the npm registry (``npm pack mathjax@<version>``): the ``es5/``
  components (``tex-mml-chtml.js`` plus the input/output/ui/a11y pieces and CHTML fonts
  it loads lazily, including the speech-rule-engine maps of the accessibility menu) ->
  ``_static/vendor/mathjax/`` (``mathjax_path`` in ``_config.yml``).

Each folder carries a ``VERSION.json``; a folder whose record matches is left alone
(idempotent), and a new folder is assembled beside the old one and swapped in only
when complete (atomic).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config

MATHJAX_VERSION = "3.2.2"
MATHJAX_ENTRY = "tex-mml-chtml.js"
VEGA_BUNDLE = "vega-bundle.js"
VENDOR = "vendor"
# es5/ entries copied from the MathJax package (everything the entry point may load lazily)
_MATHJAX_KEEP = ("tex-mml-chtml.js", "tex-chtml.js", "startup.js", "core.js", "loader.js",
                 "input", "output", "ui", "a11y", "adaptors", "sre")


class AssetError(RuntimeError):
    """An offline asset could not be produced (the message says what to install)."""


def _vegalite_minor() -> str:
    """Vega-Lite ``major.minor`` that altair emits, as vl-convert names its bundled versions."""
    import altair as alt
    import vl_convert as vlc

    available = vlc.get_vegalite_versions()
    major, minor = alt.VEGALITE_VERSION.split(".")[:2]
    wanted = f"{major}.{minor}"
    if wanted in available:
        return wanted
    same_major = [v for v in available if v.split(".")[0] == major]
    if not same_major:
        raise AssetError(
            f"vl-convert-python bundles Vega-Lite {available}, none compatible with altair's "
            f"Vega-Lite {alt.VEGALITE_VERSION}; upgrade vl-convert-python"
        )
    return max(same_major, key=lambda v: tuple(int(x) for x in v.split(".")))


def vega_record() -> dict[str, str]:
    """What the vega bundle is built from (stored in VERSION.json, compared to skip work)."""
    from importlib.metadata import version

    import vl_convert as vlc

    return {
        "vl-convert-python": version("vl-convert-python"),
        "vega-lite": _vegalite_minor(),
        "vega": vlc.get_vega_version(),
        "vega-embed": vlc.get_vega_embed_version(),
    }


def _read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "VERSION.json").read_text())
    except (OSError, ValueError):
        return None


def _swap_in(new: Path, target: Path) -> None:
    """Move the finished folder ``new`` onto ``target`` (old one removed after the swap)."""
    new.chmod(0o755)  # mkdtemp makes it 0700
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_vega_bundle(folder: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``folder/vega-bundle.js`` (+ VERSION.json) unless an identical one is there."""
    import vl_convert as vlc

    folder = Path(folder)
    record = vega_record()
    bundle = folder / VEGA_BUNDLE
    if not force and bundle.is_file() and _read_record(folder) == record:
        return bundle
    code = vlc.javascript_bundle(vl_version=record["vega-lite"])
    if "window.vegaEmbed" not in code:
        raise AssetError("vl_convert.javascript_bundle() no longer assigns window.vegaEmbed; the renderer needs it")
    header = (
        f"/* Vega {record['vega']}, Vega-Lite {record['vega-lite']}, vega-embed {record['vega-embed']}: "
        f"bundled by vl-convert-python {record['vl-convert-python']} (advgeom assets). Defines window.vegaEmbed. */\n"
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (tmp / VEGA_BUNDLE).write_text(header + "(function () {\n" + code + "\n})();\n", encoding="utf-8")
        (tmp / "VERSION.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        _swap_in(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return bundle


def _npm() -> str:
    npm = shutil.which("npm")
    if not npm:
        raise AssetError(
            "npm is needed once to fetch MathJax for the offline book; install the Debian packages "
            "nodejs npm (sudo apt-get install nodejs npm) and rerun `advgeom assets`"
        )
    return npm


def write_mathjax(folder: str | os.PathLike[str], *, version: str = MATHJAX_VERSION, force: bool = False) -> Path:
    """Fetch ``mathjax@version`` with ``npm pack`` and install its es5 components in ``folder``."""
    folder = Path(folder)
    record = {"mathjax": version, "entry": MATHJAX_ENTRY, "components": list(_MATHJAX_KEEP)}
    entry = folder / MATHJAX_ENTRY
    if not force and entry.is_file() and _read_record(folder) == record:
        return entry
    npm = _npm()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="advgeom-mathjax-") as work:
        proc = subprocess.run(
            [npm, "pack", f"mathjax@{version}", "--silent"], cwd=work, capture_output=True, text=True
        )
        tarballs = list(Path(work).glob("mathjax-*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise AssetError(
                f"`npm pack mathjax@{version}` failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-500:]}"
            )
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(work, filter="data")
        es5 = Path(work) / "package" / "es5"
        if not (es5 / MATHJAX_ENTRY).is_file():
            raise AssetError(f"mathjax@{version} has no es5/{MATHJAX_ENTRY}")
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            for name in _MATHJAX_KEEP:
                src = es5 / name
                if src.is_dir():
                    shutil.copytree(src, tmp / name)
                elif src.is_file():
                    shutil.copy2(src, tmp / name)
            shutil.copy2(Path(work) / "package" / "LICENSE", tmp / "LICENSE")
            (tmp / "VERSION.json").write_text(json.dumps(record, indent=1, sort_keys=True))
            _swap_in(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return entry


def vendor_assets(
    static_dir: str | os.PathLike[str] = "_static",
    *,
    force: bool = False,
    progress: bool | Callable[[str], None] = True,
) -> dict[str, Path]:
    """Write the offline vega bundle and MathJax into ``static_dir/vendor/``; return their entry files.

    Relative ``static_dir`` is taken from the current directory. Skips what is already
    present at the expected version unless ``force``.
    """
    say = progress if callable(progress) else (print if progress else (lambda _msg: None))
    vendor = Path(static_dir) / VENDOR
    vendor.mkdir(parents=True, exist_ok=True)
    out = {}
    out["vega"] = write_vega_bundle(vendor / "vega", force=force)
    say(f"[advgeom] vega bundle: {out['vega']} ({out['vega'].stat().st_size / 1e6:.1f} MB)")
    out["mathjax"] = write_mathjax(vendor / "mathjax", force=force)
    say(f"[advgeom] MathJax {MATHJAX_VERSION}: {out['mathjax']}")
    return out


# ----------------------------------------------------------------- Sphinx extension

_KEEP_JS = (f"{VENDOR}/vega/{VEGA_BUNDLE}",)


def prune_vendor_files(app: Sphinx, config: Config) -> None:
    """jupyter-book adds every .js/.css under ``_static`` to every page; drop the vendored
    component files (MathJax loads its own pieces on demand) but keep the vega bundle once."""
    from sphinx.util import logging

    def name(entry):
        return entry[0] if isinstance(entry, (tuple, list)) else entry

    for key in ("html_js_files", "html_css_files"):
        kept, seen = [], set()
        for entry in config[key]:
            filename = str(name(entry))
            if filename.startswith(f"{VENDOR}/") and (filename not in _KEEP_JS or filename in seen):
                continue
            seen.add(filename)
            kept.append(entry)
        config[key] = kept
    static = Path(app.srcdir) / "_static"
    missing = [p for p in (static / _KEEP_JS[0], static / VENDOR / "mathjax" / MATHJAX_ENTRY) if not p.is_file()]
    if missing:
        logging.getLogger(__name__).warning(
            "offline assets missing (%s): run `advgeom assets` before building the book",
            ", ".join(str(p) for p in missing),
        )


def setup(app: Sphinx) -> dict:
    """Sphinx extension ``advgeom.book.assets`` (listed in ``_config.yml``): see :func:`prune_vendor_files`."""
    app.connect("config-inited", prune_vendor_files, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
