"""Charts for the book: an offline altair renderer, one theme, and the chart helpers the chapters share.

Call :func:`setup_charts` once at the top of a notebook. It enables the altair renderer
``"advgeom"``, whose display bundle holds

* the Vega-Lite spec under ``application/vnd.vegalite.v<major>+json`` (v6 for altair 6),
  which notebook front ends with a renderer for that Vega-Lite version draw natively;
* when the notebook is executed for the book (``ADVGEOM_BOOK=1``, set by
  :func:`advgeom.book.execute.run_notebook`) or ``setup_charts(html=True)``: ``text/html``
  holding a ``<div>`` with a unique id and an inline ``<script>`` that calls the global
  ``vegaEmbed`` defined by the vendored bundle (``_static/vendor/vega/vega-bundle.js``,
  see :mod:`advgeom.book.assets`). No ``<script src>``, no CDN: myst-nb puts this HTML in
  the page (it prefers ``text/html``), and ``myst_nb.glue(name, chart, display=False)``
  + ``{glue:figure}`` works the same way.

The HTML is off by default in interactive sessions because front ends such as
JupyterLab rank ``text/html`` above the Vega-Lite MIME type and the page there has no
global ``vegaEmbed``.

The helpers: :func:`line_with_errorbars` and :func:`faceted_lines` (measured series with error bars,
optionally in small multiples), :func:`layer_lines` (a measure across the layers, named by
:func:`layer_axis`), :func:`theory_vs_measured` (theory curves against measured points) and
:func:`measured_lines`, built from the encodings :func:`x_encoding`, :func:`colour` and :func:`tooltip`.

For the tables behind the figures: :func:`table` prints a frame as typed (``display(charts.table(acc))``),
:func:`publish` offers a tidy table as a CSV download and records it for the book's Explorer page
(``charts.publish(acc, "accuracy", "Accuracy under PGD")``), whose interactive charts
:func:`explorer_chart` draws.
This module is for the book's pages only: nothing outside :mod:`advgeom.book` and the chapters imports it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from advgeom.book import BOOK_ENV, CHAPTER_ENV, TABLE_MIME

RENDERER = "advgeom"
THEME = "advgeom"
# Okabe & Ito (2008) colour-blind safe palette (black moved last)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
EMBED_OPTIONS: dict[str, Any] = {
    "mode": "vega-lite",
    "renderer": "svg",
    # keep "save as SVG/PNG"; drop the links that would open the online Vega editor
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}

_html_mode: bool | None = None


def vegalite_mime_type() -> str:
    """``application/vnd.vegalite.v<major>+json`` for the Vega-Lite major version altair emits.

    (altair 6's own ``application/vnd.vegalite.v6.json`` is not a valid nbformat output key:
    JSON-valued MIME types must end in ``json`` after a ``+``.)
    """
    return f"application/vnd.vegalite.v{alt.VEGALITE_VERSION.split('.')[0]}+json"


def _script_json(obj: Any) -> str:
    """JSON safe to put inside an inline <script> (no ``</script>`` or ``<!--`` can appear)."""
    return json.dumps(obj, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def chart_html(spec: dict[str, Any], *, embed_options: dict[str, Any] | None = None, div_id: str | None = None) -> str:
    """A ``<div>`` with a unique id and an inline script calling the global ``vegaEmbed`` on it.

    If ``vegaEmbed`` is not there when the page has loaded, the div says so (no chart is
    silently missing).
    """
    div_id = div_id or f"advgeom-chart-{uuid.uuid4().hex}"
    options = {**EMBED_OPTIONS, **(embed_options or {})}
    return (
        f'<div id="{div_id}" class="advgeom-chart"></div>\n'
        "<script>\n"
        "(function () {\n"
        "  var me = document.currentScript, prev = me && me.previousElementSibling;\n"
        f'  var el = prev && prev.id === "{div_id}" ? prev : document.getElementById("{div_id}");\n'
        f"  var spec = {_script_json(spec)};\n"
        f"  var opt = {_script_json(options)};\n"
        "  function show() {\n"
        '    if (typeof window.vegaEmbed !== "function") {\n'
        '      el.textContent = "[chart not drawn: vegaEmbed is not loaded; run `advgeom assets` and rebuild]";\n'
        '      console.error("advgeom: vegaEmbed missing for " + el.id);\n'
        "      return;\n"
        "    }\n"
        "    window.vegaEmbed(el, spec, opt).catch(function (err) {\n"
        '      el.textContent = "[chart error: " + err + "]";\n'
        "      console.error(err);\n"
        "    });\n"
        "  }\n"
        '  if (typeof window.vegaEmbed === "function" || document.readyState === "complete") { show(); }\n'
        '  else { window.addEventListener("load", show); }\n'
        "})();\n"
        "</script>"
    )


def _want_html() -> bool:
    if _html_mode is not None:
        return _html_mode
    return os.environ.get(BOOK_ENV) == "1"


def renderer(spec: dict[str, Any], **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``"advgeom"`` altair renderer: Vega-Lite MIME bundle (+ offline ``text/html`` for the book)."""
    bundle: dict[str, Any] = {
        vegalite_mime_type(): spec,
        "text/plain": "<Vega-Lite chart (advgeom renderer)>",
    }
    if _want_html():
        bundle["text/html"] = chart_html(spec, embed_options=metadata.get("embed_options"))
    return bundle, {}


