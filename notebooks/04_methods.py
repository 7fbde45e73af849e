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
# (chapter-methods)=
# # Models and attacks
#
# The findings chapters compare four small vision networks under adversarial attack. This chapter opens
# them up and shows every moving part as a picture: the fixed **V1 front end** of the stochastic
# network {cite:p}`dapello2020simulating` (a bank of Gabor filters whose parameters are drawn from
# recordings of primate V1 {cite:p}`devalois1982orientation,devalois1982spatial,ringach2002spatial`),
# its **neuronal noise**, the **back end** and the four variants, and the **attacks**: projected
# gradient descent {cite:p}`madry2018towards` under three norms, with expectation over transformation
# (EOT) for the noisy network {cite:p}`athalye2018obfuscated`. It ends with adversarial images and
# what the networks make of them.
#
# Every number in the text is computed when the page is executed; the checks at the end of each
# section fail the run if a property stated here does not hold.

# %%
import math
import tomllib
import warnings

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown
from myst_nb import glue

warnings.filterwarnings(
    "ignore", message="IProgress not found"
)  # tqdm.auto in a kernel without ipywidgets

from advgeom.analysis import (
    Protocol,
    convergence_table,
    measure,
    pgd_scores,
)
from advgeom.analysis.convergence import check_converged
from advgeom.analysis.export import to_reference_schema
from advgeom.analysis.protocol import spread_subset
from advgeom.attacks import accuracy, pgd
from advgeom.book import charts
from advgeom.book.glue import glue_number
from advgeom.book.notebooks import notebooks_dir
from advgeom.data import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    class_balanced_subset,
    load_vision_dataset,
)
from advgeom.models import neuronal_noise, noise_modules, seeded_noise
from advgeom.models import vone as vone_module
from advgeom.models.noise import NeuronalNoise
from advgeom.zoo import build_network, get_network, list_networks
from advgeom.zoo.vision import training_recipe

# %% tags=["parameters", "hide-input"]
dataset = "fashion-mnist"  # data set of the models: "fashion-mnist"
#   (embedded) or "cifar10" (needs data_root)
#   | one of fashion-mnist, cifar10
data_root = ""  # folder of a user-supplied data set (empty: the embedded
#   default) | length [0, 4096]
epochs = 0  # training epochs per model (0: each variant's default recipe)
#   | in [0, 1000]
train_size = 0  # training images per model (0: the whole training set)
#   | in [0, 60000]
n_v1_samples = 5000  # receptive fields drawn to compare with the primate
#   histograms | in [1, 1000000]
n_noise_draws = 200  # noise draws per unit for the mean-variance relation
#   | in [2, 100000]
n_examples = 3  # test images shown under attack | in [1, 20]
n_eval = 100  # test images scored under attack | in [1, 10000]
eps_linf = 0.1  # L-inf attack radius (pixel values in [0, 1]) | in [0, 1]
eps_l2 = 1.5  # L2 attack radius | in [0, 60]
eps_l1 = 15.0  # L1 attack radius | in [0, 3072]
attack_steps = 16  # PGD steps (step size eps / 4) | in [1, 10000]
eot = 8  # noise draws averaged per attack gradient on the stochastic
#   network | in [1, 1000]
eps_eot = 0.03  # L-inf radius of the EOT comparison on the stochastic
#   network | in [0, 1]
noise_scale = 1.0  # multiplies the VOne noise standard deviation (1: the
#   network of the other chapters) | in [0, 100]
seed = 0  # image choice, attack starts and noise draws | in [0, 1e9]
conv_eps = 0.03  # L-inf radius of the attack-convergence panel (chapter
#   01's smallest attack) | in [0, 1]
n_accuracy = 250  # chapter 01's accuracy images, of which the convergence
#   panel takes n_convergence | in [1, 10000]
n_convergence = 100  # test images of the attack-convergence panel and of
#   AutoAttack | in [1, 10000]
convergence_steps = [1, 3, 10, 30, 100]  # PGD steps of the panel
#   | each in [1, 10000] | length [1, 12]
convergence_eot = [1, 4, 16, 32]  # EOT draws per step of the panel (the
#   stochastic networks) | each in [1, 1000] | length [1, 12]
chapter_steps = 20  # the PGD steps of chapters 01 and 03 (the setting the
#   panel checks) | in [1, 10000]
chapter_eot = 8  # their EOT draws | in [1, 1000]
chapter_deterministic_steps = 80  # their PGD steps on the deterministic
#   networks (a step costs them one pass, not chapter_eot) | in [1, 10000]
chapter_deterministic_restarts = 4  # their random starts per loss on the
#   deterministic networks | in [1, 100]
n_draws = 16  # noise draws when scoring the stochastic networks
#   | in [1, 1000]
autoattack = True  # also attack every network with AutoAttack's 'rand'
#   version (pyautoattack)
autoattack_iterations = 100  # its APGD iterations per loss (its own
#   budget: 100) | in [1, 10000]
autoattack_draws = 20  # its EOT draws per iteration on the stochastic
#   network (its own budget: 20) | in [1, 1000]
reference_per_class = 50  # M of the class manifolds compared with the
#   companion code's (P = 10 classes) | in [2, 1000]
check_findings = True  # assert that the chapters' attack is converged
#   (False for test-sized runs)


