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
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue

from advgeom.analysis import Protocol, accuracy_sweep, measure_grid, random_perturbation
from advgeom.analysis.protocol import exemplar_images
from advgeom.analysis.summaries import (
    assert_extended,
    assert_points,
    assert_untangling,
    late_mean,
    median_over_seeds,
)
from advgeom.attacks import accuracy
from advgeom.book import charts
from advgeom.data import class_balanced_subset, load_vision_dataset
from advgeom.models import is_stochastic
from advgeom.zoo import get_network

# %% tags=["parameters"]
dataset = "fashion-mnist"  # "fashion-mnist" (embedded) or "cifar10" (needs data_root) | one of fashion-mnist, cifar10
data_root = ""  # folder of a user-supplied dataset ("" = the embedded default) | length [0, 4096]
variants = ["standard", "adversarial", "vone", "vone_nonoise"]  # networks to compare
#   | each one of standard, adversarial, vone, vone_nonoise | length [1, 4]
epochs = 0  # training epochs per model (0 = each variant's default recipe) | in [0, 1000]
train_size = 0  # training images per model (0 = the whole training set) | in [0, 60000]
eps_grid = [0.0, 0.03, 0.1]  # L-inf attack strengths of the geometry and the accuracy sweep (0 = clean)
#   | each in [0, 1] | length [1, 12]
eps_l2 = [0.0, 0.5, 1.5]  # L2 attack strengths for the accuracy sweep | each in [0, 60] | length [1, 12]
eps_l1 = [0.0, 5.0, 15.0]  # L1 attack strengths for the accuracy sweep | each in [0, 3072] | length [1, 12]
norms = ["linf", "l2", "l1"]  # norms of the accuracy sweep | each one of linf, l2, l1 | length [1, 3]
n_accuracy = 250  # test images scored per (model, norm, eps) | in [1, 10000]
n_classes = 10  # P of the class manifolds | in [2, 10]
per_class = 16  # M images per class manifold | in [2, 1000]
n_exemplars = 12  # P of the exemplar manifolds | in [2, 1000]
repeats = 12  # M perturbed versions per exemplar | in [2, 1000]
layers = []  # layers to analyse ([] = all: pixels, front end / noise, each block, logits)
#   | each length [1, 64] | length [0, 32]
width = 2000  # random-projection width for wider layers | in [2, 20000]
n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
seeds = [0, 1, 2]  # image subsets, attack starts, projections and MFTMA samples | each in [0, 1e9] | length [1, 20]
eot = 8  # noise draws averaged per attack gradient on stochastic models | in [1, 1000]
attack_steps = 10  # PGD steps (step size eps/4) | in [1, 10000]
n_draws = 16  # noise draws when scoring stochastic models | in [1, 1000]
margin = 0.05  # smallest geometric difference we call a finding (DESIGN: below ~0.05 is fragile) | in [0, 1]

# %%
charts.setup_charts()
torch.manual_seed(0)
root = data_root or None
train_kw = {"epochs": epochs or None, "train_size": train_size or None, "data_root": root}
layer_list = list(layers) or None
test_set = load_vision_dataset(dataset, "test", root)
models = {name: get_network(name, dataset=dataset, progress=False, **train_kw) for name in variants}
stochastic = [name for name, model in models.items() if is_stochastic(model)]
deterministic = [name for name in variants if name not in stochastic]

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

# %%
training = pd.DataFrame(
    [
        {"model": name, "epochs": len(m.train_history.get("epochs", [])) or None,
         "train seconds": round(float(m.train_history.get("train_seconds", float("nan"))), 1)}
        for name, m in models.items()
    ]
)  # fmt: skip
display(training)

# %% [markdown]
# ## Accuracy under attack
#
# Each network is attacked with projected gradient descent (PGD, {cite:t}`madry2018towards`) under
# the $L_\infty$, $L_2$ and $L_1$ norms. The stochastic network is attacked with *expectation over
# transformation* {cite:p}`athalye2018obfuscated`: every gradient step averages the gradient over
# several noise draws, otherwise the noise hides the gradient and inflates robustness. Its accuracy is
# averaged over fresh noise draws, scored separately from the attack.