def theme() -> alt.theme.ThemeConfig:
    """The book's chart theme: system fonts, Okabe-Ito colours, light grid, compact default size."""
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 320, "continuousHeight": 220, "stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "gridOpacity": 0.5},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 2},
            "point": {"size": 36, "filled": True},
        }
    }


def setup_charts(*, html: bool | None = None) -> None:
    """Register and enable the ``"advgeom"`` renderer and theme.

    ``html``: include the offline ``text/html`` (True), leave it out (False), or decide
    from ``ADVGEOM_BOOK`` (None: included when the runner executes the notebook).
    """
    global _html_mode
    _html_mode = html
    alt.renderers.register(RENDERER, renderer)
    alt.renderers.enable(RENDERER)
    alt.theme.register(THEME, enable=True)(theme)


# -------------------------------------------------------------------- chart helpers


def _field(name: str, kind: str | None, title: str | None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"field": name, "title": title if title is not None else name, **kw}
    if kind:
        out["type"] = kind
    return out


LAYER_OPTIONS = ("err", "lo", "hi", "x_title", "y_title", "group_title", "log_x", "domain", "y_domain", "points")
"""The keyword options of the layers :func:`faceted_lines` repeats (those of :func:`line_with_errorbars`)."""


def _x_axis(data: Any, x: str, title: str | None, log_x: bool | str, network: str | None, order: Any) -> alt.X:
    """A :func:`layer_axis` for ``x = "depth"`` in a frame that names its layers, else a quantitative axis:
    logarithmic when ``log_x`` is True, symmetric-logarithmic (linear near 0, so 0 can be shown) for ``"symlog"``."""
    if x == "depth" and isinstance(data, pd.DataFrame) and "layer" in data:
        return layer_axis(data, network, order, title=title if title is not None else "layer")
    scale = alt.Scale(type="symlog") if log_x == "symlog" else alt.Scale(type="log") if log_x else alt.Undefined
    return alt.X(**_field(x, "quantitative", title), scale=scale)


def _layers(
    data: Any,
    x: str,
    y: str,
    group: str | None,
    *,
    network: str | None = None,
    order: Sequence[Any] | None = None,
    err: str | None = None,
    lo: str | None = None,
    hi: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    group_title: str | None = None,
    log_x: bool | str = False,
    domain: Sequence[str] | None = None,
    y_domain: Sequence[float] | None = None,
    points: bool = True,
) -> list[alt.Chart]:
    """The line and error-bar layers; ``network``/``order``: the column naming the networks and their order,
    for the labels of a layer axis (:func:`layer_axis`)."""
    if err is not None and (lo is not None or hi is not None):
        raise ValueError("give either err (a +/- half-width column) or lo and hi (bound columns), not both")
    if (lo is None) != (hi is None):
        raise ValueError("lo and hi must be given together")
    x_enc = _x_axis(data, x, x_title, log_x, network, order)
    y_scale = alt.Scale(domain=list(y_domain)) if y_domain is not None else alt.Scale(zero=False)
    y_enc = alt.Y(**_field(y, "quantitative", y_title), scale=y_scale)
    enc: dict[str, Any] = {"x": x_enc, "y": y_enc}
    if group is not None:
        scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
        enc["color"] = alt.Color(**_field(group, "nominal", group_title), scale=scale)
    by_name = x_enc.to_dict().get("type") == "ordinal"
    tooltip = [c for c in (group, "layer" if by_name else None, x, y, err, lo, hi) if c is not None]
    base = alt.Chart().encode(**enc)
    layers = [base.mark_line(point=points).encode(tooltip=tooltip)]
    if err is not None:
        layers.append(
            base.mark_errorbar(ticks=True).transform_calculate(
                _lo=f"datum['{y}'] - datum['{err}']", _hi=f"datum['{y}'] + datum['{err}']"
            ).encode(y=alt.Y("_lo:Q", title=y_title or y, scale=y_scale), y2="_hi:Q")
        )
    elif lo is not None:
        layers.append(
            base.mark_errorbar(ticks=True).encode(y=alt.Y(f"{lo}:Q", title=y_title or y, scale=y_scale), y2=f"{hi}:Q")
        )
    return layers