# %%
matplotlib.rcParams.update(
    {
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 9,
        "axes.titlesize": 9,
    }
)
torch.manual_seed(seed)
root = data_root or None
classes = (
    FASHION_MNIST_CLASSES
    if dataset == "fashion-mnist"
    else CIFAR10_CLASSES
)
test_set = load_vision_dataset(dataset, "test", root)
train_kw = {
    "epochs": epochs or None,
    "train_size": train_size or None,
    "data_root": root,
    "progress": False,
}
models = {
    "standard": get_network("standard", dataset=dataset, **train_kw),
    "vone": get_network(
        "vone", dataset=dataset, noise_scale=noise_scale, **train_kw
    ),
}
front = models["vone"].vone  # the VOne block: fixed filters + noise stage
x_eval, y_eval = class_balanced_subset(
    test_set, len(classes), max(1, n_eval // len(classes)), seed=seed
)
glue("n_eval", len(x_eval), display=False)

charts.setup_charts()  # charts render offline in the book


def show(fig, name: str) -> None:
    """Glue a matplotlib figure for {glue:figure} (shown only there)."""
    glue(name, fig, display=False)
    plt.close(fig)


# %% [markdown]
# ## The V1 front end
#
# The front end of the stochastic network is a fixed convolution with {glue:text}`n_filters` Gabor
# filters, the classic model of V1 simple-cell receptive fields: a sinusoidal grating of spatial
# frequency $f$, orientation $\theta$ and phase $\phi$ under a Gaussian envelope,
#
# $$
# G_{f,\theta,\phi}(x, y) = \frac{1}{2\pi\sigma_x\sigma_y}
# \exp\!\left(-\frac{x'^2}{2\sigma_x^2} - \frac{y'^2}{2\sigma_y^2}\right) \cos(2\pi f x' + \phi),
# $$
#
# in coordinates rotated by $\theta$, $x' = x\cos\theta + y\sin\theta$ and $y' = -x\sin\theta + y\cos\theta$,
# with the envelope given in cycles: $\sigma_x = n_x / f$ and $\sigma_y = n_y / f$. Half the channels are
# **simple cells**, the rectified response to one filter; the other half are **complex cells**, the
# energy of a quadrature pair of filters, which respond to an edge whatever its phase:
#
# $$
# \text{simple} = k\,\big[G_{\phi} * I\big]_+ ,
# \qquad
# \text{complex} = \frac{k}{\sqrt 2} \sqrt{(G_\phi * I)^2 + (G_{\phi+\pi/2} * I)^2} .
# $$
#
# The gain $k =$ {glue:text}`k_exc` sets the response scale in spike-count units. The image spans
# {glue:text}`fov_deg` degrees of visual field, which turns frequencies in cycles per degree into cycles
# per pixel.

# %% tags=["hide-input"]
n_filters = front.out_channels
glue("n_filters", n_filters, display=False)
glue("k_exc", front.k_exc, display=False)
glue("fov_deg", models["vone"].config["fov_deg"], display=False)
params = front.v1_params
simple = front.simple_channels
order = np.argsort(
    params["sf"]
)  # show the filters from low to high spatial frequency
cols = 8
rows = math.ceil(n_filters / cols)
fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.95, rows * 1.05))
for ax, i in zip(axes.flat, order, strict=False):
    kernel = int(
        front.q0[i].abs().flatten(1).sum(1).argmax()
    )  # the input channel this filter reads
    k = front.q0[i, kernel].numpy()
    lim = np.abs(k).max()
    ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
    kind = "S" if i < simple else "C"
    ax.set_title(
        f"{kind} {params['sf'][i]:.1f} c/°\n{params['theta'][i]:.0f}°",
        fontsize=7,
    )
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
show(fig, "fig_gabors")

# %% [markdown]
# ```{glue:figure} fig_gabors
# :name: fig-methods-gabors
#
# The {glue:text}`n_filters` Gabor filters of the front end (phase $\phi$ of each pair; red positive, blue
# negative), sorted by spatial frequency. Titles: S = simple cell, C = complex cell, preferred spatial
# frequency (cycles per degree) and orientation. The filters are fixed: they are not trained.
# ```
#
# The filter parameters are not chosen by hand: each is drawn from published histograms of primate V1
# neurons, preferred orientation {cite:p}`devalois1982orientation`, preferred spatial frequency
# {cite:p}`devalois1982spatial` and envelope shape $(n_x, n_y)$ {cite:p}`ringach2002spatial`, with the
# envelope size and the frequency correlated ($\rho = 0.75$ through a Gaussian copula) as in VOneNet
# {cite:p}`dapello2020simulating`. Frequencies above {glue:text}`sf_max` cycles/degree are left out for
# our small images. Drawing {glue:text}`n_v1_samples` receptive fields shows the sampler reproduces the
# histograms (the largest difference of a bin fraction is {glue:text}`hist_max_diff:.3f`) and the
# correlation (Spearman $\rho$ between $n_x$ and $f$: {glue:text}`nx_sf_rho:.2f`).

# %% tags=["hide-input"]
from scipy import stats

sf_max = models["vone"].config["sf_max"]
draw = vone_module.sample_v1_parameters(
    n_v1_samples, seed=seed + 1, sf_max=sf_max
)
glue("sf_max", sf_max, display=False)
glue("n_v1_samples", n_v1_samples, display=False)


def bin_fractions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(values, bins=edges)
    return counts / max(1, counts.sum())


ori_edges = vone_module.ORIENTATION_EDGES
theta = np.where(
    draw["theta"] >= ori_edges[-1], draw["theta"] - 180.0, draw["theta"]
)  # 157.5..180 is the 0 bin
sf_edges, sf_counts = vone_module.sf_histogram(
    sf_max=sf_max
)  # the bins the sampler draws from
nx_counts = vone_module.NXY_COUNTS.sum(axis=1)
ori_counts = vone_module.ORIENTATION_COUNTS
comparisons = {
    "orientation": (
        bin_fractions(theta, ori_edges),
        ori_counts / ori_counts.sum(),
    ),
    "spatial frequency": (
        bin_fractions(draw["sf"], sf_edges),
        sf_counts / sf_counts.sum(),
    ),
    "n_x": (
        bin_fractions(draw["nx"], vone_module.NXY_EDGES),
        nx_counts / nx_counts.sum(),
    ),
}
hist_max_diff = max(
    float(np.abs(a - b).max()) for a, b in comparisons.values()
)
nx_sf_rho = float(stats.spearmanr(draw["nx"], draw["sf"]).statistic)
glue("hist_max_diff", hist_max_diff, display=False)
glue("nx_sf_rho", nx_sf_rho, display=False)

fig, axes = plt.subplots(1, 4, figsize=(11, 2.6))
centers = {
    "orientation": ["0°", "45°", "90°", "135°"],
    "spatial frequency": [
        f"{a:g}–{b:g}"
        for a, b in zip(sf_edges[:-1], sf_edges[1:], strict=True)
    ],
    "n_x": [
        f"{a:.2f}–{b:.2f}"
        for a, b in zip(
            vone_module.NXY_EDGES[:-1],
            vone_module.NXY_EDGES[1:],
            strict=True,
        )
    ],
}
for ax, (name, (sampled, primate)) in zip(
    axes, comparisons.items(), strict=False
):
    pos = np.arange(len(primate))
    ax.bar(
        pos - 0.2, primate, width=0.4, label="primate V1", color="#999999"
    )
    ax.bar(
        pos + 0.2, sampled, width=0.4, label="sampled", color="#0072B2"
    )
    ax.set_xticks(
        pos,
        centers[name],
        rotation=45 if name != "orientation" else 0,
        ha="right" if name != "orientation" else "center",
        fontsize=7,
    )
    ax.set_title(
        {
            "orientation": "preferred orientation",
            "spatial frequency": "spatial frequency (c/°)",
            "n_x": "envelope width $n_x$ (cycles)",
        }[name]
    )
    ax.set_ylabel("fraction of cells")
