"""advgeom.book.charts: the offline altair renderer, the theme, the shared chart helpers (layers by name),
tables printed as typed, published tables and the Explorer's interactive charts."""

from __future__ import annotations

import base64
import json
import re

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from advgeom.book import BOOK_ENV, CHAPTER_ENV, TABLE_MIME, assets, charts


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


# ------------------------------------------------------------------------ layers by name


@pytest.fixture
def layers() -> pd.DataFrame:
    """Two networks whose layer at depth 1 has another name (standard: stem, VOne: vone)."""
    names = {"standard": ["pixels", "stem", "block1", "logits"], "vone": ["pixels", "vone", "block1", "logits"]}
    return pd.DataFrame([{"model": m, "layer": name, "depth": d, "eps": e, "radius": 1 + d + e, "se": 0.1}
                         for m, ns in names.items() for d, name in enumerate(ns) for e in (0.0, 0.03)])


def test_layer_labels_name_each_depth_in_network_order(layers):
    assert charts.layer_labels(layers) == {0: "pixels", 1: "stem / vone", 2: "block1", 3: "logits"}
    assert charts.layer_labels(layers, "model", ["vone", "standard"])[1] == "vone / stem"
    assert charts.layer_labels(layers[layers.model == "vone"])[1] == "vone"
    shuffled = layers.sample(frac=1, random_state=0)  # network order from the data, layer order from depth
    assert list(charts.layer_labels(shuffled, "model", ["standard", "vone"]).values()) == [
        "pixels", "stem / vone", "block1", "logits"]


def test_layer_lines_put_layer_names_on_the_axis(layers):
    charts.setup_charts()
    spec = charts.layer_lines(layers, "radius", sort=["standard", "vone"], err="se").to_dict()
    x = spec["spec"]["layer"][0]["encoding"]["x"]
    assert (x["field"], x["type"], x["title"]) == ("depth", "ordinal", "layer")
    assert '"stem / vone"' in x["axis"]["labelExpr"]
    tips = [t["field"] for t in spec["spec"]["layer"][0]["encoding"]["tooltip"]]
    assert tips[:3] == ["eps", "layer", "depth"]  # each point's own layer name, and its depth
    svg = vlc.vegalite_to_svg(spec, vl_version=assets.vega_record()["vega-lite"])
    for name in ("pixels", "stem / vone", "block1", "logits"):
        assert f">{name}</text>" in svg, name
    assert ">0.03</text>" in svg  # the legend writes eps as typed


def test_any_chart_over_depth_names_the_layers(layers):
    by_depth = charts.line_with_errorbars(layers, "depth", "radius", "model", domain=["vone", "standard"]).to_dict()
    assert by_depth["layer"][0]["encoding"]["x"]["type"] == "ordinal"
    assert '"vone / stem"' in by_depth["layer"][0]["encoding"]["x"]["axis"]["labelExpr"]
    no_names = charts.line_with_errorbars(layers.drop(columns="layer"), "depth", "radius", "model").to_dict()
    assert no_names["layer"][0]["encoding"]["x"]["type"] == "quantitative"
    by_eps = charts.line_with_errorbars(layers, "eps", "radius", "model").to_dict()
    assert by_eps["layer"][0]["encoding"]["x"]["type"] == "quantitative"


# ----------------------------------------------------------------------------- tables


def cells(styler) -> list[list[str]]:
    """The printed rows of a Styler (header rows included)."""
    html = styler.to_html()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)]
            for r in rows]


def test_table_prints_parameters_as_typed_and_measures_to_fixed_digits():
    frame = pd.DataFrame({"model": ["std", "std"], "eps": [0.03, 0.1], "noise": [1e-05, 2.0],
                          "epochs": [10.0, float("nan")], "radius": [1.23456, 0.5], "n": [3, 4]})
    rows = cells(charts.table(frame))
    assert rows[0] == ["model", "eps", "noise", "epochs", "radius", "n"]  # no index column
    assert rows[1:] == [["std", "0.03", "1e-05", "10", "1.235", "3"], ["std", "0.1", "2", "–", "0.500", "4"]]
    assert cells(charts.table(frame, digits=1))[1][4] == "1.2"
    assert cells(charts.table(frame, parameters=["radius"]))[1][4] == "1.23456"


def test_table_prints_intervals_as_value_plus_minus_half_width():
    tidy = pd.DataFrame({"eps": [0.0, 0.03], "value": [0.9, 0.51234], "lo": [0.88, 0.5], "hi": [0.92, 0.53]})
    assert cells(charts.table(tidy))[1:] == [["0", "0.900 ± 0.020"], ["0.03", "0.512 ± 0.015"]]
    wide = pd.DataFrame({"eps": [0.1], "radius": [2.0], "radius_se": [0.25], "capacity": [0.1],
                         "capacity_lo": [0.05], "capacity_hi": [0.25]})
    assert cells(charts.table(wide, digits=2)) == [["eps", "radius", "capacity"], ["0.1", "2.00 ± 0.25", "0.10 ± 0.10"]]