# %%
x_acc, y_acc = class_balanced_subset(test_set, n_classes=10, per_class=max(1, n_accuracy // 10), seed=0)
grids = {"linf": eps_grid, "l2": eps_l2, "l1": eps_l1}
acc = accuracy_sweep(
    models, x_acc, y_acc, {norm: grids[norm] for norm in norms}, steps=attack_steps, eot=eot, n_draws=n_draws,
    progress=False,
)
acc_table = acc.pivot_table(index=["norm", "eps"], columns="model", values="accuracy").reindex(columns=variants)
display(acc_table.style.format("{:.3f}"))
glue(
    "fig_accuracy",
    charts.faceted_lines(acc, "eps", "accuracy", "norm", "model", columns=3, title="Accuracy under PGD"),
    display=False,
)

# %% [markdown]
# ```{glue:figure} fig_accuracy
# :name: fig-vision-accuracy
#
# Accuracy (fraction of test images classified correctly) against attack strength $\epsilon$ for each
# norm. Stochastic models are attacked with EOT and scored over fresh noise draws. Hover for values.
# ```

# %%
clean = acc[acc.eps == 0].groupby("model")["accuracy"].mean()
small_eps = sorted(e for e in eps_grid if e > 0)[0]
linf_small = acc[(acc.norm == "linf") & (acc.eps == small_eps)].set_index("model")["accuracy"]
for name in variants:
    glue(f"clean_{name}", float(clean[name]), display=False)
    glue(f"linf_small_{name}", float(linf_small[name]), display=False)
glue("small_eps", float(small_eps), display=False)

# Accuracy never rises with eps (up to the scoring noise of stochastic models).
for (model, norm), group in acc.groupby(["model", "norm"]):
    values = group.sort_values("eps")["accuracy"].to_numpy()
    slack = 0.02 if model in stochastic else 1e-9
    assert np.all(np.diff(values) <= slack), f"{model} {norm}: accuracy rises with eps {values}"
if {"standard", "adversarial"} <= set(variants):
    assert clean["standard"] > clean["adversarial"], "clean accuracy: standard should beat adversarially trained"
    assert linf_small["adversarial"] > linf_small["standard"] + 0.2, linf_small
if {"standard", "vone"} <= set(variants):
    assert linf_small["vone"] > linf_small["standard"] + 0.1, linf_small
if {"vone", "vone_nonoise"} <= set(variants):
    assert linf_small["vone"] > linf_small["vone_nonoise"], "removing the noise should cost robustness"

# %% [markdown]
# Clean accuracy is {glue:text}`clean_standard:.3f` for the standard network,
# {glue:text}`clean_vone:.3f` for the stochastic VOne network and {glue:text}`clean_adversarial:.3f`
# for the adversarially trained one. At $L_\infty$ $\epsilon =$ {glue:text}`small_eps:.2f` the standard
# network falls to {glue:text}`linf_small_standard:.3f`, while the adversarially trained network keeps
# {glue:text}`linf_small_adversarial:.3f` and the stochastic network {glue:text}`linf_small_vone:.3f`
# (attacked with EOT). Without its noise, the same VOne front end keeps only
# {glue:text}`linf_small_vone_nonoise:.3f`: much of the stochastic network's robustness comes from the
# noise itself, not from the Gabor filters.

# %% [markdown]
# ## Class and exemplar manifolds, layer by layer
#
# For each seed we draw the same images for every network: $P =$ `n_classes` classes of `per_class`
# images for the class manifolds, and `n_exemplars` images perturbed `repeats` times each for the
# exemplar manifolds. Layers wider than `width` units are randomly projected. We also perturb the
# exemplars with *random* directions of the same $L_\infty$ norm as the strongest attack: a control
# showing that it is the adversarial direction, not the perturbation size, that moves representations.

# %%
class_inputs = {s: class_balanced_subset(test_set, n_classes=n_classes, per_class=per_class, seed=s) for s in seeds}
# n_exemplars images spread over the classes, a different draw per seed
exemplar_inputs = {s: exemplar_images(test_set, n_exemplars, 10, seed=100 + s) for s in seeds}
common = {"norm": "linf", "attack_steps": attack_steps, "eot": eot, "width": width, "n_t": n_t}
class_geo = measure_grid(
    models,
    class_inputs,
    [Protocol(manifold="class", eps=e, **common) for e in eps_grid]
    + [Protocol(manifold="class", eps=max(eps_grid), perturbation="random", **common)],
    layers=layer_list,
    progress=False,
)
exemplar_geo = measure_grid(
    models,
    exemplar_inputs,
    [Protocol(manifold="exemplar", eps=e, repeats=repeats, **common) for e in eps_grid]
    + [Protocol(manifold="exemplar", eps=max(eps_grid), repeats=repeats, perturbation="random", **common)],
    layers=layer_list,
    progress=False,
)


# %%
class_med, ex_med = median_over_seeds(class_geo), median_over_seeds(exemplar_geo)
for metric in ("capacity", "radius", "dimension", "center_correlation"):
    for kind, med in (("class", class_med), ("exemplar", ex_med)):
        chart = charts.layer_lines(med[med.perturbation == "adversarial"], metric, sort=variants,
                                   title=f"{kind.capitalize()} manifolds: {metric}")  # fmt: skip
        glue(f"fig_{kind}_{metric}", chart, display=False)
layer_order = class_med.drop_duplicates("depth").sort_values("depth")
layer_key = ", ".join(f"{d} = `{n}`" for d, n in zip(layer_order.depth, layer_order.layer, strict=True))
display(Markdown(f"Layers by depth: {layer_key}"))

# %% [markdown]
# ```{glue:figure} fig_exemplar_radius
# :name: fig-exemplar-radius
#
# Exemplar-manifold radius against layer depth (0 = pixels, last = logits), one panel per network,
# one line per attack strength $\epsilon$ (medians over seeds). A deterministic network maps the $M$
# copies of a clean image ($\epsilon = 0$) to a single point.
# ```
#
# ```{glue:figure} fig_exemplar_capacity
# :name: fig-exemplar-capacity
#
# Exemplar-manifold capacity (the largest number of manifolds per neuron that a random dichotomy can
# still separate; 2 for points) against layer depth.
# ```
#
# ```{glue:figure} fig_class_capacity
# :name: fig-class-capacity
#
# Class-manifold capacity against layer depth. Capacity rising with depth is *untangling*: the
# network makes classes more separable layer by layer. Attacks lower it in late layers.
# ```
#
# ```{glue:figure} fig_class_radius
# :name: fig-class-radius
#
# Class-manifold radius against layer depth.
# ```
#
# ```{glue:figure} fig_class_dimension
# :name: fig-class-dimension
#
# Class-manifold dimension against layer depth.
# ```
#
# ```{glue:figure} fig_class_center_correlation
# :name: fig-class-center-correlation
#
# Correlation between class-manifold centers against layer depth.
# ```

# %% [markdown]
# ## The geometric signature of each network
#
# We read the signatures from the last two layers (the last block and the logits), where the decision
# is made, as medians over seeds.

# %%
eps_max = max(eps_grid)
adv = ex_med[ex_med.perturbation == "adversarial"]
signature = pd.DataFrame(
    [
        {"model": m, "eps": e, "radius": late_mean(adv, m, e, "radius"), "capacity": late_mean(adv, m, e, "capacity")}
        for m in variants
        for e in eps_grid
    ]
)
display(signature.pivot_table(index="eps", columns="model", values=["radius", "capacity"]).round(3))

# 1. Clean exemplar manifolds: points in deterministic nets, extended in the stochastic net.
clean_ex = adv[np.isclose(adv.eps, 0)]
assert_points(clean_ex, deterministic, margin)
assert_extended(clean_ex[clean_ex.depth >= 2], stochastic, margin)

# 2. Standard net: late-layer exemplar radius grows and capacity falls with eps.
if "standard" in variants:
    r = signature[signature.model == "standard"].set_index("eps")
    assert r.radius[eps_max] > r.radius[small_eps] + margin, r
    assert r.capacity[eps_max] < r.capacity[small_eps] - margin, r
    glue("std_radius_small", float(r.radius[small_eps]), display=False)
    glue("std_radius_max", float(r.radius[eps_max]), display=False)
    glue("std_capacity_small", float(r.capacity[small_eps]), display=False)
    glue("std_capacity_max", float(r.capacity[eps_max]), display=False)

# 3. Adversarially trained net: smaller exemplar manifolds than the standard net at matched eps,
#    wherever the standard net's manifolds are large enough for a difference of `margin` to be resolved.
if {"standard", "adversarial"} <= set(variants):
    s = signature.set_index(["model", "eps"])
    resolved = [e for e in eps_grid if e > 0 and s.radius["standard", e] > 2 * margin]
    assert eps_max in resolved, f"the standard net's exemplar radius never exceeds {2 * margin} (eps too small?)"
    for e in resolved:
        assert s.radius["adversarial", e] < s.radius["standard", e] - margin, (e, s)
    glue("at_radius_max", float(s.radius["adversarial", eps_max]), display=False)

# 4. Stochastic net: wide already at eps=0, smaller relative change with eps than the standard net.
if {"standard", "vone"} <= set(variants):
    s = signature.set_index(["model", "eps"])
    rel_vone = (s.radius["vone", eps_max] - s.radius["vone", 0.0]) / s.radius["vone", eps_max]
    rel_std = (s.radius["standard", eps_max] - s.radius["standard", 0.0]) / s.radius["standard", eps_max]
    assert s.radius["vone", 0.0] > margin, s
    assert rel_vone < rel_std - margin, (rel_vone, rel_std)
    glue("vone_radius_clean", float(s.radius["vone", 0.0]), display=False)
    glue("vone_radius_max", float(s.radius["vone", eps_max]), display=False)
    glue("vone_rel_change", float(rel_vone), display=False)
    glue("std_rel_change", float(rel_std), display=False)

# %% [markdown]
# **Standard network.** A clean image is a point in every layer. Attacks from different random starts
# push its copies to different places, and the exemplar manifold grows with $\epsilon$: in the last
# layers its radius goes from {glue:text}`std_radius_small:.3f` at the smallest attack to
# {glue:text}`std_radius_max:.3f` at the largest, while its capacity falls from
# {glue:text}`std_capacity_small:.3f` to {glue:text}`std_capacity_max:.3f`.
#
# **Adversarially trained network.** Trained to keep its decisions inside the $\epsilon$-ball, it
# keeps exemplar manifolds small: at the largest attack their late-layer radius is
# {glue:text}`at_radius_max:.3f`, well below the standard network's.
#
# **Stochastic network.** Its exemplar manifolds are already wide on clean inputs (radius
# {glue:text}`vone_radius_clean:.3f` in the late layers), because the noise spreads each image's
# representation. The attack adds comparatively little: radius {glue:text}`vone_radius_max:.3f` at
# the largest $\epsilon$, a relative change of {glue:text}`vone_rel_change:.2f` against
# {glue:text}`std_rel_change:.2f` for the standard network. Clean and adversarial representations
# overlap — the signature the trade-off chapter quantifies.

# %% [markdown]
# ## Untangling and the random-perturbation control

# %%
clean_class = class_med[np.isclose(class_med.eps, 0)]
untangled = assert_untangling(clean_class, variants, margin)
glue("class_capacity_pixels", float(untangled["first"].mean()), display=False)
glue("class_capacity_logits_min", float(untangled["last"].min()), display=False)

random_ctl = ex_med[ex_med.perturbation == "random"]
random_class = class_med[class_med.perturbation == "random"]
adv_class = class_med[(class_med.perturbation == "adversarial") & np.isclose(class_med.eps, eps_max)]
logits_depth = class_med.depth.max()
if "standard" in variants:
    std = models["standard"]
    x_rand = random_perturbation(x_acc, "linf", eps_max, seed=0)
    acc_random = accuracy(std, x_rand, y_acc)
    linf_rows = acc[(acc.model == "standard") & (acc.norm == "linf")]
    acc_adv = float(linf_rows[np.isclose(linf_rows.eps, eps_max)].accuracy.iloc[0])

    def logits_capacity(frame: pd.DataFrame) -> float:
        return float(frame[(frame.model == "standard") & (frame.depth == logits_depth)].capacity.iloc[0])

    cap_random, cap_adv = logits_capacity(random_class), logits_capacity(adv_class)
    glue("std_acc_random", float(acc_random), display=False)
    glue("std_acc_adv_max", float(acc_adv), display=False)
    glue("std_class_capacity_random", float(cap_random), display=False)
    glue("std_class_capacity_adv", float(cap_adv), display=False)
    radius_random = late_mean(random_ctl, "standard", eps_max, "radius")
    radius_adv = late_mean(adv, "standard", eps_max, "radius")
    glue("std_radius_random", float(radius_random), display=False)
    glue("std_radius_adv", float(radius_adv), display=False)
    glue("std_radius_ratio", float(radius_random / radius_adv), display=False)
    glue("eps_max", float(eps_max), display=False)
    # The control: a random perturbation of the same L-inf size neither fools the network nor
    # collapses the separability of its class manifolds at the logits; the attack does both.
    assert acc_random > acc_adv + 0.2, (acc_random, acc_adv)
    assert cap_random > cap_adv + margin, (cap_random, cap_adv)

# %% [markdown]
# On clean images every network *untangles* its classes: class capacity is about
# {glue:text}`class_capacity_pixels:.3f` at the pixels and at least
# {glue:text}`class_capacity_logits_min:.3f` at the logits.
#
# The random-perturbation control separates the *size* of a perturbation from its *direction*. A
# random $L_\infty$ perturbation of $\epsilon =$ {glue:text}`eps_max:g` leaves the standard network
# accurate ({glue:text}`std_acc_random:.3f`, against {glue:text}`std_acc_adv_max:.3f` under the attack)
# and keeps its class manifolds separable at the logits (capacity
# {glue:text}`std_class_capacity_random:.3f`, against {glue:text}`std_class_capacity_adv:.3f` under the
# attack). Note what the exemplar radius does *not* show: random perturbations spread the copies of an
# image over a radius of {glue:text}`std_radius_random:.3f` in the late layers, against
# {glue:text}`std_radius_adv:.3f` for the attacks (a ratio of {glue:text}`std_radius_ratio:.2f`): by
# its size alone, the exemplar manifold of a harmless perturbation is hard to tell from that of a fatal
# one (attacks from different random starts also converge on similar adversarial directions, which
# keeps their spread from growing further; with small test parameters the random spread can even be the
# larger). A wide exemplar manifold is not by itself a vulnerability; where it points, relative to the
# other classes, is what the class-manifold capacity measures.
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