axes[0].legend(frameon=False, fontsize=7, loc="lower left")
ax = axes[3]
ax.scatter(
    draw["nx"][:1500], draw["ny"][:1500], s=3, alpha=0.4, color="#0072B2"
)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("$n_x$")
ax.set_ylabel("$n_y$")
ax.set_title("envelope shape")
fig.tight_layout()
show(fig, "fig_v1_distributions")

# %% [markdown]
# ```{glue:figure} fig_v1_distributions
# :name: fig-methods-v1-distributions
#
# The receptive-field parameters of the front end against primate V1. Grey: the published histograms
# (fractions of cells per bin; spatial frequency restricted to the bins below the cut-off), blue:
# {glue:text}`n_v1_samples` draws of the sampler that builds the filters. Right: the envelope shape
# $(n_x, n_y)$ of the draws (Ringach's joint histogram; $n_x$ and $n_y$ are dependent).
# ```

# %%
if n_v1_samples >= 2000:
    # binomial standard error of a bin fraction is at most 0.5 / sqrt(n);
    # 4 of them is a generous bound
    assert hist_max_diff < 4 * 0.5 / math.sqrt(n_v1_samples), (
        hist_max_diff
    )
    assert 0.6 < nx_sf_rho < 0.85, nx_sf_rho

# %% [markdown]
# ## Neuronal noise
#
# What makes the network stochastic is the stage after the filters. Like spike counts of real neurons,
# whose variance grows with their mean (Poisson-like), each response $x$ is mapped to spike-count units
# $r = g\,x + o$ (gain $g =$ {glue:text}`noise_gain`, offset $o =$ {glue:text}`noise_offset`), given
# Gaussian noise whose **variance equals its mean**, mapped back and rectified:
#
# $$
# \tilde r = r + \sqrt{[r]_+ + \varepsilon}\; z,\quad z \sim \mathcal N(0, 1),
# \qquad
# \text{output} = \left[\frac{\tilde r - o}{g}\right]_+ .
# $$
#
# Writing the noise as $r + \sqrt{r}\,z$ (the *reparameterisation*) rather than drawing Poisson counts
# keeps the network differentiable, so that gradient attacks see it as it is; a Poisson sampler has a
# zero gradient and would make the network look robust for the wrong reason. The noise is drawn afresh
# at every forward pass, at training and at test time. Below, one test image, the clean response of one
# front-end channel, noisy draws of it and their average.

# %% tags=["hide-input"]
stage = next(
    m
    for m in noise_modules(models["vone"])
    if isinstance(m, NeuronalNoise)
)
glue("noise_gain", stage.gain, display=False)
glue("noise_offset", stage.offset, display=False)
image = x_eval[:1]
normalized = models["vone"].normalize(image)
with torch.no_grad():
    clean = front.gabor_responses(normalized)  # before the noise stage
    channel = int(
        clean[0].flatten(1).std(1).argmax()
    )  # the channel with the most spatial structure
    gen = torch.Generator().manual_seed(seed)
    draws = torch.stack(
        [
            torch.relu(
                neuronal_noise(
                    clean,
                    stage.scale,
                    gain=stage.gain,
                    offset=stage.offset,
                    eps=stage.eps,
                    generator=gen,
                )
            )
            for _ in range(n_noise_draws)
        ]
    )
fig, axes = plt.subplots(1, 6, figsize=(12, 2.3))
axes[0].imshow(
    image[0].permute(1, 2, 0).squeeze(-1).numpy(),
    cmap="gray",
    vmin=0,
    vmax=1,
)
axes[0].set_title(f"input ({classes[int(y_eval[0])]})")
panels = [torch.relu(clean), draws[0], draws[1], draws[2], draws.mean(0)]
titles = [
    "clean response",
    "noisy draw 1",
    "noisy draw 2",
    "noisy draw 3",
    f"mean of {n_noise_draws} draws",
]
vmax = float(max(p[0, channel].max() for p in panels))
for ax, resp, title in zip(axes[1:], panels, titles, strict=True):
    im = ax.imshow(
        resp[0, channel].numpy(), cmap="magma", vmin=0, vmax=vmax
    )
    ax.set_title(title)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes[1:].tolist(), shrink=0.8, label="response")
show(fig, "fig_noise_maps")

# %% [markdown]
# ```{glue:figure} fig_noise_maps
# :name: fig-methods-noise-maps
#
# Left: a test image. Then the response map of one front-end channel (number {glue:text}`noise_channel`,
# the one whose map varies most over the image) without noise, three draws of the noisy output that the
# back end receives, and their mean over {glue:text}`n_noise_draws` draws (same colour scale). Each
# draw keeps the outline, but single units fluctuate strongly; the average recovers the clean map.
# ```
#
# Over {glue:text}`n_noise_draws` draws the variance of each unit, in spike-count units, follows its
# mean: the median ratio of variance to mean over units with a mean above 1 is
# {glue:text}`fano_median:.3f` (a Poisson neuron has 1; the ratio is the square of the noise scale,
# {glue:text}`noise_scale` in this run) and the slope of $\log$ variance against
# $\log$ mean is {glue:text}`mv_slope:.3f`. The rectification at the end clips only units whose
# response is near zero.

# %% tags=["hide-input"]
glue("noise_channel", channel, display=False)
glue("noise_scale", stage.scale, display=False)
glue("n_noise_draws", n_noise_draws, display=False)
with torch.no_grad():
    gen = torch.Generator().manual_seed(seed + 1)
    reps = torch.stack(
        [
            neuronal_noise(
                clean,
                stage.scale,
                gain=stage.gain,
                offset=stage.offset,
                eps=stage.eps,
                generator=gen,
            )
            for _ in range(n_noise_draws)
        ]
    )