def test_table_labels_of_pivot_tables_as_typed():
    frame = pd.DataFrame({"norm": ["linf"] * 3, "eps": [0.0, 0.03, 0.1], "model": ["a"] * 3, "acc": [0.9, 0.5, 0.2]})
    rows = cells(charts.table(frame.pivot_table(index=["norm", "eps"], columns="model", values="acc")))
    assert [r[-2:] for r in rows[2:]] == [["0", "0.900"], ["0.03", "0.500"], ["0.1", "0.200"]]
    by_eps = cells(charts.table(frame.pivot_table(index="model", columns="eps", values="acc")))
    assert by_eps[0][-3:] == ["0", "0.03", "0.1"]  # column labels as typed too


# -------------------------------------------------------------------------- published tables


@pytest.fixture
def accuracy() -> pd.DataFrame:
    rows = [{"model": m, "norm": "linf", "eps": e, "value": 0.9 - e - k / 10} for k, m in enumerate(["std", "vone"])
            for e in (0.0, 0.03, 0.1)]
    frame = pd.DataFrame(rows)
    return frame.assign(lo=frame.value - 0.02, hi=frame.value + 0.02)


def test_published_table_downloads_as_csv_and_is_recorded(accuracy, monkeypatch):
    monkeypatch.setenv(CHAPTER_ENV, "01_vision")
    bundle, metadata = charts.table_bundle(accuracy, "accuracy", "Accuracy under PGD")
    link = re.fullmatch(r'<p class="advgeom-table"><a class="advgeom-download" download="([^"]+)" '
                        r'href="data:text/csv;base64,([^"]+)">([^<]+)</a></p>', bundle["text/html"])
    assert link and link.group(1) == "01_vision-accuracy.csv"
    assert base64.b64decode(link.group(2)).decode() == accuracy.to_csv(index=False)
    assert "Accuracy under PGD" in link.group(3) and "6 rows" in link.group(3)
    record = bundle[TABLE_MIME]
    assert TABLE_MIME == "application/vnd.advgeom.table+json"
    assert (record["name"], record["title"], record["chapter"]) == ("accuracy", "Accuracy under PGD", "01_vision")
    assert record["identifiers"] == ["model", "norm", "eps"] and record["values"] == ["value", "lo", "hi"]
    pd.testing.assert_frame_equal(charts.table_frame(record), accuracy)
    assert json.loads(json.dumps(record)) == record  # JSON as nbformat stores it
    assert metadata == {"advgeom": {"table": "accuracy", "rows": 6}}
    monkeypatch.delenv(CHAPTER_ENV)
    assert 'download="accuracy.csv"' in charts.table_bundle(accuracy, "accuracy", "A")[0]["text/html"]
    assert 'download="03_x-accuracy.csv"' in charts.table_bundle(accuracy, "accuracy", "A", chapter="03_x")[0][
        "text/html"]