def _layer_options(kwargs: dict[str, Any], helper: str) -> dict[str, Any]:
    unknown = sorted(set(kwargs) - set(LAYER_OPTIONS))
    if unknown:
        raise ValueError(f"unknown keyword(s) {unknown} for {helper}; the layers take {', '.join(LAYER_OPTIONS)}")
    return kwargs


def line_with_errorbars(
    data: Any,
    x: str,
    y: str,
    group: str | None = None,
    *,
    err: str | None = None,
    lo: str | None = None,
    hi: str | None = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    group_title: str | None = None,
    log_x: bool | str = False,
    domain: Sequence[str] | None = None,
    y_domain: Sequence[float] | None = None,
    points: bool = True,
    width: int | None = None,
    height: int | None = None,
) -> alt.LayerChart:
    """Lines of ``y`` against ``x``, one per ``group``, with error bars.

    Error bars are ``y +/- data[err]`` or ``[data[lo], data[hi]]``. ``domain`` fixes the
    group order (and so the colours) so one model keeps one colour across chapters. An ``x`` of
    ``depth`` in a frame with a ``layer`` column is drawn as a :func:`layer_axis` (layers by name).
    """
    layers = _layers(
        data, x, y, group, network=group, order=domain, err=err, lo=lo, hi=hi, x_title=x_title, y_title=y_title,
        group_title=group_title, log_x=log_x, domain=domain, y_domain=y_domain, points=points,
    )
    chart = alt.layer(*layers, data=data)
    props = {k: v for k, v in {"title": title, "width": width, "height": height}.items() if v is not None}
    return chart.properties(**props) if props else chart


def faceted_lines(
    data: Any,
    x: str,
    y: str,
    group: str | None,
    facet: str,
    *,
    columns: int = 3,
    facet_title: str | None = None,
    sort: Sequence[Any] | None = None,
    independent_y: bool = False,
    title: str | None = None,
    width: int = 200,
    height: int = 160,
    **kwargs: Any,
) -> alt.FacetChart:
    """:func:`line_with_errorbars` layers repeated in small multiples, one panel per value of ``facet``.

    ``kwargs`` are :data:`LAYER_OPTIONS` (err, lo, hi, x_title, y_title, group_title, log_x, domain, y_domain,
    points). A layer axis names each depth by the panels' layers, in panel (``sort``) order.
    """
    options = _layer_options(kwargs, "faceted_lines")
    layers = _layers(data, x, y, group, network=facet, order=sort, **options)
    facet_enc = alt.Facet(
        f"{facet}:N", title=facet_title if facet_title is not None else facet,
        sort=list(sort) if sort is not None else alt.Undefined,
    )
    chart = alt.layer(*layers, data=data).properties(width=width, height=height).facet(facet=facet_enc, columns=columns)
    if independent_y:
        chart = chart.resolve_scale(y="independent")
    return chart.properties(title=title) if title is not None else chart