counts = (
    (stage.gain * reps + stage.offset).flatten(1).double()
)  # spike-count units, (draws, units)
mean, var = counts.mean(0).numpy(), counts.var(0).numpy()
active = mean > 1.0
fano = var[active] / mean[active]
slope = float(np.polyfit(np.log(mean[active]), np.log(var[active]), 1)[0])
glue("fano_median", float(np.median(fano)), display=False)
glue("mv_slope", slope, display=False)
rng = np.random.default_rng(seed)
shown = rng.choice(
    np.flatnonzero(active),
    size=min(3000, int(active.sum())),
    replace=False,
)
fig, ax = plt.subplots(figsize=(3.6, 3.2))
ax.scatter(
    mean[shown],
    var[shown],
    s=3,
    alpha=0.35,
    color="#0072B2",
    label="units",
)
line = np.array([mean[shown].min(), mean[shown].max()])
ax.plot(
    line,
    stage.scale**2 * line,
    color="#D55E00",
    label=f"variance = {stage.scale**2:g} x mean",
)
ax.set_xscale("log")
ax.set_yscale("log")
for axis in (ax.xaxis, ax.yaxis):
    axis.set_major_locator(
        matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0))
    )
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
ax.set_xlabel("mean response (spike counts)")
ax.set_ylabel("variance over draws")
ax.legend(frameon=False)
fig.tight_layout()
show(fig, "fig_mean_variance")

# %% [markdown]
# ```{glue:figure} fig_mean_variance
# :name: fig-methods-mean-variance
#
# Mean against variance of front-end units over {glue:text}`n_noise_draws` noise draws for one image
# (spike-count units, before rectification; a random subset of the units with mean above 1). The noise
# is Poisson-like: the variance is proportional to the mean (orange line; equal for noise scale 1).
# ```

# %%
if n_noise_draws >= 100 and stage.scale > 0:
    # the sample variance of n Gaussian draws has relative standard
    # error sqrt(2 / (n - 1))
    target = stage.scale**2
    assert abs(float(np.median(fano)) - target) < 3 * target * math.sqrt(
        2 / (n_noise_draws - 1)
    ), np.median(fano)
    assert abs(slope - 1) < 0.05, slope

# %% [markdown]
# ## The back end and the four variants
#
# Behind the front end every network has the same small ResNet back end {cite:p}`he2016deep,dapello2020simulating`:
# residual blocks of increasing width, global average pooling and a linear read-out of the
# {glue:text}`n_classes` classes. The variants differ only in front end and training:
#
# * **standard**: a 3x3 convolution as front end, trained on clean images;
# * **adversarial**: the same network trained on adversarial examples, fast FGSM with a random start
#   {cite:p}`wong2020fast` at $\epsilon =$ {glue:text}`at_eps` (the $L_\infty$ radius used in this book);
# * **vone**: the V1 front end with neuronal noise (on during training and testing), a 1x1 bottleneck,
#   then the back end, trained on clean images;
# * **vone_nonoise**: the same without noise, the control that separates the filters from the noise.
#
# The layers the geometry chapters measure are the input (`pixels`), the output of the front end
# (for VOne models: after the noise), each block and the logits.

# %% tags=["hide-input"]
glue("n_classes", len(classes), display=False)
glue(
    "at_eps",
    training_recipe("adversarial", dataset)["eps"],
    display=False,
)
rows = []
for variant in list_networks(
    "vision", source="trained"
):  # the zoo of small vision networks
    torch.manual_seed(0)
    net = build_network(variant, dataset=dataset).eval()
    recipe = training_recipe(variant, dataset, epochs or None)
    shapes = {}
    # run the stages one by one and record the output shape of each one
    with torch.no_grad():
        h = x_eval[:2]
        for name, stage_module in net.named_children():
            h = stage_module(h)
            if name in net.recorded:
                shapes[name] = tuple(h.shape[1:])
    noise = noise_modules(net)
    front_name = net.recorded[0]  # "stem" (3x3 convolution) or "vone"
    row = {
        "variant": variant,
        "front end": f"{front_name} "
        + "x".join(map(str, shapes[front_name])),
    }
    row.update(
        {
            name: "x".join(map(str, shapes[name]))
            for name in net.recorded[1:]
        }
    )
    n_epochs = recipe["epochs"]
    row.update(
        {
            "trained parameters": sum(
                p.numel() for p in net.parameters() if p.requires_grad
            ),
            "noise": f"neuronal x{noise[0].scale:g}"
            if noise and noise[0].scale > 0
            else "none",
            "training": (
                f"{recipe['adversarial'].upper()} adversarial, "
                f"eps {recipe['eps']:g}"
                if recipe["adversarial"]
                else "clean images"
            )
            + f", {n_epochs} epoch{'s' if n_epochs != 1 else ''}",
        }
    )
    rows.append(row)
variants_table = pd.DataFrame(rows).set_index("variant")
glue("tbl_variants", variants_table, display=False)

# %% [markdown]
# ```{glue:figure} tbl_variants
# :name: tbl-methods-variants
#
# The four networks: the output shape (channels x height x width) of each recorded layer (the front
# end: a 3x3 convolution, `stem`, or the V1 block, `vone`), the number of trained parameters (the VOne
# filters are fixed, not trained), the noise and the training recipe.
# ```

# %%
with torch.no_grad():
    clean_acc = {
        name: accuracy(m, x_eval, y_eval, seed=seed)
        for name, m in models.items()
    }
for name, value in clean_acc.items():
    glue(f"clean_{name}", value, display=False)
    glue(
        f"train_s_{name}",
        float(
            models[name].train_history.get("train_seconds", float("nan"))
        ),
        display=False,
    )