def test_publish_displays_the_bundle(accuracy, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **kw: shown.append((a, kw)))
    charts.publish(accuracy.set_index(["model", "norm", "eps"]), "acc", "Accuracy", chapter="01_x")
    ((bundle,), kw), = shown
    assert kw == {"metadata": {"advgeom": {"table": "acc", "rows": 6}}, "raw": True}
    assert bundle[TABLE_MIME]["columns"] == ["model", "norm", "eps", "value", "lo", "hi"]  # the index made columns


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda f: f.pivot_table(index="eps", columns="model", values="value"), "long, not wide"),
        (lambda f: f.assign(note="x"), "columns ['note'] are neither identifiers"),
        (lambda f: f.drop(columns="hi"), "value, lo and hi together"),
        (lambda f: f.drop(columns="eps"), "rows repeat the same identifiers"),
        (lambda f: f[["value"]], "needs identifier and value columns"),
    ],
)
def test_publish_refuses_untidy_tables(accuracy, change, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        charts.table_bundle(change(accuracy), "accuracy", "A")


def test_publish_names_more_identifiers_and_checks_the_name(accuracy):
    spec = charts.table_bundle(accuracy.assign(attack="pgd"), "acc", "A", identifiers=["attack"])[0][TABLE_MIME]
    assert spec["identifiers"] == ["model", "norm", "eps", "attack"]
    with pytest.raises(ValueError, match="names a file"):
        charts.table_bundle(accuracy, "my table", "A")


# --------------------------------------------------------------------------------- explorer


def geometry_table(layers: pd.DataFrame) -> dict:
    frame = layers.drop(columns="se").assign(capacity=lambda f: 2 - f.depth / 4)
    frame = pd.concat([frame.assign(manifold="class"), frame.assign(manifold="exemplar")], ignore_index=True)
    return charts.table_bundle(frame, "geometry", "Geometry", chapter="01_x")[0][TABLE_MIME]


def test_explorer_binds_inputs_over_the_grid_and_links_views(accuracy, layers):
    acc = charts.table_bundle(pd.concat([accuracy, accuracy.assign(norm="l2", eps=accuracy.eps * 10)]),
                              "accuracy", "Accuracy", chapter="01_x")[0][TABLE_MIME]
    spec = charts.explorer_spec([acc, geometry_table(layers)])
    params = {p["name"]: p for p in spec["params"]}
    pick = params["pick_eps"]  # the chapter's eps: a click on the accuracy curve, or the drop-down
    assert pick["select"] == {"type": "point", "fields": ["eps"], "on": "click", "clear": False}
    assert pick["bind"]["input"] == "select" and pick["bind"]["options"] == [0.0, 0.03]  # the geometry's eps
    assert pick["value"] == [{"eps": 0.03}] and pick["views"]  # starts at the largest eps, set in a view
    assert params["t0_norm"]["bind"]["options"] == ["linf", "l2"]
    assert params["t1_manifold"]["bind"]["options"] == ["class", "exemplar"]
    assert params["t1_measure"]["bind"]["options"] == ["radius", "capacity"]  # several metrics: one at a time
    accuracy_view, geometry_view = spec["concat"]
    assert accuracy_view["layer"][0]["encoding"]["x"]["field"] == "eps"
    assert geometry_view["layer"][0]["encoding"]["x"]["field"] == "depth"  # layers by name
    assert {"param": "pick_eps"} in [t.get("filter") for t in geometry_view["layer"][0]["transform"]]
    assert not any(t.get("filter") == {"param": "pick_eps"} for t in accuracy_view["layer"][0]["transform"])
    tips = [t["title"] for t in accuracy_view["layer"][1]["encoding"]["tooltip"]]
    assert tips == ["model", "norm", "eps", "value", "interval"]
    vg = vlc.vegalite_to_vega(spec, vl_version=assets.vega_record()["vega-lite"])
    signals = {s["name"] for s in vg["signals"]}
    assert {"pick_eps", "t0_norm", "t1_manifold", "t1_measure"} <= signals


def test_explorer_slides_over_evenly_spaced_grids(layers):
    even = layers[(layers.model == "standard") & (layers.eps == 0)].drop(columns=["se", "eps"])
    frame = pd.concat([even.assign(noise=n) for n in (0.0, 0.1, 0.2, 0.3)], ignore_index=True)
    table = charts.table_bundle(frame, "noise", "Noise", chapter="03_x")[0][TABLE_MIME]
    pick = {p["name"]: p for p in charts.explorer_spec([table])["params"]}["pick_noise"]
    assert pick["bind"] == {"input": "range", "min": 0.0, "max": 0.3, "step": 0.1, "name": "noise "}
    assert pick["value"] == [{"noise": 0.3}]


def test_long_form_turns_metrics_with_intervals_into_measure_rows() -> None:
    frame = pd.DataFrame(
        {"model": ["a", "b"], "eps": [0.0, 0.1], "radius": [1.0, 2.0], "radius_lo": [0.9, 1.5],
         "radius_hi": [1.1, 2.5], "capacity": [0.3, 0.2]}
    )  # fmt: skip
    long = charts.long_form(frame, ["radius", "capacity"], ["model", "eps"])
    assert list(long.columns) == ["model", "eps", "measure", "value", "lo", "hi"]
    assert list(long.measure) == ["radius", "radius", "capacity", "capacity"]
    assert list(long.value) == [1.0, 2.0, 0.3, 0.2] and list(long.lo[:2]) == [0.9, 1.5]
    assert long.lo[2:].isna().all() and long.hi[2:].isna().all()  # no interval given: NaN, not a made-up one
    data, ids, values = charts.tidy(long)
    assert ids == ["model", "eps", "measure"] and values == ["value", "lo", "hi"]
    with pytest.raises(ValueError, match=r"no columns \['dimension'\]"):
        charts.long_form(frame, ["dimension"], ["model"])


def test_interval_cells_and_with_interval() -> None:
    frame = pd.DataFrame(
        {"model": ["a", "b", "a", "b"], "eps": [0.0, 0.0, 0.1, 0.1], "accuracy": [0.9, 0.8, 0.5, 0.25],
         "lo": [0.85, 0.7, 0.45, 0.2], "hi": [0.95, 0.9, 0.55, 0.3]}
    )  # fmt: skip
    wide = charts.interval_cells(frame, "accuracy", ["eps"], "model", order=["b", "a"])
    assert list(wide.columns) == ["b", "a"] and wide.loc[0.1, "b"] == "0.250 ± 0.050"
    assert charts.interval_cells(frame.assign(half=0.01), "accuracy", ["eps"], "model").loc[0.0, "a"] == "0.900 ± 0.010"
    published = charts.with_interval(frame, "accuracy", ["model", "eps"])
    assert list(published.columns) == ["model", "eps", "value", "lo", "hi"]
    assert list(published.value) == [0.9, 0.8, 0.5, 0.25]
    assert charts.tidy(published)[2] == ["value", "lo", "hi"]
