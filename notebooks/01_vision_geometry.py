# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Finding 1: the geometry of adversarial perturbations in vision nets
#
# Adversarial examples are tiny input changes that flip a network's decision. Three kinds of network
# resist them differently: a **standard** network hardly at all; an **adversarially trained** network
# {cite:p}`madry2018towards` because it was trained on them; and a **stochastic** network with a
# V1-like front end {cite:p}`dapello2020simulating` — the VOneNet — whose neurons are noisy like
# biological neurons. {cite:t}`dapello2021neural` asked *how* each network achieves its robustness by
# looking at the geometry of its internal representations with manifold capacity
# {cite:p}`chung2018classification,cohen2020separability` (the previous chapter).
#
# We measure two kinds of object manifolds, layer by layer, as the attack strength $\epsilon$ grows:
#
# * **class manifolds**: for each of $P$ classes, the responses to $M$ adversarially perturbed images
#   of that class. Their capacity says how linearly separable the classes remain under attack;
# * **exemplar manifolds**: for each of $P$ images, the responses to $M$ perturbed versions of that one
#   image (attacks from different random starts and, in a stochastic net, fresh noise). Their radius
#   says how far an attack can move the representation of a single image.
#
# Every number below is computed when the chapter runs and glued into the prose; the assertions at the
# end of each section fail the run if a finding does not hold.

# %%
from functools import partial

import numpy as np
import pandas as pd
import torch
from IPython.display import display
from myst_nb import glue

from advgeom.analysis import (
    Protocol,
    accuracy_sweep,
    convergence_table,
    measure_grid,
    random_perturbation,
)
from advgeom.analysis.accuracy import pgd_scores
from advgeom.analysis.convergence import check_converged
from advgeom.analysis.protocol import exemplar_images, spread_subset
from advgeom.analysis.summaries import (
    assert_extended,
    assert_points,
    late_per_seed,
    layer_values,
    over_seeds,
    seed_difference,
    seed_estimate,
)
from advgeom.analysis.uncertainty import (
    check_difference,
    paired_interval,
    t_interval,
)
from advgeom.attacks import example_scores
from advgeom.book import charts
from advgeom.book.glue import glue_estimate, glue_number
from advgeom.data import class_balanced_subset, load_vision_dataset
from advgeom.models import is_stochastic
from advgeom.zoo import get_network

# %% tags=["parameters", "hide-input"]
dataset = "fashion-mnist"  # "fashion-mnist" (embedded) or "cifar10"
#   (needs data_root) | one of fashion-mnist, cifar10
data_root = ""  # folder of a user-supplied dataset ("" = the embedded
#   default) | length [0, 4096]
variants = ["standard", "adversarial", "vone", "vone_nonoise"]  # networks
#   to compare | each one of standard, adversarial, vone, vone_nonoise
#   | length [1, 4]
epochs = 0  # training epochs per model (0 = each variant's default
#   recipe) | in [0, 1000]
train_size = 0  # training images per model (0 = the whole training set)
#   | in [0, 60000]
eps_grid = [0.0, 0.03, 0.1]  # L-inf attack strengths of the geometry and
#   the accuracy sweep (0 = clean) | each in [0, 1] | length [1, 12]
eps_l2 = [0.0, 0.5, 1.5]  # L2 attack strengths for the accuracy sweep
#   | each in [0, 60] | length [1, 12]
eps_l1 = [0.0, 5.0, 15.0]  # L1 attack strengths for the accuracy sweep
#   | each in [0, 3072] | length [1, 12]
norms = ["linf", "l2", "l1"]  # norms of the accuracy sweep
#   | each one of linf, l2, l1 | length [1, 3]
n_accuracy = 250  # test images scored per (model, norm, eps)
#   | in [1, 10000]
n_classes = 10  # P of the class manifolds | in [2, 10]
per_class = 16  # M images per class manifold | in [2, 1000]
n_exemplars = 12  # P of the exemplar manifolds | in [2, 1000]
repeats = 12  # M perturbed versions per exemplar | in [2, 1000]
layers = []  # layers to analyse ([] = all: pixels, front end / noise,
#   each block, logits) | each length [1, 64] | length [0, 32]
width = 2000  # random-projection width for wider layers | in [2, 20000]
n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
seeds = [0, 1, 2, 3, 4]  # image subsets, attack starts, projections
#   and MFTMA samples | each in [0, 1e9] | length [1, 20]
eot = 8  # noise draws averaged per attack gradient on stochastic models
#   | in [1, 1000]
attack_steps = 20  # PGD steps (step size eps/4) | in [1, 10000]
deterministic_steps = 80  # PGD steps on the deterministic networks (a
#   step costs them one pass, not eot) | in [1, 10000]
deterministic_restarts = 4  # random starts per loss on the deterministic
#   networks (a fooled image leaves the attack) | in [1, 100]
n_draws = 16  # noise draws when scoring stochastic models | in [1, 1000]
n_convergence = 100  # test images of the attack-convergence check
#   (default vs 4x steps and 4x draws) | in [1, 10000]
convergence_steps = [1, 3, 10, 30]  # PGD steps of the convergence panel
#   | each in [1, 10000] | length [1, 12]
convergence_eot = [1, 4, 16]  # EOT draws of the convergence panel
#   (stochastic networks) | each in [1, 1000] | length [1, 12]
check_findings = True  # establish every finding (False for test-sized
#   runs: check only that none is contradicted)
margin = 0.05  # structural thresholds: a point manifold has radius < 1e-3
#   and capacity > 2 - margin | in [0, 1]