# %% [markdown]
# The two networks used below reach a clean accuracy of {glue:text}`clean_standard:.1%` (standard) and
# {glue:text}`clean_vone:.1%` (vone, averaged over noise draws) on {glue:text}`n_eval` test images; they
# trained in {glue:text}`train_s_standard:.0f` s and {glue:text}`train_s_vone:.0f` s (once; later runs load
# them from the cache).
#
# ## Projected gradient descent under three norms
#
# An attack looks for a perturbation $\delta$ in a small ball, $\lVert\delta\rVert_p \le \epsilon$, that
# maximises the loss $L$ of the network $f$ on the true label $y$. PGD {cite:p}`madry2018towards` starts
# at a uniformly random point of the ball and repeats a steepest-ascent step followed by a projection
# back onto the ball and the valid pixel range:
#
# $$
# x^{t+1} = \Pi_{\,\lVert x - x^0 \rVert_p \le \epsilon,\; x \in [0,1]^n}\!\left( x^t + \alpha\, s_p(g^t) \right),
# \qquad \alpha = \epsilon / 4 .
# $$
#
# The step direction $s_p$ is the steepest ascent direction for the norm:
#
# * $L_\infty$: $s_\infty(g) = \operatorname{sign}(g)$, and the projection clips each pixel change to
#   $[-\epsilon, \epsilon]$;
# * $L_2$: $s_2(g) = g / \lVert g \rVert_2$, and the projection rescales $\delta$ onto the sphere when outside;
# * $L_1$: *sparse $L_1$ descent* {cite:p}`tramer2019adversarial`: $s_1(g)_i = \operatorname{sign}(g_i)\,
#   \mathbb 1[\,|g_i| \ge q\text{-quantile of } |g|\,] / k$, a step on the few coordinates with the largest
#   gradient ($k$ of them, skipping pixels already at 0 or 1 that would move out of range), followed by
#   the exact Euclidean projection onto the $L_1$ ball {cite:p}`duchi2008efficient` (sort the magnitudes, find the
#   soft threshold).
#
# **EOT.** For the noisy network the loss is itself random. The attack follows the gradient of the
# *expected* loss, estimated by averaging over $K$ noise draws at each step
# {cite:p}`athalye2018obfuscated`:
#
# $$
# g^t = \frac{1}{K}\sum_{k=1}^{K} \nabla_x L\big(f(x^t; \xi_k), y\big),\qquad \xi_k \text{ fresh noise},
# $$
#
# with $K =$ {glue:text}`eot` here. With $K = 1$ each step follows one noisy gradient and the attack
# is weaker than it should be, which overstates the robustness of the noisy network. The noise enters
# after the fixed Gabor filter bank, $f(x;\xi) = h\big(v(x), \xi\big)$, so by the chain rule
# $g^t = J_v(x^t)^\top \frac{1}{K}\sum_k \nabla_v L\big(h(v(x^t); \xi_k), y\big)$: the filter bank runs
# forward and backward once per step and only the rest of the network $K$ times (the same gradient,
# about half the cost here; for the cochleagram of chapter 02, a third: `benchmarks/eot.py`). Over the
# {glue:text}`attack_steps` steps the attack keeps, for each image, the iterate with the largest
# margin (best wrong logit minus true logit). The attacked images are then scored separately, with
# the accuracy of the noisy network averaged over fresh noise draws.

# %%
glue("eot", eot, display=False)
glue("attack_steps", attack_steps, display=False)
norms = {"linf": eps_linf, "l2": eps_l2, "l1": eps_l1}
norm_label = {"linf": "$L_\\infty$", "l2": "$L_2$", "l1": "$L_1$"}
p_of = {"linf": float("inf"), "l2": 2.0, "l1": 1.0}
attack_kw = {"steps": attack_steps, "seed": seed}
adversarial = {
    ("standard", norm): pgd(
        models["standard"],
        x_eval,
        y_eval,
        eps=eps,
        norm=norm,
        **attack_kw,
    )
    for norm, eps in norms.items()
}
for k, key in ((eot, ("vone", "linf")), (1, ("vone", "linf", "eot1"))):
    adversarial[key] = pgd(
        models["vone"],
        x_eval,
        y_eval,
        eps=eps_eot,
        norm="linf",
        eot=k,
        **attack_kw,
    )

adv_acc = {
    key: accuracy(models[key[0]], x_adv, y_eval, seed=seed)
    for key, x_adv in adversarial.items()
}
rows = [
    {"model": name, "attack": "none (clean)", "accuracy": clean_acc[name]}
    for name in models
]
for norm, eps in norms.items():
    rows.append(
        {
            "model": "standard",
            "attack": f"{norm}, eps {eps:g}",
            "accuracy": adv_acc["standard", norm],
        }
    )
    glue(f"adv_standard_{norm}", adv_acc["standard", norm], display=False)
rows.append(
    {
        "model": "vone",
        "attack": f"linf, eps {eps_eot:g}, EOT over {eot} draws",
        "accuracy": adv_acc["vone", "linf"],
    }
)
rows.append(
    {
        "model": "vone",
        "attack": f"linf, eps {eps_eot:g}, one draw per step (no EOT)",
        "accuracy": adv_acc["vone", "linf", "eot1"],
    }
)
attack_table = pd.DataFrame(rows)
glue("adv_vone_linf", adv_acc["vone", "linf"], display=False)
glue("adv_vone_linf_eot1", adv_acc["vone", "linf", "eot1"], display=False)
glue("eps_eot", eps_eot, display=False)


def correct_per_image(
    model: torch.nn.Module, x: torch.Tensor, n_draws: int = 16
) -> torch.Tensor:
    """Per image, the fraction of noise draws classifying it correctly
    (the same draws for every input set)."""
    with seeded_noise(seed), torch.no_grad():
        return torch.stack(
            [
                (model(x).argmax(1) == y_eval).double()
                for _ in range(n_draws)
            ]
        ).mean(0)


# paired comparison of the two attacks on the same images and noise draws
gap = correct_per_image(
    models["vone"], adversarial["vone", "linf", "eot1"]
) - correct_per_image(models["vone"], adversarial["vone", "linf"])
eot_gap, eot_gap_se = (
    float(gap.mean()),
    float(gap.std() / math.sqrt(len(gap))),
)
glue("eot_gap", eot_gap, display=False)
glue("eot_gap_se", eot_gap_se, display=False)
# how much do the input gradients of single noise draws agree?
x_req = x_eval.clone().requires_grad_(True)
with seeded_noise(seed):
    grads = torch.stack(
        [
            torch.autograd.grad(
                torch.nn.functional.cross_entropy(
                    models["vone"](x_req), y_eval, reduction="sum"
                ),
                x_req,
            )[0].flatten(1)
            for _ in range(max(2, eot))
        ]
    )
grad_cos = float(
    torch.nn.functional.cosine_similarity(
        grads[0], grads[1], dim=1
    ).mean()
)
glue("grad_cos", grad_cos, display=False)
if eot_gap > 2 * eot_gap_se:
    verdict = (
        "The single-draw attack is measurably weaker: evaluated without "
        "EOT, the noisy network would look more robust than it is."
    )
else:
    verdict = (
        "Here the difference is within about two standard errors: for "
        "this network one draw already points the attack in a useful "
        "direction. EOT costs little and removes the doubt, and it "
        "matters more when the noise is larger relative to the signal."
    )
glue("eot_verdict", Markdown(verdict), display=False)
for norm, eps in norms.items():
    glue(f"eps_{norm}", eps, display=False)
    delta = (adversarial["standard", norm] - x_eval).flatten(1)
    glue(
        f"norm_max_{norm}",
        float(delta.norm(p=p_of[norm], dim=1).max()),
        display=False,
    )
