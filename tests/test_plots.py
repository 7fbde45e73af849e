"""advgeom.plots: the offline altair renderer, the theme and the shared chart helpers."""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from advgeom import assets, plots


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
    alt.renderers.enable(renderer)
    alt.theme.enable(theme)
    plots._html_mode = None


def bundle_of(chart) -> dict:
    out = chart._repr_mimebundle_(None, None)
    return out[0] if isinstance(out, tuple) else out


def test_html_bundle_calls_global_vega_embed(data):
    plots.setup_charts(html=True)
    chart = plots.line_with_errorbars(data[data.layer == "logits"], "eps", "acc", "model", err="se")
    bundle = bundle_of(chart)
    assert set(bundle) == {plots.vegalite_mime_type(), "text/html", "text/plain"}
    assert plots.vegalite_mime_type() == "application/vnd.vegalite.v6+json"
    html = bundle["text/html"]
    assert "<script src" not in html and "http" not in html.replace(chart.to_dict()["$schema"], "")
    assert "window.vegaEmbed(el, spec, opt)" in html
    div = re.search(r'<div id="(advgeom-chart-[0-9a-f]{32})" class="advgeom-chart">', html).group(1)
    assert f'prev.id === "{div}" ? prev : document.getElementById("{div}")' in html
    spec = json.loads(re.search(r"var spec = (\{.*\});\n", html).group(1))
    assert spec == bundle[plots.vegalite_mime_type()] == chart.to_dict()
    second = bundle_of(chart)["text/html"]
    assert re.search(r'<div id="(advgeom-chart-[0-9a-f]{32})"', second).group(1) != div  # unique per display


def test_html_only_for_the_book(monkeypatch, data):
    chart = plots.line_with_errorbars(data, "eps", "acc", "model")
    plots.setup_charts()
    monkeypatch.delenv(plots.BOOK_ENV, raising=False)
    assert "text/html" not in bundle_of(chart)  # interactive: front ends draw the Vega-Lite MIME type
    monkeypatch.setenv(plots.BOOK_ENV, "1")
    assert "text/html" in bundle_of(chart)  # executed by advgeom.runner
    plots.setup_charts(html=False)
    assert "text/html" not in bundle_of(chart)


def test_script_cannot_be_closed_by_data():
    html = plots.chart_html({"data": {"values": [{"a": "</script><script>alert(1)</script>"}]}})
    assert html.count("</script>") == 1 and "\\u003c/script\\u003e" in html


def test_theme_and_helpers_compile_with_vega_lite(data):
    plots.setup_charts()
    vl = assets.vega_record()["vega-lite"]
    chart = plots.line_with_errorbars(data[data.layer == "logits"], "eps", "acc", "model", err="se",
                                      domain=["standard", "stochastic"], title="t")
    spec = chart.to_dict()
    assert spec["config"]["range"]["category"] == plots.PALETTE
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "errorbar"]
    svg = vlc.vegalite_to_svg(spec, vl_version=vl)
    assert svg.count("<path") > 5
    bounds = plots.line_with_errorbars(data, "eps", "acc", "model", lo="lo", hi="hi")
    assert bounds.to_dict()["layer"][1]["encoding"]["y2"]["field"] == "hi"
    facets = plots.faceted_lines(data, "eps", "acc", "model", "layer", err="se", columns=2,
                                 sort=["pixels", "block1", "logits"], independent_y=True)
    fspec = facets.to_dict()
    assert fspec["facet"]["field"] == "layer" and fspec["columns"] == 2
    scenegraph = vlc.vegalite_to_vega(fspec, vl_version=vl)
    assert scenegraph["marks"]  # compiled by the real Vega-Lite compiler
    vlc.vegalite_to_svg(fspec, vl_version=vl)


def test_helper_argument_errors(data):
    with pytest.raises(ValueError, match="either err"):
        plots.line_with_errorbars(data, "eps", "acc", err="se", lo="lo", hi="hi")
    with pytest.raises(ValueError, match="together"):
        plots.line_with_errorbars(data, "eps", "acc", lo="lo")
    with pytest.raises(ValueError, match="unknown keyword"):
        plots.faceted_lines(data, "eps", "acc", "model", "layer", colour="x")