# %%
charts.setup_charts()
torch.manual_seed(0)
root = data_root or None
train_kw = {
    "epochs": epochs or None,
    "train_size": train_size or None,
    "data_root": root,
}
layer_list = list(layers) or None
test_set = load_vision_dataset(dataset, "test", root)
models = {
    name: get_network(name, dataset=dataset, progress=False, **train_kw)
    for name in variants
}
stochastic = [
    name for name, model in models.items() if is_stochastic(model)
]
deterministic = [name for name in variants if name not in stochastic]


# a finding: the interval of a difference excludes zero (see the note
# on uncertainty below)
finding = partial(check_difference, establish=check_findings)


# %% [markdown]
# ## The networks
#
# All four networks share a small ResNet back end trained from scratch on the training set. The two
# VOne variants put a fixed bank of Gabor filters sampled from primate V1 statistics in front of it
# (simple and complex cells, see the methods chapter); `vone` adds neuronal noise whose variance
# equals its mean, as Poisson spike counts have, and keeps it on at test time; `vone_nonoise` is the
# same network with the noise switched off, a control that separates the filters from the noise.
# `adversarial` is the standard architecture trained on fast (FGSM with random start) adversarial
# examples {cite:p}`wong2020fast`.

# %% tags=["hide-input"]
training = pd.DataFrame(
    [
        {
            "model": name,
            "epochs": len(m.train_history.get("epochs", [])) or None,
            "train seconds": round(
                float(m.train_history.get("train_seconds", float("nan"))),
                1,
            ),
        }
        for name, m in models.items()
    ]
)
display(charts.table(training))

# %% [markdown]
# ## Accuracy under attack
#
# Each network is attacked with projected gradient descent (PGD, {cite:t}`madry2018towards`) under
# the $L_\infty$, $L_2$ and $L_1$ norms. The stochastic network is attacked with *expectation over
# transformation* {cite:p}`athalye2018obfuscated`: every gradient step averages the gradient over
# several noise draws, otherwise the noise hides the gradient and inflates robustness. Its accuracy is
# averaged over fresh noise draws, scored separately from the attack. A step on a deterministic
# network costs one pass instead of `eot`, so the deterministic networks take `deterministic_steps`
# steps, four times as many at half the cost, from `deterministic_restarts` random starts (their only
# randomness; an image leaves the attack once fooled): in our runs the standard network's attack had not
# converged at `attack_steps` steps, nor from one start (the next section checks every network).
#
# **Uncertainty.** Every accuracy comes with its 95% interval over the test images; a difference
# between two networks (or two strengths) is computed on the same images, attack starts and scoring
# draws, and its interval is that of the paired per-image differences. A finding is asserted when the
# interval of its difference excludes zero on the predicted side.