glue(
    "tbl_attacks",
    attack_table.style.format({"accuracy": "{:.1%}"}).hide(axis="index"),
    display=False,
)

# %% [markdown]
# ```{glue:figure} tbl_attacks
# :name: tbl-methods-attacks
#
# Accuracy on {glue:text}`n_eval` test images, clean and under PGD ({glue:text}`attack_steps` steps): the
# standard network under each norm, the noisy network under $L_\infty$ ($\epsilon =$ {glue:text}`eps_eot`)
# with EOT over {glue:text}`eot` draws and, in the last row, with a single draw per step (it is always
# scored over fresh draws).
# ```
#
# Under attack the standard network falls from {glue:text}`clean_standard:.1%` to
# {glue:text}`adv_standard_linf:.1%` ($L_\infty$, $\epsilon =$ {glue:text}`eps_linf`),
# {glue:text}`adv_standard_l2:.1%` ($L_2$, $\epsilon =$ {glue:text}`eps_l2`) and
# {glue:text}`adv_standard_l1:.1%` ($L_1$, $\epsilon =$ {glue:text}`eps_l1`). The perturbations
# respect their budgets: the largest norms found are {glue:text}`norm_max_linf:.4f`,
# {glue:text}`norm_max_l2:.4f` and {glue:text}`norm_max_l1:.3f`. (How the robustness of each network
# changes with $\epsilon$, and why, is the subject of the next chapters.)
#
# For the noisy network, the gradients of two noise draws for the same image point in rather different
# directions (mean cosine similarity {glue:text}`grad_cos:.2f`; 1 for a deterministic network). Under an
# $L_\infty$ attack of radius {glue:text}`eps_eot` it keeps {glue:text}`adv_vone_linf:.1%` with EOT and
# {glue:text}`adv_vone_linf_eot1:.1%` when each step follows a single draw: a difference of
# {glue:text}`eot_gap:.1%` $\pm$ {glue:text}`eot_gap_se:.1%` (paired over the same images and scoring draws).
# {glue:md}`eot_verdict`

# %%
tolerance = 1e-5
for (name, norm, *_), x_adv in adversarial.items():
    delta = (x_adv - x_eval).flatten(1)
    assert (
        float(delta.norm(p=p_of[norm], dim=1).max())
        <= norms[norm] * (1 + tolerance) + tolerance
    ), (name, norm)
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1, (
        name,
        norm,
    )
if len(x_eval) >= 100:
    se = 0.5 / math.sqrt(
        len(x_eval)
    )  # largest binomial standard error of an accuracy
    for key, value in adv_acc.items():
        assert value <= clean_acc[key[0]] + 3 * se, (
            key,
            value,
        )  # an attack does not help the network
    for norm in norms:
        assert (
            adv_acc["standard", norm] < clean_acc["standard"] - 3 * se
        ), norm  # the attacks work
    assert (
        adv_acc["vone", "linf"]
        <= adv_acc["vone", "linf", "eot1"] + 3 * se
    )  # EOT is the stronger attack

# %% [markdown]
# ## Is the attack converged?
#
# The chapters attack with {glue:text}`chapter_steps` PGD steps and, on stochastic networks,
# {glue:text}`chapter_eot` noise draws per step; a deterministic network, for which a step costs one pass
# instead of {glue:text}`chapter_eot`, takes {glue:text}`chapter_deterministic_steps` steps from each of
# {glue:text}`chapter_deterministic_restarts` random starts (its only randomness); chapter 03, whose
# noisiest networks make every gradient a rough estimate, also lets the step size decay over the steps, and
# checks its attack at its own most robust networks. A robustness number is
# trustworthy only if a stronger attack does not lower it further {cite:p}`carlini2019evaluating`. On
# {glue:text}`n_convergence` of chapter 01's test images (the same images, attack starts and scoring draws
# for every setting), at its smallest attack ($L_\infty$, $\epsilon =$ {glue:text}`conv_eps`), we vary the
# number of steps (at {glue:text}`chapter_eot` draws) and the number of draws (at
# {glue:text}`chapter_steps` steps), try four times both (on a deterministic network four times the steps
# and the starts), and, as an independent attack, AutoAttack's version for randomised defences
# {cite:p}`croce2020reliable` (APGD with cross-entropy and DLR losses, {glue:text}`autoattack_iterations`
# iterations, {glue:text}`autoattack_draws` draws per step;
# one draw for a deterministic network). Every accuracy comes with its 95% interval over the images, every
# difference to the chapters' setting with the interval of the paired per-image differences.

