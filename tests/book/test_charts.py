"""advgeom.book.charts: the offline altair renderer, the theme and the shared chart helpers."""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from advgeom.book import BOOK_ENV, assets, charts


@pytest.fixture
def data() -> pd.DataFrame:
    rows = [{"eps": e, "acc": a - 0.1 * k, "se": 0.02, "lo": a - 0.1 * k - 0.03, "hi": a - 0.1 * k + 0.03,
             "model": m, "layer": layer}
            for k, m in enumerate(["standard", "stochastic"])
            for layer in ["pixels", "block1", "logits"]
            for e, a in [(0, 0.9), (1, 0.6), (2, 0.3)]]
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _restore_altair():
    renderer, theme = alt.renderers.active, alt.theme.active
    yield
    charts.setup_charts(html=None)  # back to deciding from ADVGEOM_BOOK
    alt.renderers.enable(renderer)
    alt.theme.enable(theme)


def bundle_of(chart) -> dict:
    out = chart._repr_mimebundle_(None, None)
    return out[0] if isinstance(out, tuple) else out


def test_html_bundle_calls_global_vega_embed(data):
    charts.setup_charts(html=True)
    chart = charts.line_with_errorbars(data[data.layer == "logits"], "eps", "acc", "model", err="se")
    bundle = bundle_of(chart)
    assert set(bundle) == {charts.vegalite_mime_type(), "text/html", "text/plain"}
    assert charts.vegalite_mime_type() == "application/vnd.vegalite.v6+json"
    html = bundle["text/html"]
    assert "<script src" not in html and "http" not in html.replace(chart.to_dict()["$schema"], "")
    assert "window.vegaEmbed(el, spec, opt)" in html
    div = re.search(r'<div id="(advgeom-chart-[0-9a-f]{32})" class="advgeom-chart">', html).group(1)
    assert f'prev.id === "{div}" ? prev : document.getElementById("{div}")' in html
    spec = json.loads(re.search(r"var spec = (\{.*\});\n", html).group(1))
    assert spec == bundle[charts.vegalite_mime_type()] == chart.to_dict()
    second = bundle_of(chart)["text/html"]
    assert re.search(r'<div id="(advgeom-chart-[0-9a-f]{32})"', second).group(1) != div  # unique per display


def test_html_only_for_the_book(monkeypatch, data):
    chart = charts.line_with_errorbars(data, "eps", "acc", "model")
    charts.setup_charts()
    monkeypatch.delenv(BOOK_ENV, raising=False)
    assert "text/html" not in bundle_of(chart)  # interactive: front ends draw the Vega-Lite MIME type
    monkeypatch.setenv(BOOK_ENV, "1")
    assert "text/html" in bundle_of(chart)  # executed by advgeom.book.execute
    charts.setup_charts(html=False)
    assert "text/html" not in bundle_of(chart)


def test_script_cannot_be_closed_by_data():
    html = charts.chart_html({"data": {"values": [{"a": "</script><script>alert(1)</script>"}]}})
    assert html.count("</script>") == 1 and "\\u003c/script\\u003e" in html


def test_theme_and_helpers_compile_with_vega_lite(data):
    charts.setup_charts()
    vl = assets.vega_record()["vega-lite"]
    chart = charts.line_with_errorbars(data[data.layer == "logits"], "eps", "acc", "model", err="se",
                                      domain=["standard", "stochastic"], title="t")
    spec = chart.to_dict()
    assert spec["config"]["range"]["category"] == charts.PALETTE
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "errorbar"]
    svg = vlc.vegalite_to_svg(spec, vl_version=vl)
    assert svg.count("<path") > 5
    bounds = charts.line_with_errorbars(data, "eps", "acc", "model", lo="lo", hi="hi")
    assert bounds.to_dict()["layer"][1]["encoding"]["y2"]["field"] == "hi"
    facets = charts.faceted_lines(data, "eps", "acc", "model", "layer", err="se", columns=2,
                                 sort=["pixels", "block1", "logits"], independent_y=True)
    fspec = facets.to_dict()
    assert fspec["facet"]["field"] == "layer" and fspec["columns"] == 2
    scenegraph = vlc.vegalite_to_vega(fspec, vl_version=vl)
    assert scenegraph["marks"]  # compiled by the real Vega-Lite compiler
    vlc.vegalite_to_svg(fspec, vl_version=vl)


def test_helper_argument_errors(data):
    with pytest.raises(ValueError, match="either err"):
        charts.line_with_errorbars(data, "eps", "acc", err="se", lo="lo", hi="hi")
    with pytest.raises(ValueError, match="together"):
        charts.line_with_errorbars(data, "eps", "acc", lo="lo")
    with pytest.raises(ValueError, match="unknown keyword"):
        charts.faceted_lines(data, "eps", "acc", "model", "layer", colour="x")