def layer_lines(
    frame: Any,
    metric: str,
    *,
    panel: str = "model",
    line: str = "eps",
    sort: Sequence[Any] | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> alt.FacetChart:
    """A measure across the layers of the networks: one panel per value of ``panel`` (the networks, in ``sort``
    order), one line per value of ``line`` (attack strengths, written as typed: ``0.03``, not ``0.030000``).

    ``frame`` has columns ``depth`` and ``layer`` (the stage names the models record): the x axis is the
    layers in network order, named (:func:`layer_axis`); tooltips show each point's layer name and depth.
    ``kwargs`` go to :func:`faceted_lines` (``err``, ``lo``/``hi``, ``y_title``, ...).
    """
    data = frame.copy()
    if data[line].dtype.kind == "f":
        data[line] = data[line].map(lambda v: f"{v:g}")
    panels = list(sort) if sort is not None else list(dict.fromkeys(data[panel]))
    return faceted_lines(data, "depth", metric, line, panel, columns=len(panels), sort=panels, title=title, **kwargs)


# ------------------------------------------------------------------------ layers by name


def layer_labels(
    frame: pd.DataFrame, network: str | None = "model", order: Sequence[Any] | None = None
) -> dict[int, str]:
    """The name of each depth of ``frame`` (columns ``depth`` and ``layer``): the names the networks give the
    layer at that depth, in network order (``order``, else as they appear in column ``network``), joined with
    `` / `` where they differ: ``{0: "pixels", 1: "stem / vone", 2: "block1", ...}``."""
    columns = ["depth", "layer", *([network] if network is not None and network in frame else [])]
    rows = frame[columns].drop_duplicates()
    if order is not None and len(columns) == 3:
        rank = {value: i for i, value in enumerate(order)}
        rows = rows.assign(_rank=rows[network].map(rank).fillna(len(rank)))
        rows = rows.sort_values("_rank", kind="stable")
    return {int(depth): " / ".join(dict.fromkeys(group["layer"].astype(str)))
            for depth, group in rows.groupby("depth", sort=True)}  # fmt: skip


def layer_axis(
    frame: pd.DataFrame,
    network: str | None = "model",
    order: Sequence[Any] | None = None,
    *,
    title: str | None = "layer",
) -> alt.X:
    """An x axis of the layers of ``frame``: ``depth`` as an ordinal (network order), each tick labelled by
    :func:`layer_labels` (one axis shared by networks whose layers have other names at the same depth)."""
    labels = layer_labels(frame, network, order)
    expr = "".join(f"datum.value == {depth} ? {json.dumps(name)} : " for depth, name in labels.items())
    axis = alt.Axis(labelExpr=expr + "datum.label", labelAngle=-35, labelOverlap=False)
    return alt.X("depth:O", title=title, sort="ascending", axis=axis)


# ------------------------------------------------------------- theory against measurement


def x_encoding(
    field: str, title: str | None, values: Any, log: bool = False, ticks: Sequence[float] | None = None
) -> alt.X:
    """A quantitative x axis fitted to ``values`` (domain min..max, not rounded to decades).

    ``log``: a log scale; ``ticks``: the tick values (default: Vega-Lite's).
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    scale = (alt.Scale(type="log", domain=[lo, hi], nice=False) if log
             else alt.Scale(domain=[lo, hi], nice=False, zero=False))  # fmt: skip
    axis = alt.Undefined if ticks is None else alt.Axis(values=list(ticks))
    return alt.X(f"{field}:Q", title=title, scale=scale, axis=axis)


def tooltip(field: str, title: str | None, fmt: str | None = None) -> alt.Tooltip:
    """A tooltip entry for ``field`` (a shorthand such as ``"n:Q"``); ``fmt``: a d3 number format (``".4f"``)."""
    if fmt:
        return alt.Tooltip(field, title=title, format=fmt)
    return alt.Tooltip(field, title=title)


def colour(group: str, title: str | None, domain: Iterable[str], legend: str | None = "right") -> alt.Color:
    """Colour by the nominal column ``group``, its values in the fixed order ``domain`` (so one series keeps
    one colour across charts); ``legend``: the legend's position (``"right"``, ``"bottom"``, ...) or None."""
    return alt.Color(f"{group}:N", title=title,
                     scale=alt.Scale(domain=list(domain)),
                     legend=alt.Legend(orient=legend) if legend else None)  # fmt: skip


def theory_vs_measured(
    curves: Any,
    points: Any,
    x: str,
    y: str,
    group: str,
    *,
    x_title: str,
    y_title: str,
    group_title: str | None,
    domain: Iterable[str],
    log_x: bool = False,
    log_y: bool = False,
    ticks: Sequence[float] | None = None,
    extra_tips: Sequence[alt.Tooltip] = (),
    legend: str | None = "right",
    se: str = "se",
    lo: str = "lo",
    hi: str = "hi",
    width: int = 430,
    height: int = 280,
) -> alt.LayerChart:
    """A theory against its measurement: the theory as lines (data ``curves``), the measurements as points
    with error bars from column ``lo`` to column ``hi`` (data ``points``, standard error in column ``se``),
    one colour per ``group``; tooltips on both (``extra_tips`` are added to the points').

    The x axis is fitted to the theory's ``x`` range (:func:`x_encoding`).
    """
    x_enc = x_encoding(x, x_title, curves[x], log_x, ticks)
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    y_enc = alt.Y(f"{y}:Q", title=y_title, scale=y_scale)
    color = colour(group, group_title, domain, legend)
    head = [tooltip(f"{group}:N", group_title), tooltip(f"{x}:Q", x_title, ".3g")]
    line = alt.Chart(curves).mark_line(strokeWidth=1.6).encode(
        x=x_enc, y=y_enc, color=color,
        tooltip=[*head, tooltip(f"{y}:Q", f"theory {y_title}", ".4f")])  # fmt: skip
    bars = alt.Chart(points).mark_errorbar(ticks=True).encode(
        x=x_enc, y=alt.Y(f"{lo}:Q", title=y_title, scale=y_scale), y2=f"{hi}:Q",
        color=color)  # fmt: skip
    dots = alt.Chart(points).mark_point(filled=True, size=55, opacity=0.9)
    dots = dots.encode(
        x=x_enc, y=y_enc, color=color,
        tooltip=[*head, tooltip(f"{y}:Q", f"measured {y_title}", ".4f"),
                 tooltip(f"{se}:Q", "standard error", ".4f"), *extra_tips])  # fmt: skip
    return alt.layer(line, bars, dots).properties(width=width, height=height)


def measured_lines(
    data: Any,
    x: str,
    y: str,
    group: str,
    *,
    x_title: str,
    y_title: str,
    title: str,
    domain: Iterable[str],
    log_x: bool = True,
    ticks: Sequence[float] | None = None,
    width: int = 230,
    height: int = 220,
    legend: str | None = "right",
    se: str = "se",
    err_bar: float = 2,
) -> alt.LayerChart:
    """Measured series (a DataFrame ``data``) as lines with points, one colour per ``group``, and error
    bars of +/- ``err_bar`` standard errors (column ``se``); the x axis fitted to the data (:func:`x_encoding`).
    """
    x_enc = x_encoding(x, x_title, data[x], log_x, ticks)
    y_enc = alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False))
    color = colour(group, None, domain, legend)
    data = data.assign(lo=data[y] - err_bar * data[se],
                       hi=data[y] + err_bar * data[se])  # fmt: skip
    base = alt.Chart(data)
    line = base.mark_line(point=True).encode(
        x=x_enc, y=y_enc, color=color,
        tooltip=[tooltip(f"{group}:N", "series"), tooltip(f"{x}:Q", x_title, ".3g"),
                 tooltip(f"{y}:Q", y_title, ".4f"),
                 tooltip(f"{se}:Q", "standard error", ".4f")])  # fmt: skip
    bars = base.mark_errorbar(ticks=True).encode(
        x=x_enc, y=alt.Y("lo:Q", title=y_title), y2="hi:Q", color=color)
    return alt.layer(line, bars).properties(width=width, height=height, title=title)


