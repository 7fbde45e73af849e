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
# (chapter-capacity-theory)=
# # Manifold capacity, checked against theory
#
# The later chapters measure how adversarial perturbations and neuronal noise change the *geometry* of
# a network's internal representations. The yardstick is **manifold capacity**
# {cite:p}`chung2018classification,cohen2020separability`: how many object manifolds per neuron a linear
# readout can still separate. This chapter explains that number, together with the manifold **radius** and
# **dimension** that come with it, for a reader who knows the perceptron, and it checks the solver of this
# book, `advgeom.geometry`, against results that nobody here wrote:
#
# 1. **Cover's theorem** {cite:p}`cover1965geometrical`: the fraction of random dichotomies of $P$ points that a
#    hyperplane separates in $N$ dimensions, and the capacity $P/N = 2$ it implies;
# 2. **Gardner's capacity** {cite:p}`gardner1988space` of points at margin $\kappa$;
# 3. the exact capacity of **balls** (segments, discs, spheres) of radius $R$ and dimension $D$;
# 4. the **simulated capacity** of random Gaussian clouds, which the mean-field number must match, and how capacity
#    falls as the clouds grow.
#
# Each comparison is also an assertion: if the solver and the theory disagree by more than their statistical
# error, executing this page fails. Every number quoted in the text is computed when the page is executed.
#
# ```{admonition} Re-running this chapter
# :class: tip
# The parameters (sizes, seeds, grids) are in the first code cell. Change them from the command line, e.g.
# `advgeom run 00_capacity_theory -p n_t 400` or `advgeom run 00_capacity_theory --preset classroom`
# (see `advgeom list` for all parameters and presets).
# ```

# %%
import math
import sys
import time
import warnings

import altair as alt
import numpy as np
import pandas as pd
from myst_nb import glue
from scipy.spatial import ConvexHull
from threadpoolctl import threadpool_limits
from tqdm.std import tqdm

from advgeom import plots

with warnings.catch_warnings():  # tqdm.auto warns that ipywidgets is missing; the solver's own bars stay off here
    warnings.filterwarnings("ignore", message="IProgress not found")
    from advgeom.geometry import manifold_analysis, simulated_capacity, theory
    from advgeom.geometry.synthetic import ball_manifolds, gaussian_manifolds

plots.setup_charts()
# every matrix here is small: one BLAS thread is fastest (many threads on a busy machine are ~100x slower)
# and makes the numbers independent of the machine's core count
threadpool_limits(limits=1)
_start = time.perf_counter()

# %% tags=["parameters"]
seeds = [0, 1, 2, 3, 4]  # one run per seed; results are means over seeds with standard errors
n_t = 200  # Gaussian samples t per manifold in the mean-field (MFTMA) estimate
n_sigma = 4.0  # the in-page checks allow this many standard errors
cover_P = [10, 40, 160]  # numbers of random points, one transition curve each
n_dichotomies = 200  # random dichotomies per simulation of random points
gardner_P = 50  # point-like manifolds per MFTMA run
gardner_spread = 0.0001  # half-length of the tiny segments that stand in for points
kappa_grid = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]  # margins for Gardner's curve (0 is always added)
ball_P = 20  # balls per MFTMA run
ball_radii = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]  # ball radii R (the center norm is 1)
ball_dims = [1, 2, 3]  # ball dimensions D; 1 means segments, given by their 2 end points
sphere_M = 200  # points sampled on each sphere of dimension 2 or more
gauss_P = 20  # Gaussian clouds per run
gauss_M = 20  # points per cloud
gauss_D = 10  # dimension of the subspace of each cloud
gauss_N = 400  # ambient dimension
gauss_radii = [0.1, 0.25, 0.5, 1.0, 2.0]  # RMS radii of the clouds (center norm ~1)
sim_dichotomies = 100  # random dichotomies per simulated capacity of the clouds
mean_field_allowance = 0.05  # relative finite-size gap allowed between MFTMA and simulated capacity
ball_relation_allowance = 0.1  # relative gap allowed between MFTMA capacity and alpha_Ball(R_M, D_M)

# %% tags=["remove-cell"]
# Checks of the parameters that the solver cannot make itself.
if not seeds:
    raise ValueError("seeds=[]: give at least one seed, e.g. [0, 1, 2]")
if not gardner_spread >= 1e-5:
    raise ValueError(
        f"gardner_spread={gardner_spread}: must be >= 1e-5 (smaller segments fall below the solver's rank "
        "tolerance and would be treated as exact points, which makes the check trivially true)"
    )
if n_sigma <= 0:
    raise ValueError(f"n_sigma={n_sigma} must be > 0")
n_seeds = len(seeds)


# %% tags=["hide-input"]
ERR_BAR = 2  # error bars on the charts are +/- ERR_BAR standard errors


