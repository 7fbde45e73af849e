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
# # Finding 3: the clean-versus-adversarial trade-off of stochasticity
#
# Noise makes a network robust, but it is not free: the stochastic VOne network of the vision chapter
# is less accurate on clean images than the standard one. {cite:t}`dapello2021neural` explain both
# effects with two competing geometric consequences of the noise:
#
# 1. **overlap** — noise spreads the representation of every image, so the representations of a clean
#    image and of its adversarial versions overlap: an attacker's small push disappears inside the
#    noise cloud (robustness goes up);
# 2. **inflation** — the same spread inflates the class manifolds, so the classes become less
#    separable: class-manifold capacity falls (clean accuracy goes down).
#
# Here we sweep the noise scale of the VOne network from 0 (no noise) upward, train one network per
# level, and measure both accuracies and both geometric effects at each level. A small regression then
# asks how much of each accuracy each effect explains.

# %%
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from advgeom.analysis import Protocol, accuracy_sweep, measure_grid
from advgeom.analysis.protocol import exemplar_images
from advgeom.book import charts
from advgeom.data import class_balanced_subset, load_vision_dataset
from advgeom.zoo import get_network

# %% tags=["parameters"]
dataset = "fashion-mnist"  # "fashion-mnist" (embedded) or "cifar10" (needs data_root) | one of fashion-mnist, cifar10
data_root = ""  # folder of a user-supplied dataset ("" = the embedded default) | length [0, 4096]
noise_grid = [0.0, 0.5, 1.0, 2.0, 4.0]  # VOne noise scales (multiplies the neuronal noise std; 0 = off)
#   | each in [0, 100] | length [1, 12]
epochs = 0  # training epochs per model (0 = the default recipe) | in [0, 1000]
train_size = 0  # training images per model (0 = the whole training set) | in [0, 60000]
norm = "linf"  # attack norm | one of linf, l2, l1
eps = 0.05  # the fixed small attack strength | in [0, 3072]
n_accuracy = 250  # test images scored per model | in [1, 10000]
n_classes = 10  # P of the clean class manifolds | in [2, 10]
per_class = 20  # M images per class manifold | in [2, 1000]
n_exemplars = 12  # images whose clean / adversarial exemplar manifolds are compared | in [2, 1000]
repeats = 12  # M draws per exemplar manifold | in [2, 1000]
layer = "logits"  # the layer where overlap and inflation are read ("logits" or another layer name) | length [1, 64]
width = 2000  # random-projection width for wider layers | in [2, 20000]
n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
seeds = [0, 1, 2]  # image subsets, attack starts, projections and MFTMA samples | each in [0, 1e9] | length [1, 20]
eot = 8  # noise draws averaged per attack gradient | in [1, 1000]
attack_steps = 10  # PGD steps (step size eps/4) | in [1, 10000]
n_draws = 16  # noise draws when scoring stochastic models | in [1, 1000]
compare_adversarial = True  # also place the adversarially trained network on the trade-off
margin = 0.02  # smallest difference we call a finding | in [0, 1]

# %%
charts.setup_charts()
root = data_root or None
train_kw = {"epochs": epochs or None, "train_size": train_size or None, "data_root": root}
test_set = load_vision_dataset(dataset, "test", root)
models = {
    f"noise {s:g}": get_network("vone", dataset=dataset, noise_scale=float(s), progress=False, **train_kw)
    for s in noise_grid
}
scale_of = {f"noise {s:g}": float(s) for s in noise_grid}

# %% [markdown]
# ## Accuracy across the noise sweep
#
# Each network is scored on the same images, clean and under an $L_\infty$ PGD attack with expectation
# over transformation (EOT), averaging accuracy over fresh noise draws.