# ----------------------------------------------------------------------------- tables

IDENTIFIERS = ("model", "norm", "eps", "noise", "layer", "depth", "seed", "kind", "manifold", "measure",
               "perturbation")  # fmt: skip
"""Columns that say what a row is (not what was measured): the identifiers of a published table."""
PARAMETERS = frozenset({*IDENTIFIERS, "epochs", "steps", "eot", "repeats", "width", "n", "scale", "sigma"})
"""Parameter-like columns :func:`table` prints as typed (``:g``: ``0.03``, ``2``), not to fixed digits."""


def _as_typed(value: Any) -> str:
    """A label or parameter as it was typed: floats with ``:g`` (``0.03``, ``1e-05``), anything else as is."""
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _interval_of(column: Any, columns: Sequence[Any]) -> tuple[str, str | None] | None:
    """The columns bounding ``column``: ``(lo, hi)`` or ``(se, None)`` (``value`` with ``lo``/``hi``/``se``,
    ``radius`` with ``radius_lo``/``radius_hi``/``radius_se``), or None."""
    if not isinstance(column, str):
        return None
    prefix = "" if column == "value" else f"{column}_"
    if f"{prefix}lo" in columns and f"{prefix}hi" in columns:
        return f"{prefix}lo", f"{prefix}hi"
    return (f"{prefix}se", None) if f"{prefix}se" in columns else None


def _is_parameter(column: Any, parameters: frozenset[str]) -> bool:
    keys = column if isinstance(column, tuple) else (column,)
    return any(k in parameters for k in keys if isinstance(k, str))


def table(frame: pd.DataFrame, digits: int = 3, *, parameters: Iterable[str] = ()) -> Any:
    """``frame`` as a pandas Styler that prints values as typed: index and column labels and parameter-like
    columns (:data:`PARAMETERS`, plus ``parameters``) with ``:g`` (``0.03``, not ``0.030000``), measurements
    with ``digits`` decimals, an interval as ``value ± half-width`` (a column with ``lo``/``hi`` or ``se``
    columns: ``value`` with ``lo``, ``hi``; ``radius`` with ``radius_lo``, ``radius_hi``; or ``..._se``),
    missing values as ``–``. A default (range) index is not shown.

    In a chapter: ``display(charts.table(acc_table))``.
    """
    names = PARAMETERS | frozenset(parameters)
    columns = list(frame.columns)
    shown = frame.copy()
    bounds: list[Any] = []
    for column in columns:
        interval = _interval_of(column, columns)
        if interval is None or _is_parameter(column, names):
            continue
        lo, hi = interval
        half = (frame[hi] - frame[lo]) / 2 if hi is not None else frame[lo]
        shown[column] = [
            "–" if pd.isna(v) else f"{v:.{digits}f}" + ("" if pd.isna(h) else f" ± {h:.{digits}f}")
            for v, h in zip(frame[column], half, strict=True)
        ]
        bounds += [c for c in interval if c is not None]
    shown = shown.drop(columns=bounds)
    styler = shown.style.format(precision=digits, na_rep="–")
    typed = [c for c in shown.columns if _is_parameter(c, names) and shown[c].dtype.kind == "f"]
    if typed:
        styler = styler.format(_as_typed, subset=typed, na_rep="–")
    styler = styler.format_index(_as_typed, axis=0).format_index(_as_typed, axis=1)
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        styler = styler.hide(axis="index")
    return styler