# ------------------------------------------------------------- theory against measurement


@pytest.fixture
def theory() -> tuple[pd.DataFrame, pd.DataFrame]:
    curves = pd.DataFrame([{"R": r, "capacity": 2 / (1 + r * r), "ball": f"D = {d}"}
                           for d in (1, 2) for r in (0.1, 0.5, 1.0, 2.0, 4.0)])
    points = curves[curves.R.isin([0.5, 2.0])].assign(se=0.01)
    points = points.assign(lo=points.capacity - 0.02, hi=points.capacity + 0.02, M=8)
    return curves, points


def test_theory_vs_measured_layers_and_compiles(theory):
    charts.setup_charts()
    curves, points = theory
    chart = charts.theory_vs_measured(
        curves, points, "R", "capacity", "ball", x_title="ball radius R", y_title="capacity α", group_title="ball",
        domain=["D = 1", "D = 2"], log_x=True, ticks=[0.5, 2.0], extra_tips=(charts.tooltip("M:Q", "points"),),
    )
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "errorbar", "point"]
    assert (spec["width"], spec["height"]) == (430, 280)
    x = spec["layer"][0]["encoding"]["x"]
    assert x["scale"] == {"type": "log", "domain": [0.1, 4.0], "nice": False}  # fitted to the theory's range
    assert x["axis"] == {"values": [0.5, 2.0]}
    bars = spec["layer"][1]["encoding"]
    assert bars["y"]["field"] == "lo" and bars["y2"]["field"] == "hi"
    color = spec["layer"][2]["encoding"]["color"]
    assert color["scale"] == {"domain": ["D = 1", "D = 2"]} and color["legend"] == {"orient": "right"}
    tips = [t["title"] for t in spec["layer"][2]["encoding"]["tooltip"]]
    assert tips == ["ball", "ball radius R", "measured capacity α", "standard error", "points"]
    assert [t["title"] for t in spec["layer"][0]["encoding"]["tooltip"]][-1] == "theory capacity α"
    vl = assets.vega_record()["vega-lite"]
    assert vlc.vegalite_to_svg(spec, vl_version=vl).count("<path") > 5
    linear = charts.theory_vs_measured(
        curves, points, "R", "capacity", "ball", x_title="R", y_title="α", group_title=None, domain=["D = 1"],
        log_y=True, legend=None, width=200, height=100,
    ).to_dict()
    assert linear["layer"][0]["encoding"]["x"]["scale"] == {"domain": [0.1, 4.0], "nice": False, "zero": False}
    assert linear["layer"][0]["encoding"]["y"]["scale"] == {"type": "log"}
    assert linear["layer"][0]["encoding"]["color"]["legend"] is None and linear["width"] == 200


def test_measured_lines_error_bars_and_compiles(data):
    charts.setup_charts()
    logits = data[data.layer == "logits"].drop(columns=["lo", "hi"]).assign(eps=lambda d: d.eps + 1)
    chart = charts.measured_lines(logits, "eps", "acc", "model", x_title="eps", y_title="accuracy", title="t",
                                  domain=["standard", "stochastic"], err_bar=3)
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "errorbar"]
    assert spec["layer"][0]["mark"]["point"] is True and spec["title"] == "t"
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"  # log x by default
    rows = spec["datasets"][spec["data"]["name"]]
    assert all(r["lo"] == pytest.approx(r["acc"] - 3 * r["se"]) and r["hi"] == pytest.approx(r["acc"] + 3 * r["se"])
               for r in rows)
    assert "lo" not in logits  # the caller's frame is left alone
    vl = assets.vega_record()["vega-lite"]
    assert vlc.vegalite_to_svg(spec, vl_version=vl).count("<path") > 3
    joined = alt.hconcat(chart, charts.measured_lines(logits, "eps", "acc", "model", x_title="eps", y_title="acc",
                                                      title="u", domain=["standard"], legend=None))
    vlc.vegalite_to_vega(joined.to_dict(), vl_version=vl)


def test_encodings():
    x = charts.x_encoding("r", "radius", [3.0, 1.0, 2.0]).to_dict()
    assert x == {"field": "r", "type": "quantitative", "title": "radius",
                 "scale": {"domain": [1.0, 3.0], "nice": False, "zero": False}}
    assert charts.tooltip("n:Q", "N").to_dict() == {"field": "n", "type": "quantitative", "title": "N"}
    assert charts.tooltip("n:Q", "N", ".2f").to_dict()["format"] == ".2f"
    c = charts.colour("model", "network", ("b", "a"), legend="bottom").to_dict()
    assert c["scale"] == {"domain": ["b", "a"]} and c["legend"] == {"orient": "bottom"} and c["type"] == "nominal"