# %%
x_acc, y_acc = class_balanced_subset(test_set, n_classes=10, per_class=max(1, n_accuracy // 10), seed=0)
attack = {"steps": attack_steps, "eot": eot, "n_draws": n_draws, "progress": False}
acc = accuracy_sweep(models, x_acc, y_acc, {norm: [0.0, eps]}, **attack)
acc["noise"] = acc.model.map(scale_of)
acc["condition"] = np.where(acc.eps == 0, "clean", f"adversarial (eps={eps:g})")
wide = acc.pivot_table(index="noise", columns="eps", values="accuracy").rename(
    columns={0.0: "clean", eps: "adversarial"}
)
display(wide.round(3))

if compare_adversarial:
    at_model = {"adversarial": get_network("adversarial", dataset=dataset, progress=False, **train_kw)}
    at = accuracy_sweep(at_model, x_acc, y_acc, {norm: [0.0, eps]}, **attack)
    at_clean, at_adv = (float(at[at.eps == e].accuracy.iloc[0]) for e in (0.0, eps))
    glue("at_clean", float(at_clean), display=False)
    glue("at_adv", float(at_adv), display=False)

# %% [markdown]
# ## The two geometric effects
#
# **Overlap.** For each of `n_exemplars` images we compare its *clean* exemplar manifold (`repeats`
# passes of the clean image: a point without noise, a cloud with it) with its *adversarial* exemplar
# manifold (`repeats` random-start attacks at the same $\epsilon$). We report the capacity of this
# two-manifold dichotomy (lower means harder to tell clean from adversarial apart) and the overlap
# $2 \times$ the held-out error of a nearest-centroid linear rule (0: separated, 1: indistinguishable).
#
# **Inflation.** On clean images, we measure class manifolds ($P$ classes $\times$ $M$ images each, one
# noise draw per image) with MFTMA: capacity, radius and dimension.

# %%
common = {"norm": norm, "attack_steps": attack_steps, "eot": eot, "width": width, "n_t": n_t}
exemplar_inputs = {s: exemplar_images(test_set, n_exemplars, 10, seed=100 + s) for s in seeds}
class_inputs = {s: class_balanced_subset(test_set, n_classes=n_classes, per_class=per_class, seed=s) for s in seeds}
ov = measure_grid(models, exemplar_inputs, [Protocol(manifold="exemplar", eps=eps, repeats=repeats, **common)],
                  kind="overlap", layers=[layer], progress=False)  # fmt: skip
cl = measure_grid(models, class_inputs, [Protocol(manifold="class", **common)], layers=[layer], progress=False)
geo = ov[["model", "seed", "overlap", "pair_capacity"]].merge(
    cl[["model", "seed", "capacity", "radius", "dimension"]].rename(
        columns={"capacity": "class_capacity", "radius": "class_radius", "dimension": "class_dimension"}
    ),
    on=["model", "seed"],
)
geo.insert(0, "noise", geo.pop("model").map(scale_of))
geo_med = geo.groupby("noise", as_index=False).median(numeric_only=True).drop(columns="seed")
display(geo_med.round(3))

# %%
acc_long = acc[["noise", "condition", "accuracy"]].rename(columns={"condition": "series", "accuracy": "value"})
acc_long["panel"] = "accuracy"
geo_long = geo.melt(id_vars=["noise", "seed"], value_vars=["overlap", "class_capacity"], var_name="series")
geo_long["panel"] = geo_long.series.map({"overlap": "overlap (robustness)", "class_capacity": "class capacity (clean)"})
stats = geo_long.groupby(["panel", "series", "noise"], as_index=False)["value"].agg(["median", "std"]).reset_index()
side_by_side = pd.concat(
    [acc_long.assign(median=acc_long.value, std=0.0)[["panel", "series", "noise", "median", "std"]], stats],
    ignore_index=True,
)
glue(
    "fig_tradeoff",
    charts.faceted_lines(side_by_side, "noise", "median", "panel", "series", err="std", columns=3,
                        title="Noise: accuracy, overlap and class capacity"),
    display=False,
)  # fmt: skip

# %% [markdown]
# ```{glue:figure} fig_tradeoff
# :name: fig-tradeoff
#
# Left: clean and adversarial accuracy against the noise scale. Middle: overlap of clean and
# adversarial exemplar manifolds at the analysed layer (median over seeds; bars: spread across
# seeds). Right: clean class-manifold capacity at the same layer. Noise raises overlap (robustness)
# and lowers class capacity (clean accuracy).
# ```

# %% [markdown]
# ## How much of each accuracy does each effect explain?
#
# Across noise levels and seeds we regress each accuracy on the two standardised geometric measures,
# and report the variance explained by each measure alone ($R^2$ of a one-variable fit) and together.

# %%
table = geo.merge(wide.reset_index(), on="noise")


def r_squared(target: np.ndarray, *predictors: np.ndarray) -> float:
    """Coefficient of determination of a least-squares fit of target on the predictors (with intercept)."""
    design = np.column_stack([np.ones_like(target), *predictors])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    total = np.sum((target - target.mean()) ** 2)
    return float(1 - residual @ residual / total) if total > 0 else float("nan")


explained = pd.DataFrame(
    [
        {"accuracy": acc_name,
         "overlap alone": r_squared(table[acc_name].to_numpy(), table.overlap.to_numpy()),
         "class capacity alone": r_squared(table[acc_name].to_numpy(), table.class_capacity.to_numpy()),
         "both": r_squared(table[acc_name].to_numpy(), table.overlap.to_numpy(), table.class_capacity.to_numpy())}
        for acc_name in ("clean", "adversarial")
    ]
).set_index("accuracy")  # fmt: skip
display(explained.round(3))
for acc_name in ("clean", "adversarial"):
    for col, key in (("overlap alone", "overlap"), ("class capacity alone", "capacity"), ("both", "both")):
        glue(f"r2_{acc_name}_{key}", float(explained.loc[acc_name, col]), display=False)

# %% [markdown]
# ## Findings
#
# The assertions below fail the run if a finding does not hold at these parameters.

# %%
noise0, noise_max = min(noise_grid), max(noise_grid)
clean_by_noise, adv_by_noise = wide["clean"], wide["adversarial"]
best_noise = float(adv_by_noise.idxmax())
glue("clean_0", float(clean_by_noise[noise0]), display=False)
glue("clean_max", float(clean_by_noise[noise_max]), display=False)
glue("adv_0", float(adv_by_noise[noise0]), display=False)
glue("adv_best", float(adv_by_noise.max()), display=False)
glue("best_noise", float(best_noise), display=False)
glue("clean_best", float(clean_by_noise[best_noise]), display=False)
glue("noise_max", float(noise_max), display=False)
g = geo_med.set_index("noise")
glue("overlap_0", float(g.overlap[noise0]), display=False)
glue("overlap_max", float(g.overlap[noise_max]), display=False)
glue("capacity_0", float(g.class_capacity[noise0]), display=False)
glue("capacity_max", float(g.class_capacity[noise_max]), display=False)

assert clean_by_noise[noise0] > clean_by_noise[noise_max] + margin, f"clean accuracy should fall with noise\n{wide}"
assert adv_by_noise.max() > adv_by_noise[noise0] + margin and best_noise > noise0, (
    f"adversarial accuracy should be higher at some noise > 0 than without noise\n{wide}"
)
assert g.overlap[noise_max] > g.overlap[noise0] + margin, f"overlap should rise with noise\n{geo_med}"
assert g.class_capacity[noise_max] < g.class_capacity[noise0] - margin, f"class capacity should fall\n{geo_med}"

# %% [markdown]
# * **Clean accuracy falls with noise**: from {glue:text}`clean_0:.3f` without noise to
#   {glue:text}`clean_max:.3f` at noise scale {glue:text}`noise_max:g`.
# * **Adversarial accuracy first rises**: at $\epsilon$ = `eps` it is {glue:text}`adv_0:.3f` without
#   noise and peaks at {glue:text}`adv_best:.3f` at noise scale {glue:text}`best_noise:g`, the best
#   trade-off point of this sweep, where clean accuracy is still {glue:text}`clean_best:.3f`.
# * **Overlap rises with noise**: the overlap of clean and adversarial exemplar manifolds goes from
#   {glue:text}`overlap_0:.3f` to {glue:text}`overlap_max:.3f`.
# * **Class manifolds inflate**: clean class capacity falls from {glue:text}`capacity_0:.3f` to
#   {glue:text}`capacity_max:.3f`.
# * **Which effect explains which accuracy**: overlap alone explains $R^2 =$
#   {glue:text}`r2_adversarial_overlap:.2f` of the variance of adversarial accuracy, class capacity
#   alone $R^2 =$ {glue:text}`r2_clean_capacity:.2f` of clean accuracy; both together explain
#   {glue:text}`r2_clean_both:.2f` (clean) and {glue:text}`r2_adversarial_both:.2f` (adversarial).
#   With a one-dimensional sweep the two measures are correlated, so this regression describes, it
#   does not prove, which mechanism drives which accuracy.
#
# The adversarially trained network reaches {glue:text}`at_clean:.3f` clean and
# {glue:text}`at_adv:.3f` adversarial accuracy at the same attack: compare it with the best noise level
# on both axes in the table above.
#
# ## Try it
#
# ```bash
# advgeom run 03_tradeoff -p noise_grid "[0, 0.25, 0.5, 1, 2, 4, 8]"
# ```
#
# ```{exercise} Predict the extremes
# :label: ex-tradeoff-extremes
#
# What happens to clean and adversarial accuracy as the noise scale grows without bound? Which of the
# two geometric effects wins in that limit?
# ```
#
# ```{solution} ex-tradeoff-extremes
# :class: dropdown
#
# Both accuracies fall towards chance: the class manifolds inflate until they overlap each other
# (class capacity collapses), so even clean images are misclassified, and there is nothing left for
# an attacker to gain. Inflation wins; robustness only helps while the classes stay separable.
# ```