# -------------------------------------------------------------------------- published tables

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def tidy(frame: pd.DataFrame, identifiers: Iterable[str] = ()) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``frame`` as a tidy table (a named index becomes columns) with its identifier columns (:data:`IDENTIFIERS`
    plus ``identifiers``) and its value columns (numbers: ``value`` with ``lo``, ``hi`` for an interval, or
    several metrics). Raises ``ValueError`` naming what is not tidy: a wide (pivoted) frame, a column that is
    neither, an interval without its value, two rows with the same identifiers."""
    if any(n is not None for n in frame.columns.names):  # pivot_table, unstack: the columns are values
        raise ValueError("a published table is long, not wide: publish the frame before pivot_table/unstack")
    named = any(n is not None for n in frame.index.names)
    data = frame.reset_index() if named else frame.reset_index(drop=True)
    known = {*IDENTIFIERS, *identifiers}
    ids = [c for c in data.columns if c in known]
    values = [c for c in data.columns if c not in known]
    not_numbers = [c for c in values if data[c].dtype.kind not in "iuf"]
    if not_numbers:
        raise ValueError(
            f"columns {not_numbers} are neither identifiers ({', '.join(sorted(known))}) nor numeric values; "
            "pass identifiers=[...] to publish to name more identifiers"
        )
    if not ids or not values:
        raise ValueError(f"a published table needs identifier and value columns, got {list(data.columns)}")
    if ({"lo", "hi"} & set(values)) and not {"value", "lo", "hi"} <= set(values):
        raise ValueError("an interval is given by the columns value, lo and hi together")
    repeated = data[data.duplicated(ids, keep=False)]
    if len(repeated):
        raise ValueError(f"rows repeat the same identifiers {ids} (aggregate first):\n{repeated.head()}")
    return data, ids, values


def interval_cells(
    frame: pd.DataFrame,
    value: str,
    index: Sequence[str],
    columns: str,
    order: Sequence[str] | None = None,
    digits: int = 3,
) -> pd.DataFrame:
    """A wide table of ``value ± half-width`` cells (``half``, else half of ``hi - lo``): rows ``index``, one column
    per value of ``columns`` (in ``order`` when given). For display with :func:`table`."""
    half = frame["half"] if "half" in frame else (frame["hi"] - frame["lo"]) / 2
    cells = frame.assign(cell=[f"{v:.{digits}f} ± {h:.{digits}f}" for v, h in zip(frame[value], half, strict=True)])
    wide = cells.pivot(index=list(index), columns=columns, values="cell")
    return wide if order is None else wide.reindex(columns=list(order))


def with_interval(frame: pd.DataFrame, value: str, identifiers: Sequence[str]) -> pd.DataFrame:
    """The ``identifiers``, ``value`` (renamed ``value``), ``lo`` and ``hi`` of ``frame``: a table to
    :func:`publish` with one interval."""
    return frame[[*identifiers, value, "lo", "hi"]].rename(columns={value: "value"})


def long_form(frame: pd.DataFrame, metrics: Sequence[str], identifiers: Sequence[str]) -> pd.DataFrame:
    """``frame`` (one column per metric, with ``<metric>_lo`` / ``_hi`` when it has an interval, as
    :func:`advgeom.analysis.summaries.over_seeds` gives) as a long table to publish: the ``identifiers``,
    ``measure`` (the metric's name), ``value``, ``lo`` and ``hi`` (NaN without an interval)."""
    missing = [c for c in [*identifiers, *metrics] if c not in frame]
    if missing:
        raise ValueError(f"long_form: the frame has no columns {missing}; it has {list(frame.columns)}")
    parts = []
    for metric in metrics:
        part = frame[list(identifiers)].copy()
        part["measure"] = metric
        part["value"] = frame[metric].astype(float)
        for side in ("lo", "hi"):
            column = f"{metric}_{side}"
            part[side] = frame[column].astype(float) if column in frame else np.nan
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def download_link(data: pd.DataFrame, filename: str, text: str) -> str:
    """An ``<a download>`` link holding ``data`` as CSV in a ``data:`` URL (works offline, no file to serve)."""
    payload = base64.b64encode(data.to_csv(index=False).encode("utf-8")).decode("ascii")
    return (f'<a class="advgeom-download" download="{html.escape(filename)}" '
            f'href="data:text/csv;base64,{payload}">{html.escape(text)}</a>')  # fmt: skip


def table_bundle(
    frame: pd.DataFrame, name: str, title: str, *, chapter: str | None = None, identifiers: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The display bundle and metadata :func:`publish` shows: a download link (``text/html``), the table
    (:data:`~advgeom.book.TABLE_MIME`: name, title, chapter, identifier and value columns, all columns in
    order, records) and
    ``text/plain``. ``chapter``: default ``$ADVGEOM_CHAPTER`` (set by the runner), which names the file
    ``<chapter>-<name>.csv``."""
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"table name {name!r}: use letters, digits, '_' and '-' (it names a file)")
    data, ids, values = tidy(frame, identifiers)
    chapter = chapter or os.environ.get(CHAPTER_ENV) or None
    filename = f"{chapter}-{name}.csv" if chapter else f"{name}.csv"
    record = {
        "name": name, "title": title, "chapter": chapter, "identifiers": ids, "values": values,
        "columns": list(data.columns), "records": json.loads(data.to_json(orient="records", double_precision=15)),
    }  # fmt: skip
    link = download_link(data, filename, f"Download the data: {title} ({filename}, {len(data)} rows)")
    bundle = {
        "text/html": f'<p class="advgeom-table">{link}</p>',
        TABLE_MIME: record,
        "text/plain": f"<table {name!r}: {title} ({len(data)} rows); download {filename}>",
    }
    return bundle, {"advgeom": {"table": name, "rows": len(data)}}


def table_frame(table: Mapping[str, Any]) -> pd.DataFrame:
    """A published table (as :func:`table_bundle` records it) as a DataFrame, its columns in their order."""
    return pd.DataFrame.from_records(table["records"], columns=table["columns"])


def publish(
    frame: pd.DataFrame, name: str, title: str, *, chapter: str | None = None, identifiers: Iterable[str] = ()
) -> None:
    """Show a CSV download link for the tidy table behind a figure, and record it in the notebook's output for
    the book's Explorer page (:func:`table_bundle`; :func:`tidy` says what a table may hold).

    In a chapter: ``charts.publish(acc, "accuracy", "Accuracy under PGD")``.
    """
    from IPython.display import display

    bundle, metadata = table_bundle(frame, name, title, chapter=chapter, identifiers=identifiers)
    display(bundle, metadata=metadata, raw=True)


# --------------------------------------------------------------------------------- explorer

SWEEPS = ("eps", "noise")
"""Identifiers a chapter sweeps across its tables: one control each per chapter, shared by its views, set
by a bound input or by clicking a point of the view that has it on its x axis (linked views)."""


def _typed_value(value: Any) -> Any:
    """A float rounded to 12 significant digits, so an input's value and the data's agree exactly."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def _grid(values: Iterable[Any]) -> list[Any]:
    """The distinct values of an identifier: numbers sorted, anything else in order of appearance."""
    unique = list(dict.fromkeys(_typed_value(v) for v in values if v is not None))
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in unique)
    return sorted(unique) if numbers else unique


def _binding(values: Sequence[Any], name: str) -> Any:
    """A slider over an evenly spaced grid of three or more numbers, else a drop-down of the values."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers and len(values) >= 3:
        steps = np.diff(np.asarray(values, dtype=float))
        if np.allclose(steps, steps[0], rtol=1e-9, atol=0):
            return alt.binding_range(min=values[0], max=values[-1], step=_typed_value(float(steps[0])), name=name)
    return alt.binding_select(options=list(values), labels=[_as_typed(v) for v in values], name=name)


@dataclass(frozen=True)
class _Roles:
    """What each column of a published table does in its Explorer view."""

    x: str
    colour: str | None
    controls: tuple[str, ...]
    metrics: tuple[str, ...]
    interval: bool


def _roles(frame: pd.DataFrame, identifiers: Sequence[str], values: Sequence[str]) -> _Roles:
    """x: the layers (``depth``), else a swept identifier, else the first varying one; colour: the networks
    (``model``), else another varying identifier; every other varying identifier is a control."""
    varying = [c for c in identifiers if frame[c].nunique(dropna=False) > 1] or list(identifiers[:1])
    numeric = [c for c in varying if frame[c].dtype.kind in "iuf"]
    x = next((c for c in ("depth", *SWEEPS) if c in varying), (numeric or varying)[0])
    others = [c for c in varying if c != x and not (x == "depth" and c == "layer")]
    colour = "model" if "model" in others else next((c for c in others if c not in SWEEPS), None)
    metrics = tuple(v for v in values if v not in ("lo", "hi"))
    interval = {"value", "lo", "hi"} <= set(values)
    return _Roles(x, colour, tuple(c for c in others if c != colour), metrics, interval)


def _x_of(frame: pd.DataFrame, x: str) -> alt.X:
    if x == "depth" and "layer" in frame:
        return layer_axis(frame, "model" if "model" in frame else None)
    if frame[x].dtype.kind in "iuf":
        return alt.X(f"{x}:Q", title=x, scale=alt.Scale(zero=False))
    return alt.X(f"{x}:N", title=x, sort=_grid(frame[x]))


def _tooltips(frame: pd.DataFrame, identifiers: Sequence[str], y: str, interval: bool) -> list[alt.Tooltip]:
    tips = [alt.Tooltip(f"{c}:{'Q' if frame[c].dtype.kind in 'iuf' else 'N'}", title=c) for c in identifiers]
    tips.append(alt.Tooltip(f"{y}:Q", title=y, format=".4~g"))
    return [*tips, alt.Tooltip("interval:N", title="interval")] if interval else tips


def _explorer_view(
    index: int, table: Mapping[str, Any], sweeps: dict[str, Any], homes: dict[str, int], width: int, height: int
) -> tuple[alt.LayerChart, list[Any]]:
    """One published table as an interactive view, and the variable parameters (its own controls) it adds."""
    frame = table_frame(table)
    for column in table["identifiers"]:
        frame[column] = frame[column].map(_typed_value)
    roles = _roles(frame, table["identifiers"], table["values"])
    base = alt.Chart(alt.Data(values=json.loads(frame.to_json(orient="records", double_precision=15))))
    y = roles.metrics[0]
    variables: list[Any] = []
    if len(roles.metrics) > 1:
        base, y = base.transform_fold(list(roles.metrics), as_=["measure", "value"]), "value"
    if roles.interval:
        bounds = "'[' + format(datum.lo, '.4~g') + ', ' + format(datum.hi, '.4~g') + ']'"
        base = base.transform_calculate(interval=bounds)
    controls = [*roles.controls, *(["measure"] if len(roles.metrics) > 1 else [])]
    for column in controls:
        if column in sweeps:  # the chapter's control (never this view's x)
            base = base.transform_filter(sweeps[column])
            continue
        grid = list(roles.metrics) if column == "measure" and len(roles.metrics) > 1 else _grid(frame[column])
        param = alt.param(name=f"t{index}_{re.sub(r'[^0-9A-Za-z]', '_', column)}", value=grid[0],
                          bind=_binding(grid, f"{table['title']}: {column} "))  # fmt: skip
        variables.append(param)
        base = base.transform_filter(alt.datum[column] == param)
    encoding: dict[str, Any] = {"x": _x_of(frame, roles.x), "y": alt.Y(f"{y}:Q", title=y, scale=alt.Scale(zero=False))}
    if roles.colour is not None:
        legend = alt.Legend(orient="bottom", title=roles.colour, columns=3)
        encoding["color"] = alt.Color(f"{roles.colour}:N", scale=alt.Scale(domain=_grid(frame[roles.colour])),
                                      legend=legend)  # fmt: skip
    tips = _tooltips(frame, table["identifiers"], y, roles.interval)
    base = base.encode(**encoding)
    points = base.mark_point(filled=True).encode(tooltip=tips, size=alt.value(45))
    home = [f for f, i in homes.items() if i == index]
    for field_name in home:
        points = points.add_params(sweeps[field_name])
        if roles.x == field_name:
            points = points.encode(size=alt.condition(sweeps[field_name], alt.value(160), alt.value(45)))
    layers = [base.mark_line(), points]
    if roles.interval:
        layers.append(base.mark_errorbar(ticks=True).encode(y=alt.Y("lo:Q", title=y), y2="hi:Q", tooltip=tips))
    return alt.layer(*layers).properties(title=table["title"], width=width, height=height), variables


def explorer_chart(tables: Sequence[Mapping[str, Any]], *, width: int = 260, height: int = 180) -> alt.ConcatChart:
    """Interactive views of one chapter's published tables (as :func:`table_bundle` records them), two per row:
    bound inputs (drop-downs, sliders over evenly spaced grids) pick the value of every identifier that is not
    drawn; the swept ones (:data:`SWEEPS`) are one control for the chapter, also set by clicking a point of a
    view that has it on x (linked views). Their inputs offer the values of the views they filter, starting at
    the largest value most of those have. Tooltips show identifiers, value and interval. No kernel needed."""
    sweeps: dict[str, Any] = {}
    homes: dict[str, int] = {}
    frames = [table_frame(t) for t in tables]
    for name in SWEEPS:
        found = [i for i, f in enumerate(frames) if name in f and f[name].nunique() > 1]
        if not found:
            continue
        on_x = [i for i in found if _roles(frames[i], tables[i]["identifiers"], tables[i]["values"]).x == name]
        shown = [i for i in found if i not in on_x] or found  # the views the control filters
        grid = _grid(v for i in shown for v in frames[i][name])
        start = max(grid, key=lambda v: (sum(v in set(_grid(frames[i][name])) for i in shown), v))
        homes[name] = (on_x or found)[0]
        sweeps[name] = alt.selection_point(name=f"pick_{name}", fields=[name], value=[{name: start}],
                                           bind=_binding(grid, f"{name} "), on="click", clear=False)  # fmt: skip
    views, variables = [], []
    for i, table in enumerate(tables):
        view, params = _explorer_view(i, table, sweeps, homes, width, height)
        views.append(view)
        variables += params
    chart = alt.concat(*views, columns=2).resolve_scale(color="independent").resolve_legend(color="independent")
    return chart.add_params(*variables) if variables else chart


def explorer_spec(tables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The Vega-Lite spec of :func:`explorer_chart` with the book's theme (no global altair state needed)."""
    spec = explorer_chart(tables).to_dict()
    spec["config"] = theme()["config"]
    return spec