# %%
x_acc, y_acc = class_balanced_subset(
    test_set, n_classes=10, per_class=max(1, n_accuracy // 10), seed=0
)
grids = {"linf": eps_grid, "l2": eps_l2, "l1": eps_l1}
attack = {
    "steps": attack_steps,
    "eot": eot,
    "n_draws": n_draws,
    "deterministic_steps": deterministic_steps,
    "deterministic_restarts": deterministic_restarts,
}
sweep = accuracy_sweep(
    models,
    {0: (x_acc, y_acc)},
    {norm: grids[norm] for norm in norms},
    progress=False,
    **attack,
)
acc = sweep.table
acc_table = charts.interval_cells(
    acc, "accuracy", ["norm", "eps"], "model", order=variants
)
display(charts.table(acc_table))
charts.publish(
    charts.with_interval(acc, "accuracy", ["model", "norm", "eps"]),
    "accuracy",
    "Accuracy under PGD (95% interval over the images)",
)
accuracy_chart = charts.faceted_lines(
    acc,
    "eps",
    "accuracy",
    "model",
    "norm",
    lo="lo",
    hi="hi",
    columns=3,
    sort=norms,
    domain=variants,
    title="Accuracy under PGD",
)
glue(
    "fig_accuracy",
    accuracy_chart.resolve_scale(x="independent"),
    display=False,
)

# %% [markdown]
# ```{glue:figure} fig_accuracy
# :name: fig-vision-accuracy
#
# Accuracy (fraction of test images classified correctly) against attack strength $\epsilon$ for each
# norm, with 95% intervals over the test images. Stochastic models are attacked with EOT and scored over
# fresh noise draws. Hover for values.
# ```

# %%
small_eps = sorted(e for e in eps_grid if e > 0)[0]
glue_number("small_eps", small_eps)
for name in variants:
    glue_estimate(f"clean_{name}", sweep.estimate(name, "linf", 0.0))
    glue_estimate(
        f"linf_small_{name}", sweep.estimate(name, "linf", small_eps)
    )


def gap(a: str, b: str, eps: float, norm: str = "linf"):
    """Accuracy of ``a`` minus ``b`` on the same images (paired)."""
    return sweep.difference((a, norm, eps), (b, norm, eps))


# Accuracy never rises with eps: no step of a grid is significantly up.
for name in variants:
    for norm in norms:
        grid = sorted(grids[norm])
        for lo_eps, hi_eps in zip(grid[:-1], grid[1:], strict=True):
            rise = sweep.difference(
                (name, norm, hi_eps), (name, norm, lo_eps)
            )
            check_difference(
                rise,
                f"{name} {norm} {lo_eps:g}->{hi_eps:g}",
                expect="negative",
                establish=False,
            )
if {"standard", "adversarial"} <= set(variants):
    glue_estimate(
        "gap_clean_std_at",
        finding(
            gap("standard", "adversarial", 0.0), "clean: standard > AT"
        ),
    )
    glue_estimate(
        "gap_small_at_std",
        finding(
            gap("adversarial", "standard", small_eps),
            "robust: AT > standard",
        ),
    )
if {"standard", "vone"} <= set(variants):
    glue_estimate(
        "gap_small_vone_std",
        finding(
            gap("vone", "standard", small_eps), "robust: VOne > standard"
        ),
    )
if {"vone", "vone_nonoise"} <= set(variants):
    glue_estimate(
        "gap_small_noise",
        finding(
            gap("vone", "vone_nonoise", small_eps), "robust: noise helps"
        ),
    )

# %% [markdown]
# Clean accuracy is {glue:text}`clean_standard:.3f` ± {glue:text}`clean_standard_half:.3f` for the
# standard network, {glue:text}`clean_vone:.3f` ± {glue:text}`clean_vone_half:.3f` for the stochastic
# VOne network and {glue:text}`clean_adversarial:.3f` ± {glue:text}`clean_adversarial_half:.3f` for the
# adversarially trained one. At $L_\infty$ $\epsilon =$ {glue:text}`small_eps:g` the standard network
# falls to {glue:text}`linf_small_standard:.3f` ± {glue:text}`linf_small_standard_half:.3f`, while the
# adversarially trained network keeps {glue:text}`linf_small_adversarial:.3f` ±
# {glue:text}`linf_small_adversarial_half:.3f` and the stochastic network {glue:text}`linf_small_vone:.3f`
# ± {glue:text}`linf_small_vone_half:.3f` (attacked with EOT). Without its noise, the same VOne front
# end keeps only {glue:text}`linf_small_vone_nonoise:.3f` ± {glue:text}`linf_small_vone_nonoise_half:.3f`:
# the noise adds {glue:text}`gap_small_noise:.3f` ± {glue:text}`gap_small_noise_half:.3f` (paired over
# the same images), so much of the stochastic network's robustness comes from the noise itself, not from
# the Gabor filters.
#
# ## Is the attack strong enough?
#
# A robustness number is only as good as the attack behind it {cite:p}`carlini2019evaluating`: if more
# steps or more noise draws per step lowered the accuracy further, the network would look more robust
# than it is. On `n_convergence` test images we attack every network at $L_\infty$ $\epsilon =$
# {glue:text}`small_eps:g` with `convergence_steps` PGD steps (at the chapter's `eot` draws) and, for
# the stochastic network, `convergence_eot` draws (at the chapter's `attack_steps` steps), and with the
# strongest setting, four times the chapter's steps (`attack_steps`; `deterministic_steps` for the
# deterministic networks) and four times the draws (the random starts, `deterministic_restarts`, for
# the deterministic networks). The chapter's setting must be within one accuracy point of the strongest.

# %%
x_conv, y_conv = spread_subset(
    x_acc, y_acc, n_convergence
)  # every class takes its turn
conv = convergence_table(
    models,
    x_conv,
    y_conv,
    eps=small_eps,
    steps=attack_steps,
    eot=eot,
    deterministic_steps=deterministic_steps,
    deterministic_restarts=deterministic_restarts,
    steps_grid=convergence_steps,
    eot_grid=convergence_eot,
    n_draws=n_draws,
    progress=False,
)
pgd_rows = conv[conv.attack == "pgd"]
by_steps = pgd_rows[
    (
        pgd_rows.eot
        == pgd_rows.model.map(lambda m: eot if m in stochastic else 1)
    )
    | pgd_rows.strongest
]
steps_chart = charts.line_with_errorbars(
    by_steps,
    "steps",
    "accuracy",
    "model",
    lo="lo",
    hi="hi",
    log_x=True,
    domain=variants,
    title="PGD steps",
    width=260,
)
by_eot = pgd_rows[
    pgd_rows.model.isin(stochastic)
    & ((pgd_rows.steps == attack_steps) | pgd_rows.strongest)
]
eot_chart = charts.line_with_errorbars(
    by_eot,
    "eot",
    "accuracy",
    "model",
    lo="lo",
    hi="hi",
    log_x=True,
    domain=variants,
    title="EOT draws per step",
    width=260,
)
glue("fig_convergence", steps_chart | eot_chart, display=False)
strongest = conv[conv.strongest].set_index("model")
display(
    charts.table(
        strongest[
            ["steps", "eot", "accuracy", "diff", "diff_lo", "diff_hi"]
        ]
    )
)
charts.publish(
    charts.with_interval(pgd_rows, "accuracy", ["model", "steps", "eot"]),
    "convergence",
    f"Accuracy at L-inf eps={small_eps:g} against PGD steps, EOT draws",
    identifiers=["steps", "eot"],
)
for name in variants:
    glue_number(f"conv_diff_{name}", strongest.loc[name, "diff"])
glue_number("conv_worst", strongest["diff"].min())
if check_findings:
    check_converged(conv, tolerance=0.01)

# %% [markdown]
# ```{glue:figure} fig_convergence
# :name: fig-vision-convergence
#
# Accuracy at $L_\infty$ $\epsilon$ = `small_eps` against the number of PGD steps (left; the
# rightmost point of each line is the strongest setting, four times the steps and draws) and against the
# EOT draws per step of the stochastic network (right), on the same images and scoring draws, with 95%
# intervals over the images.
# ```
#
# Four times the steps and four times the draws (or starts) lower the accuracy by at most
# {glue:text}`conv_worst:.3f` (a negative number is a drop) for any network: the chapter's attack
# (`attack_steps` steps with `eot` draws; `deterministic_steps` steps from `deterministic_restarts`
# starts on the deterministic networks) is converged, and the robustness above is not an artefact of a
# weak attack. The methods chapter repeats this check with more steps and an independent attack
# (AutoAttack).
#
# ## Class and exemplar manifolds, layer by layer
#
# For each seed we draw the same images for every network: $P =$ `n_classes` classes of `per_class`
# images for the class manifolds, and `n_exemplars` images perturbed `repeats` times each for the
# exemplar manifolds. Layers wider than `width` units are randomly projected. We also perturb the
# exemplars with *random* directions of the same $L_\infty$ norm as the strongest attack: a control
# showing that it is the adversarial direction, not the perturbation size, that moves representations.
# Every value is the mean over the seeds with its 95% interval (a t interval over the seeds; with a
# single seed, the interval of MFTMA's sampling error).

# %%
class_inputs = {
    s: class_balanced_subset(
        test_set, n_classes=n_classes, per_class=per_class, seed=s
    )
    for s in seeds
}
# n_exemplars images spread over the classes, a different draw per seed
exemplar_inputs = {
    s: exemplar_images(test_set, n_exemplars, 10, seed=100 + s)
    for s in seeds
}
common = {
    "norm": "linf",
    "attack_steps": attack_steps,
    "eot": eot,
    "width": width,
    "n_t": n_t,
}
class_geo = measure_grid(
    models,
    class_inputs,
    [Protocol(manifold="class", eps=e, **common) for e in eps_grid]
    + [
        Protocol(
            manifold="class",
            eps=max(eps_grid),
            perturbation="random",
            **common,
        )
    ],
    layers=layer_list,
    deterministic_steps=deterministic_steps,
    progress=False,
)
exemplar_geo = measure_grid(
    models,
    exemplar_inputs,
    [
        Protocol(manifold="exemplar", eps=e, repeats=repeats, **common)
        for e in eps_grid
    ]
    + [
        Protocol(
            manifold="exemplar",
            eps=max(eps_grid),
            repeats=repeats,
            perturbation="random",
            **common,
        )
    ],
    layers=layer_list,
    deterministic_steps=deterministic_steps,
    progress=False,
)

# %% tags=["hide-input"]
metrics = ["capacity", "radius", "dimension", "center_correlation"]
class_mean, ex_mean = (
    over_seeds(class_geo, metrics),
    over_seeds(exemplar_geo, metrics),
)
for metric in metrics:
    for kind, summary in (("class", class_mean), ("exemplar", ex_mean)):
        adversarial_rows = summary[summary.perturbation == "adversarial"]
        chart = charts.layer_lines(
            adversarial_rows,
            metric,
            lo=f"{metric}_lo",
            hi=f"{metric}_hi",
            sort=variants,
            title=f"{kind.capitalize()} manifolds: {metric}",
        )
        glue(f"fig_{kind}_{metric}", chart, display=False)
ids = ["model", "perturbation", "eps", "layer", "depth"]
charts.publish(
    pd.concat(
        [
            charts.long_form(class_mean, metrics, ids).assign(
                manifold="class"
            ),
            charts.long_form(ex_mean, metrics, ids).assign(
                manifold="exemplar"
            ),
        ],
        ignore_index=True,
    ),
    "geometry",
    "Class and exemplar manifolds by layer (mean over seeds, 95%)",
)

# %% [markdown]
# ```{glue:figure} fig_exemplar_radius
# :name: fig-exemplar-radius
#
# Exemplar-manifold radius across the layers (from the pixels to the logits), one panel per network,
# one line per attack strength $\epsilon$ (means over seeds, 95% intervals). A deterministic network
# maps the $M$ copies of a clean image ($\epsilon = 0$) to a single point.
# ```
#
# ```{glue:figure} fig_exemplar_capacity
# :name: fig-exemplar-capacity
#
# Exemplar-manifold capacity (the largest number of manifolds per neuron that a random dichotomy can
# still separate; 2 for points) across the layers.
# ```
#
# ```{glue:figure} fig_class_capacity
# :name: fig-class-capacity
#
# Class-manifold capacity across the layers. Capacity rising with depth is *untangling*: the
# network makes classes more separable layer by layer. Attacks lower it in late layers.
# ```
#
# ```{glue:figure} fig_class_radius
# :name: fig-class-radius
#
# Class-manifold radius across the layers.
# ```
#
# ```{glue:figure} fig_class_dimension
# :name: fig-class-dimension
#
# Class-manifold dimension across the layers.
# ```
#
# ```{glue:figure} fig_class_center_correlation
# :name: fig-class-center-correlation
#
# Correlation between class-manifold centers across the layers.
# ```

# %% [markdown]
# ## The geometric signature of each network
#
# We read the signatures from the last two layers (the last block and the logits), where the decision
# is made. Each seed measures every network and strength on the same images, so a difference is paired
# over the seeds.

# %%
eps_max = max(eps_grid)
glue_number("eps_max", eps_max)
adv = exemplar_geo[exemplar_geo.perturbation == "adversarial"]
late = {
    (m, e, metric): late_per_seed(adv, m, e, metric)
    for m in variants
    for e in eps_grid
    for metric in ("radius", "capacity")
}
signature = pd.DataFrame(
    [
        {
            "model": m,
            "eps": e,
            **{
                k: seed_estimate(late[(m, e, k)]).format()
                for k in ("radius", "capacity")
            },
        }
        for m in variants
        for e in eps_grid
    ]
)
display(
    charts.table(
        signature.pivot(
            index="eps", columns="model", values=["radius", "capacity"]
        )
    )
)

# 1. Clean exemplar manifolds: points in deterministic nets, extended
#    in the stochastic net (structural).
clean_ex = ex_mean[
    (ex_mean.perturbation == "adversarial") & np.isclose(ex_mean.eps, 0)
]
assert_points(clean_ex, deterministic, margin)
assert_extended(clean_ex[clean_ex.depth >= 2], stochastic, margin)

# 2. Standard net: late-layer exemplar radius grows, capacity falls.
if "standard" in variants:
    for e, label in ((small_eps, "small"), (eps_max, "max")):
        glue_estimate(
            f"std_radius_{label}",
            seed_estimate(late[("standard", e, "radius")]),
        )
        glue_estimate(
            f"std_capacity_{label}",
            seed_estimate(late[("standard", e, "capacity")]),
        )
    grow = seed_difference(
        late[("standard", eps_max, "radius")],
        late[("standard", small_eps, "radius")],
    )
    fall = seed_difference(
        late[("standard", eps_max, "capacity")],
        late[("standard", small_eps, "capacity")],
    )
    glue_estimate(
        "std_radius_growth",
        finding(grow, "standard: radius grows with eps"),
    )
    glue_estimate(
        "std_capacity_fall",
        finding(fall, "standard: capacity falls with eps", "negative"),
    )

# 3. Adversarially trained net: smaller exemplar manifolds than the
#    standard net at the strongest attack.
if {"standard", "adversarial"} <= set(variants):
    smaller = seed_difference(
        late[("standard", eps_max, "radius")],
        late[("adversarial", eps_max, "radius")],
    )
    glue_estimate(
        "at_radius_max",
        seed_estimate(late[("adversarial", eps_max, "radius")]),
    )
    glue_estimate(
        "at_radius_gap",
        finding(smaller, "AT: smaller exemplar manifolds than standard"),
    )

# 4. Stochastic net: wide already at eps=0, smaller relative change
#    with eps than the standard net.
if {"standard", "vone"} <= set(variants):

    def relative_change(model: str) -> pd.DataFrame:
        top, zero = (
            late[(model, eps_max, "radius")],
            late[(model, 0.0, "radius")],
        )
        change = (top.value - zero.value) / top.value
        return pd.DataFrame(
            {"value": change, "se": np.hypot(top.se, zero.se) / top.value}
        )

    glue_estimate(
        "vone_radius_clean", seed_estimate(late[("vone", 0.0, "radius")])
    )
    glue_estimate(
        "vone_radius_max",
        seed_estimate(late[("vone", eps_max, "radius")]),
    )
    glue_estimate(
        "vone_rel_change", seed_estimate(relative_change("vone"))
    )
    glue_estimate(
        "std_rel_change", seed_estimate(relative_change("standard"))
    )
    calmer = seed_difference(
        relative_change("standard"), relative_change("vone")
    )
    glue_estimate(
        "rel_change_gap",
        finding(calmer, "VOne: smaller relative change than standard"),
    )

# %% [markdown]
# **Standard network.** A clean image is a point in every layer. Attacks from different random starts
# push its copies to different places, and the exemplar manifold grows with $\epsilon$: in the last
# layers its radius goes from {glue:text}`std_radius_small:.3f` ± {glue:text}`std_radius_small_half:.3f`
# at the smallest attack to {glue:text}`std_radius_max:.3f` ± {glue:text}`std_radius_max_half:.3f` at the
# largest (a growth of {glue:text}`std_radius_growth:.3f` ± {glue:text}`std_radius_growth_half:.3f`,
# paired over seeds), while its capacity falls from {glue:text}`std_capacity_small:.3f` to
# {glue:text}`std_capacity_max:.3f` (by {glue:text}`std_capacity_fall:.3f` ±
# {glue:text}`std_capacity_fall_half:.3f`).
#
# **Adversarially trained network.** Trained to keep its decisions inside the $\epsilon$-ball, it
# keeps exemplar manifolds small: at the largest attack their late-layer radius is
# {glue:text}`at_radius_max:.3f` ± {glue:text}`at_radius_max_half:.3f`, {glue:text}`at_radius_gap:.3f`
# ± {glue:text}`at_radius_gap_half:.3f` below the standard network's.
#
# **Stochastic network.** Its exemplar manifolds are already wide on clean inputs (radius
# {glue:text}`vone_radius_clean:.3f` ± {glue:text}`vone_radius_clean_half:.3f` in the late layers),
# because the noise spreads each image's representation. The attack adds comparatively little: radius
# {glue:text}`vone_radius_max:.3f` at the largest $\epsilon$, a relative change of
# {glue:text}`vone_rel_change:.2f` ± {glue:text}`vone_rel_change_half:.2f` against
# {glue:text}`std_rel_change:.2f` ± {glue:text}`std_rel_change_half:.2f` for the standard network.
# Clean and adversarial representations overlap — the signature the trade-off chapter quantifies.

# %% [markdown]
# ## Untangling and the random-perturbation control

# %%
clean_class = class_geo[
    (class_geo.perturbation == "adversarial")
    & np.isclose(class_geo.eps, 0)
]
first_depth, last_depth = clean_class.depth.min(), clean_class.depth.max()
untangling = {}
for name in variants:
    first = layer_values(
        clean_class, name, 0.0, "capacity", [first_depth]
    )
    last = layer_values(clean_class, name, 0.0, "capacity", [last_depth])
    untangling[name] = (seed_estimate(first), seed_estimate(last))
    finding(
        seed_difference(last, first),
        f"{name}: class capacity rises from pixels to logits",
    )
glue_number(
    "class_capacity_pixels",
    np.mean([first.value for first, _ in untangling.values()]),
)
glue_number(
    "class_capacity_logits_min",
    min(last.value for _, last in untangling.values()),
)

if "standard" in variants:
    std = models["standard"]
    x_rand = random_perturbation(x_acc, "linf", eps_max, seed=0)
    scores_random = example_scores(std, x_rand, y_acc)
    scores_adv = pgd_scores(
        std, x_acc, y_acc, eps=eps_max, norm="linf", **attack
    )
    glue_estimate("std_acc_random", t_interval(scores_random))
    glue_estimate("std_acc_adv_max", t_interval(scores_adv))
    random_class = class_geo[(class_geo.perturbation == "random")]
    adv_class = class_geo[
        (class_geo.perturbation == "adversarial")
        & np.isclose(class_geo.eps, eps_max)
    ]
    cap_random = layer_values(
        random_class, "standard", eps_max, "capacity", [last_depth]
    )
    cap_adv = layer_values(
        adv_class, "standard", eps_max, "capacity", [last_depth]
    )
    glue_estimate("std_class_capacity_random", seed_estimate(cap_random))
    glue_estimate("std_class_capacity_adv", seed_estimate(cap_adv))
    random_ex = exemplar_geo[exemplar_geo.perturbation == "random"]
    radius_random = seed_estimate(
        late_per_seed(random_ex, "standard", eps_max, "radius")
    )
    radius_adv = seed_estimate(late[("standard", eps_max, "radius")])
    glue_estimate("std_radius_random", radius_random)
    glue_estimate("std_radius_adv", radius_adv)
    glue_number(
        "std_radius_ratio", radius_random.value / radius_adv.value
    )
    # The control: a random perturbation of the same L-inf size neither
    # fools the network nor collapses the separability of its class
    # manifolds at the logits; the attack does both.
    finding(
        paired_interval(scores_random, scores_adv),
        "random perturbations do not fool the network",
    )
    finding(
        seed_difference(cap_random, cap_adv),
        "random perturbations keep the logits' class capacity",
    )

# %% [markdown]
# On clean images every network *untangles* its classes: class capacity is about
# {glue:text}`class_capacity_pixels:.3f` at the pixels and at least
# {glue:text}`class_capacity_logits_min:.3f` at the logits.
#
# The random-perturbation control separates the *size* of a perturbation from its *direction*. A
# random $L_\infty$ perturbation of $\epsilon =$ {glue:text}`eps_max:g` leaves the standard network
# accurate ({glue:text}`std_acc_random:.3f` ± {glue:text}`std_acc_random_half:.3f`, against
# {glue:text}`std_acc_adv_max:.3f` ± {glue:text}`std_acc_adv_max_half:.3f` under the attack) and keeps
# its class manifolds separable at the logits (capacity {glue:text}`std_class_capacity_random:.3f` ±
# {glue:text}`std_class_capacity_random_half:.3f`, against {glue:text}`std_class_capacity_adv:.3f` ±
# {glue:text}`std_class_capacity_adv_half:.3f` under the attack). Note what the exemplar radius does
# *not* show: random perturbations spread the copies of an image over a radius of
# {glue:text}`std_radius_random:.3f` in the late layers, against {glue:text}`std_radius_adv:.3f` for the
# attacks (a ratio of {glue:text}`std_radius_ratio:.2f`): by its size alone, the exemplar manifold of a
# harmless perturbation is hard to tell from that of a fatal one (attacks from different random starts
# also converge on similar adversarial directions, which keeps their spread from growing further; with
# small test parameters the random spread can even be the larger). A wide exemplar manifold is not by
# itself a vulnerability; where it points, relative to the other classes, is what the class-manifold
# capacity measures.
#
# ## Try it
#
# Re-run this chapter with other parameters, for example a finer attack grid:
#
# ```bash
# advgeom run 01_vision_geometry -p eps_grid "[0, 0.01, 0.03, 0.1, 0.2]"
# ```
#
# ```{exercise} Where does the noise act?
# :label: ex-vision-noise-layer
#
# The stochastic network's clean exemplar manifolds are points at the pixels. At which layer do they
# first get a radius, and why there? Check your answer in the exemplar-radius figure.
# ```
#
# ```{solution} ex-vision-noise-layer
# :class: dropdown
#
# At the VOne front end (depth 1), where the neuronal noise is added: everything before it is
# deterministic, and every later layer inherits the spread of the noisy responses.
# ```