# %%
glue_number("chapter_steps", chapter_steps)
glue_number("autoattack_iterations", autoattack_iterations)
glue_number("autoattack_draws", autoattack_draws)
glue_number("chapter_eot", chapter_eot)
glue_number("chapter_deterministic_steps", chapter_deterministic_steps)
glue_number(
    "chapter_deterministic_restarts", chapter_deterministic_restarts
)
glue_number("conv_eps", conv_eps)
zoo = {
    name: get_network(name, dataset=dataset, **train_kw)
    for name in list_networks("vision", source="trained")
}
x_pool, y_pool = class_balanced_subset(
    test_set, len(classes), max(1, n_accuracy // len(classes)), seed=0
)
x_conv, y_conv = spread_subset(
    x_pool, y_pool, n_convergence
)  # chapter 01's images, every class in turn
glue_number("n_convergence", len(x_conv))
conv = convergence_table(
    zoo,
    x_conv,
    y_conv,
    eps=conv_eps,
    steps=chapter_steps,
    eot=chapter_eot,
    deterministic_steps=chapter_deterministic_steps,
    deterministic_restarts=chapter_deterministic_restarts,
    steps_grid=convergence_steps,
    eot_grid=convergence_eot,
    n_draws=n_draws,
    autoattack=autoattack,
    autoattack_iterations=autoattack_iterations,
    autoattack_draws=autoattack_draws,
    progress=False,
)
pgd_rows = conv[conv.attack == "pgd"]
draws_of = {name: chapter_eot if name in ("vone",) else 1 for name in zoo}
by_steps = pgd_rows[pgd_rows.eot == pgd_rows.model.map(draws_of)]
by_draws = pgd_rows[
    (pgd_rows.model == "vone") & (pgd_rows.steps == chapter_steps)
]
aa_rows = conv[conv.attack != "pgd"]
steps_chart = charts.line_with_errorbars(
    by_steps,
    "steps",
    "accuracy",
    "model",
    lo="lo",
    hi="hi",
    log_x=True,
    title="PGD steps",
    width=280,
)
if len(aa_rows):
    steps_chart = steps_chart + charts.alt.Chart(aa_rows).mark_point(
        shape="diamond", size=90, filled=True
    ).encode(
        x="steps:Q",
        y="accuracy:Q",
        color="model:N",
        tooltip=["model", "attack", "accuracy", "lo", "hi"],
    )
draws_chart = charts.line_with_errorbars(
    by_draws,
    "eot",
    "accuracy",
    "model",
    lo="lo",
    hi="hi",
    log_x=True,
    title="EOT draws per step (vone)",
    width=280,
)
glue("fig_convergence", steps_chart | draws_chart, display=False)
summary = conv[
    conv.default | conv.strongest | (conv.attack != "pgd")
].copy()
summary["setting"] = [
    f"{a}, {s} steps, {e} draws, {r} starts"
    for a, s, e, r in zip(
        summary.attack,
        summary.steps,
        summary.eot,
        summary.restarts,
        strict=True,
    )
]
glue(
    "tbl_convergence",
    charts.table(
        summary[
            [
                "model",
                "setting",
                "accuracy",
                "lo",
                "hi",
                "diff",
                "diff_lo",
                "diff_hi",
            ]
        ].set_index(["model", "setting"])
    ),
    display=False,
)
glue_number(
    "conv_worst",
    conv.loc[conv.strongest | (conv.attack != "pgd"), "diff"].min(),
)
if autoattack:
    for name in zoo:
        row = aa_rows[aa_rows.model == name].iloc[0]
        glue_number(f"aa_{name}", row.accuracy)
        glue_number(f"aa_diff_{name}", row["diff"])
if check_findings:
    check_converged(conv, tolerance=0.01)

# %% [markdown]
# ```{glue:figure} fig_convergence
# :name: fig-methods-convergence
#
# Accuracy at $L_\infty$ $\epsilon =$ {glue:text}`conv_eps` against the number of PGD steps (left: the
# chapters' draws for the stochastic network, one draw for the others; diamonds: AutoAttack-rand) and
# against the EOT draws per step of the stochastic network (right), on {glue:text}`n_convergence` test
# images scored over the same fresh noise draws, with 95% intervals over the images.
# ```
#
# ```{glue:figure} tbl_convergence
# :name: tbl-methods-convergence
#
# The chapters' attack, the strongest PGD setting (four times the steps and the draws) and AutoAttack-rand
# for every network: accuracy with its interval, and the difference to the chapters' attack (negative:
# the stronger attack finds more), paired over the images.
# ```
#
# No stronger attack lowers any network's accuracy by more than {glue:text}`conv_worst:.3f` below the
# chapters' setting (within one accuracy point): the robustness of the other chapters is measured with a
# converged attack. AutoAttack, which shares no code with our PGD, agrees: the stochastic network keeps
# {glue:text}`aa_vone:.3f` under it ({glue:text}`aa_diff_vone:+.3f` against our attack), the
# adversarially trained one {glue:text}`aa_adversarial:.3f` ({glue:text}`aa_diff_adversarial:+.3f`).
#
# ## Our numbers beside the companion code's
#
# The study's companion code (chung-neuroai-lab/adversarial-manifolds) measures CIFAR-10 networks, a
# ResNet18 and a VOneResNet18 with Gaussian noise, and writes its geometry tables with the columns
# `cap, dim, rad, mean_cap, center_corr, K, EVD90, PR, P, M, N, layer, seed, model, manifold_type, eps,
# ...`. `advgeom.analysis.export.to_reference_schema` writes our tables in the same columns. Below, its
# published values (read from the notebook's printed outputs and its `results/*.csv`; cited facts, not
# recomputed here) beside ours, measured the same way: class manifolds of $P = 10$ classes $\times$
# $M =$ {glue:text}`reference_per_class` images under an $L_\infty$ attack of $\epsilon = 1/255$ (16
# steps), at the last layer, and the participation ratio and EVD90 of all that layer's points.

# %%
# the published values are chapter data, next to the chapters
reference = tomllib.loads(
    (notebooks_dir() / "reference_values.toml").read_text()
)
glue_number("reference_per_class", reference_per_class)
x_ref, y_ref = class_balanced_subset(
    test_set, 10, reference_per_class, seed=0
)
reference_protocol = Protocol(
    manifold="class",
    eps=1 / 255,
    attack_steps=16,
    eot=chapter_eot,
    n_t=200,
    seed=0,
)
ours = []
rows = []
for name, label in (
    ("standard", "standard (ours)"),
    ("vone", "vone (ours, neuronal noise)"),
):
    table = to_reference_schema(
        measure(zoo[name], x_ref, y_ref, reference_protocol), model=name
    )
    last = table[table.layer == table.layer.iloc[-1]].iloc[0]
    attacked = pgd_scores(
        zoo[name],
        x_pool,
        y_pool,
        eps=1 / 255,
        steps=16,
        eot=chapter_eot,
        n_draws=n_draws,
    )
    rows.append(
        {
            "network": label,
            "data": f"{dataset} (28 px)",
            "clean accuracy": accuracy(
                zoo[name], x_pool, y_pool, n_draws=n_draws, seed=0
            ),
            "accuracy at 1/255": float(attacked.mean()),
            "draws per attack step": chapter_eot if name == "vone" else 1,
            "last-layer class capacity": last.mean_cap,
            "EVD90": int(last.EVD90),
            "PR": last.PR,
        }
    )
    ours.append(table)
for key, label in (
    ("resnet18", "ResNet18 (published)"),
    ("vone_resnet18", "VOneResNet18 (published, Gaussian)"),
):
    ref = reference[key]
    rows.append(
        {
            "network": label,
            "data": "CIFAR-10 (32 px)",
            "clean accuracy": ref["clean_accuracy"],
            "accuracy at 1/255": ref.get(
                "attacked_accuracy", float("nan")
            ),
            "draws per attack step": 1,
            "last-layer class capacity": float(
                np.mean(ref["class_mean_cap_last_by_seed"])
            ),
            "EVD90": float(np.mean(ref["EVD90_last"])),
            "PR": float(np.mean(ref["PR_last"])),
        }
    )
glue(
    "tbl_reference",
    charts.table(pd.DataFrame(rows).set_index("network")),
    display=False,
)
glue_number("ref_clean_resnet18", reference["resnet18"]["clean_accuracy"])
glue_number(
    "ref_clean_vone", reference["vone_resnet18"]["clean_accuracy"]
)
charts.publish(
    pd.concat(ours, ignore_index=True),
    "reference-schema",
    "Class manifolds at L-inf 1/255, in the companion code's columns",
    identifiers=["manifold_type", "random"],
)

# %% [markdown]
# ```{glue:figure} tbl_reference
# :name: tbl-methods-reference
#
# Our networks beside the companion code's published CIFAR-10 networks (clean accuracy
# {glue:text}`ref_clean_resnet18:.1%` and {glue:text}`ref_clean_vone:.1%`; their values are cited from
# its printed outputs and `results/*.csv`, means over its seeds). Last layer: logits. The CSV of our
# rows, in the companion code's columns, is linked above the table.
# ```
#
# What differs: the data (28-pixel grey Fashion-MNIST images against 32-pixel colour CIFAR-10), the scale
# of the networks (a three-block ResNet against ResNet18), the noise (neuronal, Poisson-like, against
# Gaussian of a fixed standard deviation) and the attack on the stochastic network: the companion notebook
# follows one noise sample per step, which understates what an attacker can do, while every attack here
# averages {glue:text}`chapter_eot` draws per step (EOT).

# %% [markdown]
# ## Adversarial examples
#
# What do these perturbations look like? For a few test images, each row shows the clean image, the
# perturbation found against the standard network (scaled to the full colour range to be visible) and
# the adversarial image, with the network's prediction and its confidence.


# %% tags=["hide-input"]
def predict(
    model: torch.nn.Module, x: torch.Tensor
) -> tuple[list[int], list[float]]:
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    conf, label = probs.max(dim=1)
    return label.tolist(), conf.tolist()


picks = list(
    range(0, len(x_eval), max(1, len(x_eval) // max(1, n_examples)))
)[:n_examples]
model = models["standard"]
fig, axes = plt.subplots(
    len(picks),
    1 + 2 * len(norms),
    figsize=(1.55 * (1 + 2 * len(norms)), 2.0 * len(picks)),
    squeeze=False,
)
gray = x_eval.shape[1] == 1


def as_image(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).squeeze(-1).numpy()


n_flipped = 0
for r, i in enumerate(picks):
    x0 = x_eval[i : i + 1]
    (c_label,), (c_conf,) = predict(model, x0)
    axes[r, 0].imshow(as_image(x0[0]), cmap="gray", vmin=0, vmax=1)
    axes[r, 0].set_title(f"clean\n{classes[c_label]} ({c_conf:.0%})")
    for j, norm in enumerate(norms):
        xa = adversarial["standard", norm][i : i + 1]
        (a_label,), (a_conf,) = predict(model, xa)
        n_flipped += a_label != c_label
        delta = (xa - x0)[0]
        scale = float(delta.abs().max()) or 1.0
        ax_d, ax_a = axes[r, 1 + 2 * j], axes[r, 2 + 2 * j]
        ax_d.imshow(
            as_image(delta / (2 * scale) + 0.5),
            cmap="RdBu_r" if gray else None,
            vmin=0,
            vmax=1,
        )
        ax_d.set_title(f"{norm_label[norm]} δ\nε = {norms[norm]:g}")
        ax_a.imshow(as_image(xa[0]), cmap="gray", vmin=0, vmax=1)
        ax_a.set_title(
            f"adversarial\n{classes[a_label]} ({a_conf:.0%})",
            color="#D55E00" if a_label != c_label else "black",
        )
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
show(fig, "fig_adversarial_examples")
glue("n_shown", len(picks) * len(norms), display=False)
glue("n_flipped", int(n_flipped), display=False)

# %% [markdown]
# ```{glue:figure} fig_adversarial_examples
# :name: fig-methods-adversarial-examples
#
# Adversarial examples against the standard network. Each row: a clean test image with the network's
# prediction and confidence, then for each norm the perturbation $\delta$ (red brighter, blue darker;
# scaled to be visible) and the adversarial image with its prediction (orange when it changed). The
# budgets shape the perturbations: $L_\infty$ lets every pixel change by up to $\epsilon$, $L_2$ bounds
# the total energy, and $L_1$ the total absolute change, which favours a few large pixel changes.
# ```
#
# In {glue:text}`n_flipped` of the {glue:text}`n_shown` attacked images shown the prediction changed.
#
# ## Exercises
#
# ```{exercise} Poisson-like noise and gain
# :label: ex-methods-noise
#
# In spike-count units the noise stage adds Gaussian noise of variance $r$ to a response $r$.
# (a) What is the signal-to-noise ratio $r / \mathrm{sd}$ of a unit, and how does it change when the
# front-end gain $k$ is multiplied by 4? (b) Predict what happens to the mean-variance relation of
# {numref}`fig-methods-mean-variance` when the noise is scaled down, then check with
# `advgeom run 04_methods -p noise_scale 0.5` (this trains a new network, a few minutes).
# ```
#
# ```{solution} ex-methods-noise
# :class: dropdown
#
# (a) $r / \sqrt r = \sqrt r$: the SNR grows with the square root of the response. Multiplying the gain
# by 4 multiplies every response (in spike counts) by 4, so the SNR doubles: a larger gain makes the
# network relatively *less* noisy, which is why the gain is part of the model, not a free choice.
# (b) `noise_scale` multiplies the standard deviation, so the variance becomes $0.25\,r$: the points of
# the figure move down by a factor 4 (a parallel line in log-log axes), the slope stays 1.
# ```
#
# ```{exercise} Why EOT?
# :label: ex-methods-eot
#
# Run `advgeom run 04_methods -p eot 1` and compare the accuracies of {numref}`tbl-methods-attacks` with
# this page.
# Which numbers change, and why? Then try `-p eot 32`: what does it tell you about the value used here?
# ```
#
# ```{solution} ex-methods-eot
# :class: dropdown
#
# With `eot 1` both attacks on the noisy network follow single-draw gradients, so the two last rows of
# the table agree up to sampling error, and the accuracy under attack is at least as high as with EOT:
# one draw gives a noisy estimate of the gradient of the expected loss, the steps partly cancel and the
# attack is weaker (by how much depends on how much the gradients of different draws disagree; see the
# cosine similarity in the text). The standard network does not change: it has no noise. With `eot 32`
# the accuracy should change little compared with 8, which shows the attack has converged in $K$: a
# check {cite:t}`carlini2019evaluating` recommend before trusting a robustness number.
# ```