def run_seed(seed, *keys):
    """An independent seed for one run of one experiment (so that errors are not shared across grid points)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def progress(iterable, desc):
    """Text progress bar on stderr (hidden in the book)."""
    return tqdm(iterable, desc=desc, file=sys.stderr, leave=False)


def pool_inverse(caps, ses):
    """Pool capacities of independent runs on identical manifolds: average ``1/alpha`` (the mean of F over all
    samples) and propagate the per-sample standard errors. Returns (capacity, standard error)."""
    caps, ses = np.asarray(caps, float), np.asarray(ses, float)
    inv = 1.0 / caps
    inv_se = ses / caps**2
    inv_mean = inv.mean()
    inv_mean_se = np.sqrt(np.sum(inv_se**2)) / inv.size
    return float(1.0 / inv_mean), float(inv_mean_se / inv_mean**2)


def mean_err(values, ses=None):
    """Mean over seeds of runs on *different* random manifolds, and its standard error: the larger of the
    spread over seeds (std/sqrt(n)) and the pooled within-run error."""
    values = np.asarray(values, float)
    within = 0.0 if ses is None else float(np.sqrt(np.sum(np.asarray(ses, float) ** 2)) / values.size)
    between = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
    return float(values.mean()), max(within, between)


def theory_vs_measured(curves, points, x, y, group, *, x_title, y_title, group_title, log_x=False, log_y=False,
                       tooltip_fields=(), title=None, domain=None):
    """Theory as lines, measurements as points with error bars (columns lo, hi); tooltips on both."""
    x_enc = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False))
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color(f"{group}:N", title=group_title, scale=alt.Scale(domain=domain) if domain else alt.Undefined)
    line = alt.Chart(curves).mark_line(strokeWidth=1.6).encode(
        x=x_enc, y=alt.Y(f"{y}:Q", title=y_title, scale=y_scale), color=color,
        tooltip=[alt.Tooltip(f"{group}:N", title=group_title), alt.Tooltip(f"{x}:Q", title=x_title, format=".3g"),
                 alt.Tooltip(f"{y}:Q", title=f"theory: {y_title}", format=".4f")],
    )
    bars = alt.Chart(points).mark_errorbar(ticks=True).encode(
        x=x_enc, y=alt.Y("lo:Q", title=y_title, scale=y_scale), y2="hi:Q", color=color
    )
    dots = alt.Chart(points).mark_point(filled=True, size=55, opacity=0.9).encode(
        x=x_enc, y=alt.Y(f"{y}:Q", title=y_title, scale=y_scale), color=color,
        tooltip=[alt.Tooltip(f"{group}:N", title=group_title), alt.Tooltip(f"{x}:Q", title=x_title, format=".3g"),
                 alt.Tooltip(f"{y}:Q", title=f"measured: {y_title}", format=".4f"),
                 alt.Tooltip("se:Q", title="standard error", format=".4f"), *tooltip_fields],
    )
    chart = alt.layer(line, bars, dots).properties(width=420, height=280)
    return chart.properties(title=title) if title else chart


# %% [markdown]
# ## Points and dichotomies: Cover's theorem
#
# A linear readout (a perceptron through the origin) with weights $\mathbf w \in \mathbb R^N$ labels an input
# $\mathbf x$ by $\operatorname{sign}(\mathbf w \cdot \mathbf x)$. Give each of $P$ inputs a label
# $y^\mu = \pm 1$; this assignment is a *dichotomy*, and it is *linearly separable* if some $\mathbf w$ gets all $P$
# labels right. Of the $2^P$ dichotomies of $P$ points in general position in $N$ dimensions, exactly
#
# $$
# C(P, N) = 2 \sum_{k=0}^{N-1} \binom{P-1}{k}
# $$ (eq-cover)
#
# are separable {cite:p}`cover1965geometrical`, so a random dichotomy is separable with probability
# $f(P, N) = C(P, N) / 2^P$. For large $P$ this fraction drops from 1 to 0 around $P/N = 2$, and
# $f(2N, N) = 1/2$ exactly: the **capacity** of a perceptron is $\alpha_c = P/N = 2$ points per dimension.
#
# The simulation below (`advgeom.geometry.simulated_capacity`) draws random Gaussian points, random labels and a
# random Gaussian projection to $n$ features, and finds for each dichotomy the smallest $n$ at which a
# separating hyperplane exists (an exact test, by Gordan's theorem a non-negative least-squares problem). The
# fraction of separable dichotomies at $n$ features is then compared with $f(P, n)$; the **simulated capacity**
# is $P / n^\ast$, where $n^\ast$ is the number of features at which half of the dichotomies are separable.

# %% tags=["remove-stderr"]
cover_rows = []  # one row per (P, n): simulated fraction vs theory
cover_alpha = []  # one row per (P, seed): simulated capacity of points
for P in progress(cover_P, "Cover"):
    n_min = []
    for seed in seeds:
        X = np.random.default_rng([seed, P]).standard_normal((P, P))  # P Gaussian points in general position
        # points are manifolds of one point; no centering, so that the points stay in general position
        sim = simulated_capacity(list(X[:, None, :]), n_dichotomies=n_dichotomies, seed=seed, center=False)
        n_min.append(sim.n_min)
        cover_alpha.append({"P": P, "seed": seed, "alpha_sim": sim.capacity, "se": sim.capacity_se})
    n_min = np.concatenate(n_min)
    K = n_min.size
    for n in range(max(1, math.ceil(P / 4.5)), 2 * P + 1):
        f_th = theory.cover_fraction(P, n)
        f_sim = float(np.mean(n_min <= n))
        se = math.sqrt(f_th * (1 - f_th) / K)
        cover_rows.append({"P": P, "n": n, "load": P / n, "theory": f_th, "fraction": f_sim, "se": se, "K": K,
                           "z": (f_sim - f_th) / se if se > 0 else 0.0})
cover = pd.DataFrame(cover_rows)
cover_alpha = pd.DataFrame(cover_alpha)

# the check: every simulated fraction within n_sigma binomial standard errors (+ one dichotomy) of Cover's formula
band = n_sigma * cover["se"] + 1.0 / cover["K"]
excess = (cover["fraction"] - cover["theory"]).abs() - band
worst = cover.loc[excess.idxmax()]
assert excess.max() <= 0, (
    f"simulated separable fraction {worst['fraction']:.3f} at P={worst['P']}, n={worst['n']} differs from Cover's "
    f"{worst['theory']:.3f} by more than {n_sigma} standard errors ({worst['se']:.3f}) + 1/K"
)
alpha_pts = pd.DataFrame(
    [(P, *mean_err(g["alpha_sim"], g["se"])) for P, g in cover_alpha.groupby("P")], columns=["P", "alpha_sim", "se"]
)
for row in alpha_pts.itertuples():
    assert abs(row.alpha_sim - 2.0) <= n_sigma * row.se, (
        f"simulated capacity of P={row.P} random points is {row.alpha_sim:.3f} +/- {row.se:.3f}; "
        f"Cover's theorem gives 2 (allowed: {n_sigma} standard errors)"
    )
big = alpha_pts.iloc[alpha_pts["P"].idxmax()]
glue("cover_P_max", int(big["P"]), display=False)
glue("cover_alpha_sim", float(big["alpha_sim"]), display=False)
glue("cover_alpha_sim_se", float(big["se"]), display=False)
glue("cover_max_dev", float((cover["fraction"] - cover["theory"]).abs().max()), display=False)
glue("cover_band_use", float(((cover["fraction"] - cover["theory"]).abs() / band).max()), display=False)
glue("cover_n_checked", int(len(cover)), display=False)
glue("cover_K", int(cover["K"].iloc[0]), display=False)
glue("n_sigma", float(n_sigma), display=False)
alpha_pts.round(4)

# %% tags=["hide-input"]
labels = {P: f"P = {P}" for P in cover_P}
cover["points"] = cover["P"].map(labels)
cover["lo"] = (cover["fraction"] - ERR_BAR * cover["se"]).clip(0, 1)
cover["hi"] = (cover["fraction"] + ERR_BAR * cover["se"]).clip(0, 1)
# show simulated points on a coarse grid of loads (all n are checked above)
shown = []
for P in cover_P:
    wanted = np.unique(np.rint(P / np.arange(0.5, 4.51, 0.25)).astype(int))
    shown.append(cover[(cover["P"] == P) & cover["n"].isin(wanted)])
cover_chart = theory_vs_measured(
    cover, pd.concat(shown), "load", "fraction", "points", x_title="load P/N", y_title="separable fraction",
    group_title="points", domain=list(labels.values()),
    tooltip_fields=(alt.Tooltip("n:Q", title="features N"),),
)
glue("fig_cover", cover_chart, display=False)

# %% [markdown]
# ```{glue:figure} fig_cover
# :name: fig-cover
#
# Cover's transition. Lines: the exact separable fraction $f(P, N)$ of Eq. {eq}`eq-cover`; points: the fraction
# of simulated random dichotomies (pooled over seeds) that are separable with $N$ features, with
# $\pm 2$ binomial standard errors. The transition sharpens around $P/N = 2$ as $P$ grows. Hover for values.
# ```
#
# All {glue:text}`cover_n_checked` simulated fractions ({glue:text}`cover_K` dichotomies each) lie within the
# allowed band around Cover's formula, {glue:text}`n_sigma:.0f` binomial standard errors plus one dichotomy: the
# largest deviation is {glue:text}`cover_max_dev:.3f`, {glue:text}`cover_band_use:.0%` of its band. The simulated
# capacity of {glue:text}`cover_P_max` random points is
# $P/n^\ast =$ {glue:text}`cover_alpha_sim:.3f` $\pm$ {glue:text}`cover_alpha_sim_se:.3f`, in line with
# $\alpha_c = 2$.

# %% [markdown]
# ## Margin: Gardner's capacity
#
# A readout that must be robust to noise needs a *margin*: $y^\mu\, \mathbf w \cdot \mathbf x^\mu \ge \kappa
# \,\|\mathbf w\|$ (here $\|\mathbf x^\mu\| = \sqrt N$, so $\kappa$ is measured in units of the typical projection).
# Gardner's replica calculation {cite:p}`gardner1988space` gives the capacity of random points at margin $\kappa$:
#
# $$
# \frac{1}{\alpha_0(\kappa)} = \int Dt\, \left[t + \kappa\right]_+^2
# = (1+\kappa^2)\,\Phi(\kappa) + \kappa\,\phi(\kappa),
# $$ (eq-gardner)
#
# with $Dt = \phi(t)\,dt$ the standard Gaussian measure and $\Phi$ its distribution function. At $\kappa = 0$ it gives
# Cover's $\alpha_0 = 2$; a positive margin lowers the capacity, and a negative margin (errors allowed up to
# $|\kappa|$) raises it. This is `theory.alpha0(kappa)`.
#
# ## Manifolds: the mean-field capacity
#
# Neural responses to one object are not a point but a *manifold*: the set of responses to all views, noise draws
# or attacked versions of the object. Write manifold $\mu$ as its center $\mathbf x_0^\mu$ plus a shape in $D$
# dimensions, $\mathbf x^\mu(\mathbf s) = \mathbf x_0^\mu + \sum_{i=1}^D s_i\, \mathbf u_i^\mu$ with
# $\mathbf s \in \mathcal S$. A dichotomy of $P$ manifolds is separable if *every point* of every manifold is on its
# side with margin $\kappa$, and the manifold capacity $\alpha_M$ is the largest $P/N$ at which a random dichotomy
# is still separable. {cite:t}`chung2018classification` computed it in the mean-field (replica) limit. In the
# frame of one manifold, add a center coordinate: points become $\tilde{\mathbf s} = (\mathbf s, 1) \in
# \mathbb R^{D+1}$. Draw a Gaussian vector $\mathbf T = (\mathbf t, t_0) \sim \mathcal N(0, I_{D+1})$ and let
#
# $$
# F(\mathbf T) = \min_{\mathbf V} \left\{ \|\mathbf V - \mathbf T\|^2 \;:\; \mathbf V \cdot \tilde{\mathbf s}
# \le -\kappa \ \text{ for all } \mathbf s \in \mathcal S \right\},
# \qquad \frac{1}{\alpha_M(\kappa)} = \big\langle F(\mathbf T) \big\rangle_{\mathbf T} .
# $$ (eq-mftma)
#
# $F$ is the squared distance from $\mathbf T$ to a convex cone; when $\mathcal S$ is a finite set of points, the
# projection is exactly a non-negative least-squares problem, which is how `advgeom.geometry.manifold_analysis`
# solves it, one sample at a time, after removing the correlations between the manifold centers. For a single
# point ($D = 0$) the constraint is $V_0 \le -\kappa$, $F = [t_0 + \kappa]_+^2$, and Eq. {eq}`eq-mftma` is
# Eq. {eq}`eq-gardner`.
#
# The solution $\mathbf V^\ast$ touches the manifold at an **anchor point**: the multipliers $\lambda_j \ge 0$ of
# the active constraints give $\mathbf T - \mathbf V^\ast = \sum_j \lambda_j \tilde{\mathbf s}_j$ and the anchor
# $\tilde{\mathbf s}(\mathbf T) = \sum_j \lambda_j \tilde{\mathbf s}_j / \sum_j \lambda_j$, a point of the
# manifold's convex hull. It is the point that decides separability for that draw of $\mathbf T$, and its
# statistics define the manifold's **radius** and **dimension** {cite:p}`chung2018classification`:
#
# $$
# R_M^2 = \Big\langle \big\| \tilde{\mathbf s}_\perp(\mathbf T) - \langle \tilde{\mathbf s}_\perp \rangle
# \big\|^2 \Big\rangle_{\mathbf T},
# \qquad
# D_M = D \,\Big\langle \cos \angle\big(\mathbf t,\ \tilde{\mathbf s}_\perp(\mathbf T)\big)\Big\rangle_{\mathbf T}^2 ,
# $$ (eq-radius-dimension)
#
# where $\perp$ is the part inside the manifold's own $D$ dimensions, in units of the center norm (the solver
# follows the conventions of the reference implementation). $R_M$ is the typical size of the manifold *as seen
# by the readout*, and $D_M$ the number of directions along which its anchors spread.
#
# ## Balls: three regimes
#
# For an $L_2$ ball of radius $R$ in $D$ dimensions everything is explicit {cite:p}`chung2018classification`.
# With $r = \|\mathbf t\|$ (a $\chi_D$ variable) and $a = t_0 + \kappa$ there are three regimes: the field is
# already on the right side of the whole ball (*interior*), the solution touches the ball at one point
# (*touching*), or it must move the whole ball (*embedded*):
#
# $$
# F(\mathbf T) =
# \begin{cases}
# 0, & a < -rR \quad\text{(interior)}\\[2pt]
# \dfrac{(a + rR)^2}{1 + R^2}, & -rR \le a \le r/R \quad\text{(touching)}\\[8pt]
# a^2 + r^2, & a > r/R \quad\text{(embedded)}
# \end{cases}
# \qquad
# \frac{1}{\alpha_{\mathrm{Ball}}(R, D, \kappa)} = \big\langle F \big\rangle_{t_0,\, r} .
# $$ (eq-ball)
#
# `theory.ball_capacity(R, D, kappa)` does the $t_0$ integral in closed form and the $r$ integral numerically.
# Two limits are worth remembering: at $R = 1$, $\kappa = 0$, $\alpha_{\mathrm{Ball}} = 2/(D+1)$; and for
# $R \to \infty$, $\alpha_{\mathrm{Ball}} \to 1/(D + 1/\alpha_0(\kappa))$: a huge ball costs one dimension per
# direction it spans. The anchor of a ball always points along $\mathbf t$, so its $D_M = D$ exactly, and
# its $R_M$ (`theory.ball_anchor_radius`) is a little smaller than $R$ (the embedded regime pulls anchors inwards).
#
# The central claim of the theory is that a general manifold behaves like a ball with its own radius and
# dimension,
#
# $$
# \alpha_M(\kappa) \approx \alpha_{\mathrm{Ball}}(R_M, D_M, \kappa),
# \qquad\text{and for large } D_M:\quad \alpha_M \approx \frac{1 + R_M^{-2}}{D_M},
# $$ (eq-ball-relation)
#
# so *larger* ($R_M$) and *higher-dimensional* ($D_M$) manifolds have *lower* capacity: they are harder to separate.
# This is the reading of capacity, radius and dimension used in the rest of the book.
#
# ## Check 1: Gardner's curve
#
# The solver treats a manifold whose points all coincide as an exact point and returns Eq. {eq}`eq-gardner` by
# construction; that would check nothing. Instead each "point" here is a tiny segment (half-length
# {glue:text}`gardner_spread`, relative to a unit center norm) which goes through the full sampling route of
# Eq. {eq}`eq-mftma`. Its exact capacity $\alpha_{\mathrm{Ball}}(\epsilon, 1, \kappa)$ differs from $\alpha_0(\kappa)$
# by less than {glue:text}`gardner_bias_max:.1e`, which the check allows for.

# %% tags=["remove-stderr"]
kappas = sorted(set(float(k) for k in kappa_grid) | {0.0})
gardner_rows = []
for i, kappa in enumerate(progress(kappas, "Gardner")):
    caps, ses = [], []
    for seed in seeds:
        rs = run_seed(seed, 1, i)
        res = manifold_analysis(ball_manifolds(gardner_P, gardner_spread, 1, 2, seed=rs), kappa=kappa, n_t=n_t, seed=rs)
        assert (res.per_manifold.rank == 1).all(), "the tiny segments must keep rank 1 (sampled, not exact points)"
        caps.append(res.capacity)
        ses.append(res.capacity_se)
    cap, se = pool_inverse(caps, ses)
    gardner_rows.append({"kappa": kappa, "mftma": cap, "se": se, "alpha0": theory.alpha0(kappa),
                         "bias": abs(theory.ball_capacity(gardner_spread, 1, kappa) - theory.alpha0(kappa))})
gardner = pd.DataFrame(gardner_rows)
gardner["z"] = (gardner["mftma"] - gardner["alpha0"]) / gardner["se"]

for row in gardner.itertuples():
    assert abs(row.mftma - row.alpha0) <= n_sigma * row.se + row.bias, (
        f"MFTMA capacity of point-like manifolds at kappa={row.kappa} is {row.mftma:.4f} +/- {row.se:.4f}, "
        f"Gardner's alpha0 = {row.alpha0:.4f} (allowed: {n_sigma} standard errors + {row.bias:.1e})"
    )
k0 = gardner.loc[gardner["kappa"] == 0.0].iloc[0]
glue("gardner_spread", float(gardner_spread), display=False)
glue("gardner_bias_max", float(gardner["bias"].max()), display=False)
glue("gardner_k0", float(k0["mftma"]), display=False)
glue("gardner_k0_se", float(k0["se"]), display=False)
glue("gardner_max_z", float(gardner["z"].abs().max()), display=False)
glue("gardner_n_kappa", len(gardner), display=False)
glue("gardner_samples", int(gardner_P * n_t * n_seeds), display=False)
gardner.round(4)

# %% tags=["hide-input"]
k_lo, k_hi = min(kappas), max(kappas)
k_fine = np.linspace(k_lo - 0.1 * (k_hi - k_lo + 1), k_hi + 0.1 * (k_hi - k_lo + 1), 121)
g_curve = pd.DataFrame({"kappa": k_fine, "capacity": [theory.alpha0(k) for k in k_fine], "series": "points"})
g_pts = gardner.assign(capacity=gardner["mftma"], series="points", lo=gardner["mftma"] - ERR_BAR * gardner["se"],
                       hi=gardner["mftma"] + ERR_BAR * gardner["se"])
gardner_chart = theory_vs_measured(
    g_curve, g_pts, "kappa", "capacity", "series", x_title="margin κ", y_title="capacity α", group_title="manifolds",
    log_y=True, tooltip_fields=(alt.Tooltip("alpha0:Q", title="Gardner α₀(κ)", format=".4f"),
                                alt.Tooltip("z:Q", title="deviation / SE", format=".2f")),
)
glue("fig_gardner", gardner_chart, display=False)

# %% [markdown]
# ```{glue:figure} fig_gardner
# :name: fig-gardner
#
# Gardner's curve. Line: $\alpha_0(\kappa)$ of Eq. {eq}`eq-gardner`; points: the mean-field capacity computed by
# the solver for point-like manifolds, pooled over seeds, with $\pm 2$ standard errors of the mean of $F$
# (log scale; negative margins allowed).
# ```
#
# At $\kappa = 0$ the solver gives {glue:text}`gardner_k0:.3f` $\pm$ {glue:text}`gardner_k0_se:.3f` (theory: 2),
# from {glue:text}`gardner_samples` samples of $F$; over the {glue:text}`gardner_n_kappa` margins the largest
# deviation from Gardner's formula is {glue:text}`gardner_max_z:.2f` standard errors.
#
# ## Check 2: balls
#
# The synthetic manifolds of `advgeom.geometry.synthetic.ball_manifolds` are exact balls in the frame of the
# analysis: the centers form a regular simplex of unit norm and every manifold's axes are orthogonal to all
# centers and to the other manifolds. A **segment** ($D = 1$) is exactly its two end points, so the solver must
# reproduce Eq. {eq}`eq-ball` up to sampling error. A **sphere** ($D \ge 2$) can only be given as $M$ sampled
# points, and the solver sees their convex hull, an inscribed polytope, which is *smaller* than the ball: its
# capacity is biased *upwards*. The bias is bounded: $F$ can only grow when the manifold grows (a larger manifold
# gives a larger cone), and the polytope contains the ball of radius $\rho R$, where $\rho$ is its inradius
# (computed from the points below), so
#
# $$
# \alpha_{\mathrm{Ball}}(R, D) \;\le\; \alpha_{\text{polytope}} \;\le\; \alpha_{\mathrm{Ball}}(\rho R, D) .
# $$
#
# That bracket, widened by the statistical error, is the check for spheres. The same runs also check the
# anchor geometry of segments: $R_M$ against `theory.ball_anchor_radius` and $D_M = 1$.

# %% tags=["remove-stderr"]
def inradius_fraction(points):
    """Inradius of the convex hull of one centered sphere sample, divided by its circumradius (rho <= 1)."""
    dev = points - points.mean(axis=0)
    _, s, vt = np.linalg.svd(dev, full_matrices=False)
    dim = int(np.sum(s > 1e-9 * s[0]))
    coords = dev @ vt[:dim].T
    outer = np.linalg.norm(coords, axis=1).max()
    if dim == 1:
        return float(min(coords.max(), -coords.min()) / outer)
    hull = ConvexHull(coords)
    return float(-hull.equations[:, -1].max() / outer)


ball_rows = []
for D in progress(ball_dims, "balls"):
    M = 2 if D == 1 else sphere_M
    for i, R in enumerate(ball_radii):
        caps, ses, radii_i, dims, rhos = [], [], [], [], []
        for seed in seeds:
            rs = run_seed(seed, 2, D, i)
            ms = ball_manifolds(ball_P, R, D, M, seed=rs)
            rhos += [inradius_fraction(m) for m in ms]
            res = manifold_analysis(ms, kappa=0.0, n_t=n_t, seed=rs)
            caps.append(res.capacity)
            ses.append(res.capacity_se)
            radii_i.append(res.per_manifold.radius)
            dims.append(res.dimension)
        cap, se = pool_inverse(caps, ses)
        radii_i = np.concatenate(radii_i)
        rho = min(rhos)
        ball_rows.append({
            "D": D, "R": R, "M": M, "mftma": cap, "se": se,
            "theory": theory.ball_capacity(R, D), "upper": theory.ball_capacity(rho * R, D), "rho": rho,
            "R_M": float(radii_i.mean()), "R_M_se": float(radii_i.std(ddof=1) / np.sqrt(radii_i.size)),
            # the solver subtracts the sample mean of n_t anchors: E R_M^2 = (1 - 1/n_t) R_anchor^2
            "R_M_theory": theory.ball_anchor_radius(R, D) * math.sqrt(1 - 1 / n_t),
            "D_M": float(np.mean(dims)),
        })
balls = pd.DataFrame(ball_rows)
balls["z"] = (balls["mftma"] - balls["theory"]) / balls["se"]

for row in balls.itertuples():
    where = f"D={row.D}, R={row.R} (M={row.M} points)"
    if row.D == 1:
        assert abs(row.mftma - row.theory) <= n_sigma * row.se, (
            f"segment {where}: MFTMA {row.mftma:.4f} +/- {row.se:.4f} vs exact {row.theory:.4f} "
            f"(allowed: {n_sigma} standard errors)"
        )
        assert abs(row.R_M - row.R_M_theory) <= n_sigma * row.R_M_se, (
            f"segment {where}: anchor radius R_M {row.R_M:.4f} +/- {row.R_M_se:.4f} vs theory {row.R_M_theory:.4f}"
        )
        # exactly 1 up to the solver's guard against zero-length anchors (a QR frame with an empty direction gave 0.81)
        assert abs(row.D_M - 1.0) < 1e-3, f"segment {where}: anchor dimension D_M={row.D_M:.6f}, must be 1"
    else:
        assert row.theory - n_sigma * row.se <= row.mftma <= row.upper + n_sigma * row.se, (
            f"sphere {where}: MFTMA {row.mftma:.4f} +/- {row.se:.4f} outside the polytope bracket "
            f"[{row.theory:.4f}, {row.upper:.4f}] (inradius fraction {row.rho:.4f}) by more than {n_sigma} SE"
        )

seg = balls[balls["D"] == 1]
if len(seg):
    ref = seg.iloc[(seg["R"] - 1.0).abs().argmin()]
    glue("seg_R", float(ref["R"]), display=False)
    glue("seg_mftma", float(ref["mftma"]), display=False)
    glue("seg_se", float(ref["se"]), display=False)
    glue("seg_theory", float(ref["theory"]), display=False)
    glue("seg_R_M", float(ref["R_M"]), display=False)
    glue("seg_R_M_theory", float(ref["R_M_theory"]), display=False)
    glue("seg_max_z", float(seg["z"].abs().max()), display=False)
sph = balls[balls["D"] > 1]
glue("sphere_max_rel_bias", float(((sph["mftma"] - sph["theory"]) / sph["theory"]).max()) if len(sph) else 0.0,
     display=False)
glue("sphere_min_rho", float(sph["rho"].min()) if len(sph) else 1.0, display=False)
glue("sphere_M", int(sphere_M), display=False)
table = balls[["D", "R", "M", "theory", "mftma", "se", "upper", "R_M_theory", "R_M", "D_M"]].rename(columns={
    "theory": "α_Ball", "mftma": "α MFTMA", "se": "SE", "upper": "α_Ball(ρR)", "R_M_theory": "R_M theory",
    "R_M": "R_M MFTMA", "D_M": "D_M MFTMA"})
table.round(4)

# %% tags=["hide-input"]
dim_label = {D: "D = 1 (segment)" if D == 1 else f"D = {D}" for D in ball_dims}
r_fine = np.geomspace(min(ball_radii) / 1.5, max(ball_radii) * 1.5, 50)
b_curve = pd.DataFrame([{"R": r, "capacity": theory.ball_capacity(r, D), "ball": dim_label[D]}
                        for D in ball_dims for r in r_fine])
b_pts = balls.assign(capacity=balls["mftma"], ball=balls["D"].map(dim_label),
                     lo=balls["mftma"] - ERR_BAR * balls["se"], hi=balls["mftma"] + ERR_BAR * balls["se"])
ball_chart = theory_vs_measured(
    b_curve, b_pts, "R", "capacity", "ball", x_title="ball radius R", y_title="capacity α", group_title="ball",
    log_x=True, domain=[dim_label[D] for D in ball_dims],
    tooltip_fields=(alt.Tooltip("theory:Q", title="α_Ball(R, D)", format=".4f"),
                    alt.Tooltip("upper:Q", title="α_Ball(ρR, D)", format=".4f"),
                    alt.Tooltip("M:Q", title="points per manifold"),
                    alt.Tooltip("R_M:Q", title="anchor radius R_M", format=".3f"),
                    alt.Tooltip("D_M:Q", title="anchor dimension D_M", format=".3f")),
)
glue("fig_balls", ball_chart, display=False)

# %% [markdown]
# ```{glue:figure} fig_balls
# :name: fig-balls
#
# Capacity of balls at $\kappa = 0$. Lines: $\alpha_{\mathrm{Ball}}(R, D)$ of Eq. {eq}`eq-ball`; points: the
# solver on segments (exact, two end points) and on spheres sampled with {glue:text}`sphere_M` points, pooled over
# seeds, $\pm 2$ standard errors. Spheres sit slightly above their line: the finite-$M$ polytope bias.
# ```
#
# For segments of radius $R =$ {glue:text}`seg_R` the solver gives {glue:text}`seg_mftma:.3f` $\pm$
# {glue:text}`seg_se:.3f` against the exact {glue:text}`seg_theory:.3f` (largest deviation over the radii:
# {glue:text}`seg_max_z:.2f` standard errors), and an anchor radius $R_M =$ {glue:text}`seg_R_M:.3f` against
# {glue:text}`seg_R_M_theory:.3f`, smaller than the geometric radius as expected. For the sampled spheres the
# capacity lies at most {glue:text}`sphere_max_rel_bias:.1%` above the ball's, inside the polytope bracket (the
# smallest inradius fraction is $\rho =$ {glue:text}`sphere_min_rho:.3f`).
#
# ## Check 3: growing manifolds, mean-field versus simulation
#
# The mean-field number is a large-$N$ prediction; for manifolds with no closed form the check is a direct
# simulation. The manifolds here are random Gaussian clouds (`gaussian_manifolds`): $P$ centers of norm about 1
# in $N$ dimensions, each with $M$ points spread in its own random $D$-dimensional subspace with RMS radius $r$.
# For each $r$ the page computes the MFTMA capacity, radius and dimension, and the **simulated capacity**
# $P/n^\ast$ of the same clouds, as for the points above but now every point of a cloud must be on its side.
# It also evaluates the ball approximation $\alpha_{\mathrm{Ball}}(R_M, D_M)$ of Eq. {eq}`eq-ball-relation`.
# Within one seed the same random centers and directions are used at every $r$: the curves follow the same clouds
# as they grow.

# %% tags=["remove-stderr"]
gauss_runs = []
for r in progress(gauss_radii, "clouds"):
    for seed in seeds:
        ms = gaussian_manifolds(gauss_P, gauss_M, gauss_D, gauss_N, radius=r, seed=seed)
        res = manifold_analysis(ms, kappa=0.0, n_t=n_t, seed=seed)
        sim = simulated_capacity(ms, n_dichotomies=sim_dichotomies, seed=seed)
        gauss_runs.append({"r": r, "seed": seed, "mftma": res.capacity, "mftma_se": res.capacity_se,
                           "R_M": res.radius, "D_M": res.dimension, "K": res.K, "sim": sim.capacity,
                           "sim_se": sim.capacity_se, "ball": theory.ball_capacity(res.radius, res.dimension)})
gauss_runs = pd.DataFrame(gauss_runs)

gauss_rows = []
for r, g in gauss_runs.groupby("r"):
    row = {"r": r}
    row["mftma"], row["mftma_se"] = mean_err(g["mftma"], g["mftma_se"])
    row["sim"], row["sim_se"] = mean_err(g["sim"], g["sim_se"])
    row["ball"], row["ball_se"] = mean_err(g["ball"])
    row["R_M"], row["R_M_se"] = mean_err(g["R_M"])
    row["D_M"], row["D_M_se"] = mean_err(g["D_M"])
    row["K_max"] = int(g["K"].max())
    gauss_rows.append(row)
gauss = pd.DataFrame(gauss_rows).sort_values("r").reset_index(drop=True)
gauss["gap"] = (gauss["mftma"] - gauss["sim"]) / gauss["sim"]

for row in gauss.itertuples():
    err = math.hypot(row.mftma_se, row.sim_se)
    assert abs(row.mftma - row.sim) <= n_sigma * err + mean_field_allowance * row.sim, (
        f"clouds of radius {row.r}: MFTMA {row.mftma:.4f} +/- {row.mftma_se:.4f} vs simulated "
        f"{row.sim:.4f} +/- {row.sim_se:.4f}; allowed {n_sigma} SE + {mean_field_allowance:.0%}"
    )
    assert abs(row.mftma - row.ball) <= n_sigma * row.mftma_se + ball_relation_allowance * row.mftma, (
        f"clouds of radius {row.r}: MFTMA {row.mftma:.4f} vs ball approximation alpha_Ball(R_M={row.R_M:.3f}, "
        f"D_M={row.D_M:.2f}) = {row.ball:.4f}; allowed {n_sigma} SE + {ball_relation_allowance:.0%}"
    )
for a, b in zip(gauss.iloc[:-1].itertuples(), gauss.iloc[1:].itertuples(), strict=True):
    rise = b.mftma - a.mftma
    assert rise <= n_sigma * math.hypot(a.mftma_se, b.mftma_se), (
        f"capacity rose from {a.mftma:.4f} (r={a.r}) to {b.mftma:.4f} (r={b.r}): larger manifolds must not be "
        "easier to separate"
    )
    assert b.R_M - a.R_M >= -n_sigma * math.hypot(a.R_M_se, b.R_M_se), (
        f"anchor radius fell from {a.R_M:.4f} (r={a.r}) to {b.R_M:.4f} (r={b.r}) although the clouds grew"
    )
first, last = gauss.iloc[0], gauss.iloc[-1]
if len(gauss) > 1 and last["r"] >= 2 * first["r"]:
    assert first["mftma"] - last["mftma"] > n_sigma * math.hypot(first["mftma_se"], last["mftma_se"]), (
        f"capacity did not fall significantly between r={first['r']} ({first['mftma']:.4f}) and "
        f"r={last['r']} ({last['mftma']:.4f})"
    )
for name, row in (("small", first), ("large", last)):
    for key in ("r", "mftma", "mftma_se", "sim", "sim_se", "R_M", "D_M", "ball"):
        glue(f"gauss_{name}_{key}", float(row[key]), display=False)
glue("gauss_max_gap", float(gauss["gap"].abs().max()), display=False)
glue("gauss_K_max", int(gauss["K_max"].max()), display=False)
glue("gauss_mean_field_allowance", float(mean_field_allowance), display=False)
gauss.round(4)

# %% tags=["hide-input"]
def long_form(columns, label):
    out = gauss[["r", columns[0], columns[1]]].rename(columns={columns[0]: "value", columns[1]: "se"})
    return out.assign(series=label)


methods = ["MFTMA", "simulated", "α_Ball(R_M, D_M)"]
cap_data = pd.concat([long_form(("mftma", "mftma_se"), methods[0]), long_form(("sim", "sim_se"), methods[1]),
                      long_form(("ball", "ball_se"), methods[2])])
cap_data["err2"] = ERR_BAR * cap_data["se"]
panels = [
    plots.line_with_errorbars(cap_data, "r", "value", "series", err="err2", log_x=True, domain=methods,
                              x_title="cloud radius r", y_title="capacity α", group_title="estimate",
                              title="capacity", width=260, height=220),
    plots.line_with_errorbars(gauss.assign(err2=ERR_BAR * gauss["R_M_se"]), "r", "R_M", err="err2", log_x=True,
                              x_title="cloud radius r", y_title="anchor radius R_M", title="radius",
                              width=200, height=220),
    plots.line_with_errorbars(gauss.assign(err2=ERR_BAR * gauss["D_M_se"]), "r", "D_M", err="err2", log_x=True,
                              x_title="cloud radius r", y_title="anchor dimension D_M", title="dimension",
                              width=200, height=220),
]
gauss_chart = alt.hconcat(*panels)
glue("fig_gauss", gauss_chart, display=False)

# %% [markdown]
# ```{glue:figure} fig_gauss
# :name: fig-gauss
#
# Random Gaussian clouds of growing radius ($P$ = {glue:text}`gauss_P`, $M$ = {glue:text}`gauss_M` points,
# $D$ = {glue:text}`gauss_D`, $N$ = {glue:text}`gauss_N`). Left: mean-field capacity, simulated capacity
# $P/n^\ast$ and the ball approximation of Eq. {eq}`eq-ball-relation`; middle and right: the anchor radius and
# dimension. Means over seeds, $\pm 2$ standard errors. Hover for values.
# ```
#
# From the smallest clouds ($r =$ {glue:text}`gauss_small_r`) to the largest ($r =$ {glue:text}`gauss_large_r`)
# the mean-field capacity falls from {glue:text}`gauss_small_mftma:.3f` $\pm$ {glue:text}`gauss_small_mftma_se:.3f`
# to {glue:text}`gauss_large_mftma:.3f` $\pm$ {glue:text}`gauss_large_mftma_se:.3f`, and the simulation agrees
# ({glue:text}`gauss_small_sim:.3f` $\pm$ {glue:text}`gauss_small_sim_se:.3f` and {glue:text}`gauss_large_sim:.3f`
# $\pm$ {glue:text}`gauss_large_sim_se:.3f`; the largest relative gap is {glue:text}`gauss_max_gap:.1%`, where the
# check allows {glue:text}`gauss_mean_field_allowance:.0%` for finite size plus the statistical error). Meanwhile
# the anchor radius grows from {glue:text}`gauss_small_R_M:.3f` to {glue:text}`gauss_large_R_M:.3f` and the anchor
# dimension from {glue:text}`gauss_small_D_M:.2f` to {glue:text}`gauss_large_D_M:.2f`: small clouds are separated
# by their few most extreme points, large ones by many directions at once. A ball with the same $R_M$ and $D_M$
# has nearly the same capacity ({glue:text}`gauss_small_ball:.3f` and {glue:text}`gauss_large_ball:.3f`).
# (The largest number of shared center directions removed by the solver was {glue:text}`gauss_K_max`.)
#
# This is how the later chapters read their measurements: when an attack or the network's noise makes the
# responses to one image spread out, the exemplar manifold's radius and dimension grow and its capacity falls.
#
# ## Exercises
#
# ````{exercise}
# :label: ex-segment
#
# Without running anything, predict the capacity at $\kappa = 0$ of segments of half-length $R = 1$ (relative to
# the center norm), and of discs ($D = 2$) of the same radius. Then check your prediction:
#
# ```python
# from advgeom.geometry import manifold_analysis
# from advgeom.geometry.synthetic import ball_manifolds
# manifold_analysis(ball_manifolds(P=20, R=1.0, D=1, M=2), n_t=400).capacity
# ```
# ````
#
# ```{solution} ex-segment
# :class: dropdown
#
# At $R = 1$ and $\kappa = 0$ the ball capacity is $2/(D+1)$: exactly 1 for the segment and $2/3$ for the disc.
# Running the code above gives {glue:text}`ex_segment_mftma:.3f` $\pm$ {glue:text}`ex_segment_se:.3f` for the
# segment. A disc given by $M$ points is a polygon, so the solver returns slightly *more* than $2/3$
# ({glue:text}`ex_disc_mftma:.3f` with $M = 16$), approaching $2/3$ as $M$ grows.
# ```
#
# ```{exercise}
# :label: ex-huge
#
# Balls of dimension $D = 3$ become very large ($R \to \infty$). What capacity do they approach at $\kappa = 0$,
# and why does the answer not depend on $R$ any more? How many "effective points" is one such ball worth?
# ```
#
# ```{solution} ex-huge
# :class: dropdown
#
# In the embedded regime of Eq. {eq}`eq-ball` $F = r^2 + a^2$, so $\langle F\rangle \to D + 1/\alpha_0(\kappa)$ and
# $\alpha_{\mathrm{Ball}} \to 1/(D + 1/\alpha_0) = 1/3.5 \approx$ {glue:text}`ex_huge_limit:.4f`
# (`theory.ball_capacity(1e4, 3)` gives {glue:text}`ex_huge_big:.4f`). A huge ball must be classified along all
# of its $D$ directions and its center: it uses up $D + 1/\alpha_0 = 3.5$ dimensions, the same as 7 points at
# $\alpha_0 = 2$. Capacity can never fall below this: growing a manifold's radius beyond a few times its center
# norm changes little, growing its dimension always costs.
# ```

# %% tags=["remove-cell"]
ex_seg = manifold_analysis(ball_manifolds(P=20, R=1.0, D=1, M=2), n_t=400)
ex_disc = manifold_analysis(ball_manifolds(P=20, R=1.0, D=2, M=16), n_t=400)
glue("ex_segment_mftma", float(ex_seg.capacity), display=False)
glue("ex_segment_se", float(ex_seg.capacity_se), display=False)
glue("ex_disc_mftma", float(ex_disc.capacity), display=False)
glue("ex_huge_limit", float(1.0 / (3 + 1.0 / theory.alpha0(0.0))), display=False)
glue("ex_huge_big", float(theory.ball_capacity(1e4, 3)), display=False)
for name, value in (("gauss_P", gauss_P), ("gauss_M", gauss_M), ("gauss_D", gauss_D), ("gauss_N", gauss_N)):
    glue(name, int(value), display=False)
runtime = time.perf_counter() - _start
glue("runtime_s", float(runtime), display=False)

# %% [markdown]
# ## Summary
#
# The solver reproduces Cover's transition and $\alpha_c = 2$, Gardner's curve over positive and negative margins,
# the exact capacity and anchor radius of segments, the capacity of sampled spheres within their polytope bracket,
# and the simulated capacity of random clouds. Capacity falls as manifolds grow in radius and dimension, and
# $\alpha_{\mathrm{Ball}}(R_M, D_M)$ summarises it well. This page took {glue:text}`runtime_s:.0f` s to compute.
