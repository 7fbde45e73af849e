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
optionally in small multiples), :func:`theory_vs_measured` (theory curves against measured points) and
:func:`measured_lines`, built from the encodings :func:`x_encoding`, :func:`colour` and :func:`tooltip`.
This module is for the book's pages only: nothing outside :mod:`advgeom.book` and the chapters imports it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt
import numpy as np

from advgeom.book import BOOK_ENV

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


def _layers(
    x: str,
    y: str,
    group: str | None,
    *,
    err: str | None,
    lo: str | None,
    hi: str | None,
    x_title: str | None,
    y_title: str | None,
    group_title: str | None,
    log_x: bool,
    domain: Sequence[str] | None,
    y_domain: Sequence[float] | None,
    points: bool,
) -> list[alt.Chart]:
    if err is not None and (lo is not None or hi is not None):
        raise ValueError("give either err (a +/- half-width column) or lo and hi (bound columns), not both")
    if (lo is None) != (hi is None):
        raise ValueError("lo and hi must be given together")
    x_enc = alt.X(**_field(x, "quantitative", x_title), scale=alt.Scale(type="log") if log_x else alt.Undefined)
    y_scale = alt.Scale(domain=list(y_domain)) if y_domain is not None else alt.Scale(zero=False)
    y_enc = alt.Y(**_field(y, "quantitative", y_title), scale=y_scale)
    enc: dict[str, Any] = {"x": x_enc, "y": y_enc}
    if group is not None:
        scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
        enc["color"] = alt.Color(**_field(group, "nominal", group_title), scale=scale)
    tooltip = [c for c in (group, x, y) if c is not None]
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
    log_x: bool = False,
    domain: Sequence[str] | None = None,
    y_domain: Sequence[float] | None = None,
    points: bool = True,
    width: int | None = None,
    height: int | None = None,
) -> alt.LayerChart:
    """Lines of ``y`` against ``x``, one per ``group``, with error bars.

    Error bars are ``y +/- data[err]`` or ``[data[lo], data[hi]]``. ``domain`` fixes the
    group order (and so the colours) so one model keeps one colour across chapters.
    """
    layers = _layers(
        x, y, group, err=err, lo=lo, hi=hi, x_title=x_title, y_title=y_title, group_title=group_title,
        log_x=log_x, domain=domain, y_domain=y_domain, points=points,
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

    ``kwargs`` go to the layers (err, lo, hi, x_title, y_title, group_title, log_x, domain, y_domain, points).
    """
    layers = _layers(
        x, y, group,
        err=kwargs.pop("err", None), lo=kwargs.pop("lo", None), hi=kwargs.pop("hi", None),
        x_title=kwargs.pop("x_title", None), y_title=kwargs.pop("y_title", None),
        group_title=kwargs.pop("group_title", None), log_x=kwargs.pop("log_x", False),
        domain=kwargs.pop("domain", None), y_domain=kwargs.pop("y_domain", None), points=kwargs.pop("points", True),
    )
    if kwargs:
        raise ValueError(f"unknown keyword(s) {sorted(kwargs)} for faceted_lines")
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
    """A measure against layer depth: one panel per value of ``panel`` (the networks, in ``sort`` order), one
    line per value of ``line`` (attack strengths, written as typed: ``0.03``, not ``0.030000``).

    ``kwargs`` go to :func:`faceted_lines` (``err``, ``lo``/``hi``, ``y_title``, ...).
    """
    data = frame.copy()
    if data[line].dtype.kind == "f":
        data[line] = data[line].map(lambda v: f"{v:g}")
    panels = list(sort) if sort is not None else list(dict.fromkeys(data[panel]))
    return faceted_lines(data, "depth", metric, line, panel, columns=len(panels), sort=panels, title=title, **kwargs)


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
