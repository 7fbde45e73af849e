# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tiny test chapter
#
# Used by tests/test_runner.py, test_cli.py and test_book_browser.py only. It computes a number, glues it
# into the prose (the total is {glue:}`tiny_total`), draws a chart, plays a tone and shows an equation
# {cite:p}`gardner1988space`:
#
# $$
# \frac{1}{\alpha_0(\kappa)} = \int_{-\infty}^{\kappa} Dt\,(\kappa - t)^2
# $$
#
# and inline math $\alpha_0(0) = 2$.

# %%
import os

import pandas as pd
from IPython.display import display
from myst_nb import glue

from advgeom import plots

# %% tags=["parameters"]
n = 3  # number of points
scale = 1.5  # multiplies every point
label = "demo"  # series name
offsets = [0.0, 0.5]  # one line per offset
fail = False  # raise on purpose (tests of failed runs)

# %%
plots.setup_charts()
if fail:
    raise RuntimeError("tiny notebook asked to fail")
rows = [{"x": i, "y": scale * i + off, "se": 0.1, "series": f"{label} +{off}"} for off in offsets for i in range(n)]
data = pd.DataFrame(rows)
total = float(data["y"].sum())
glue("tiny_total", total, display=False)
glue("tiny_cwd", os.getcwd(), display=False)
glue(
    "tiny_types",
    {"n": type(n).__name__, "scale": type(scale).__name__, "offsets": type(offsets).__name__},
    display=False,
)

# %%
chart = plots.line_with_errorbars(data, "x", "y", "series", err="se", title="A tiny chart")
display(chart)

# %%
import numpy as np  # noqa: E402
from IPython.display import Audio  # noqa: E402

display(Audio(np.sin(2 * np.pi * 440 * np.arange(8000) / 16000), rate=16000))  # half a second of A4

# %%
glue("tiny_chart", plots.faceted_lines(data, "x", "y", None, "series", err="se", columns=2), display=False)

# %% [markdown]
# ```{glue:figure} tiny_chart
# :name: fig-tiny
#
# A glued chart with a caption.
# ```
