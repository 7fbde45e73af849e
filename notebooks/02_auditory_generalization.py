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
# # Finding 2: does stochasticity protect auditory networks too?
#
# The vision chapter showed that a network with noisy, V1-like neurons resists small adversarial
# perturbations, and that its robustness has a geometric signature: noise gives every image's
# representation an extent, and clean and adversarial representations overlap.
# {cite:t}`dapello2021neural` asked whether this generalises beyond vision. They trained word
# recognition networks on a **cochleagram** front end (a model of the ear, {cite:p}`feather2019metamers`)
# and added Poisson-like noise at the **auditory nerve**, the stage where the cochlea's output becomes
# spike trains. The stochastic networks were more robust to waveform attacks than their deterministic
# twins, with the same geometric signature as in vision.
#
# We repeat this at a scale that trains on a laptop CPU:
#
# * **sounds**: one-second clips of 20 spoken words (ten commands and the ten digits), synthesised
#   offline by three speech synthesisers with many voices, speaking rates and pitches, mixed with pink
#   noise or babble at 0-20 dB signal-to-noise ratio (see `advgeom.data.audio`). Test clips are
#   said by **voices never heard in training**;
# * **networks** (`word_deterministic`, `word_stochastic`, `word_adversarial` of `advgeom.zoo`): a
#   fixed cochleagram (40 ERB-spaced channels, envelopes at 100 Hz, 0.3-power compression) followed
#   by a small ResNet. The
#   *deterministic* network uses it as is; the *stochastic* network adds reparameterised
#   Poisson-like auditory-nerve noise after the cochleagram, on at test time; the *adversarially
#   trained* network is the deterministic one fine-tuned on waveform adversarial examples;
# * **attacks** act on the **waveform**, through the cochleagram, with PGD under $L_\infty$ and $L_2$
#   budgets, and with expectation over transformation (EOT) against the stochastic network;
# * **geometry**: word (class) and exemplar manifolds layer by layer, with the same protocol and code
#   as the vision chapter (`advgeom.analysis`).
#
# Every number below is computed when the chapter runs and glued into the prose; assertions fail the
# run when a finding does not hold.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import HTML, Audio, Markdown, display
from myst_nb import glue

from advgeom.analysis import Protocol, accuracy_sweep, measure_grid
from advgeom.analysis.protocol import exemplar_images
from advgeom.analysis.summaries import (
    assert_extended,
    assert_points,
    assert_untangling,
    late_layers,
    late_mean,
    median_over_seeds,
    untangling,
)
from advgeom.attacks import accuracy, pgd
from advgeom.book import charts
from advgeom.data import class_balanced_subset
from advgeom.data.audio import DEFAULT_WORDS, WAVEFORM_BOUNDS, CorpusSpec, load_asterisk_digits
from advgeom.models import is_stochastic
from advgeom.zoo import get_network
from advgeom.zoo.words import word_corpus

# %% tags=["parameters"]
words = []  # vocabulary ([] = the 20 default words: yes, no, up, down, ..., zero, one, ..., nine)
#   | each length [1, 30] | length [0, 100]
n_train = 200  # synthetic training clips per word | in [1, 2000]
n_test = 50  # synthetic test clips per word (said by held-out voices) | in [1, 2000]
corpus_seed = 0  # seed of the corpus synthesis | in [0, 1e9]
gain = 30.0  # auditory-nerve noise gain of the stochastic network (spikes per unit; larger = less noise)
#   | in (0, 10000]
epochs = 0  # training epochs of the deterministic and stochastic networks (0 = default recipe) | in [0, 1000]
adv_epochs = 0  # adversarial fine-tuning epochs (0 = default recipe) | in [0, 1000]
adv_eps = 0.3  # L2 budget (waveform units) of adversarial training | in [0, 10]
kinds = ["deterministic", "stochastic", "adversarial"]  # networks to compare
#   | each one of deterministic, stochastic, adversarial | length [1, 3]
n_accuracy = 40  # test clips per seed scored under attack (balanced over words) | in [1, 10000]
eps_linf = [0.0, 0.0003, 0.001]  # L-inf attack budgets (waveform units; clips have RMS 0.05)
#   | each in [0, 1] | length [1, 12]
eps_l2 = [0.0, 0.03, 0.1, 0.3]  # L2 attack budgets (waveform units; a clip has L2 norm ~6.3)
#   | each in [0, 10] | length [1, 12]
attack_steps = 10  # PGD steps (step size eps/4) | in [1, 10000]
eot = 8  # noise draws averaged per attack gradient on the stochastic network | in [1, 1000]
n_draws = 16  # noise draws when scoring the stochastic network | in [1, 1000]
geo_norm = "l2"  # attack norm of the manifold geometry | one of linf, l2, l1
geo_eps = [0.0, 0.3]  # attack strengths of the exemplar geometry and overlap (0 = clean; 0.3 = max of eps_l2)
#   | each in [0, 10] | length [1, 12]
class_eps = [0.0]  # attack strengths of the word (class) manifolds (attacking P x M clips with EOT is costly)
#   | each in [0, 10] | length [1, 12]
per_class = 4  # M clips per word (class) manifold | in [2, 1000]
n_exemplars = 8  # P clips whose exemplar manifolds are measured | in [2, 1000]
repeats = 6  # M perturbed versions (random-start attacks, fresh noise) per exemplar | in [2, 1000]
width = 1000  # random-projection width for wider layers | in [2, 20000]
n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
seeds = [0, 1, 2]  # test-clip subsets, attack starts, noise draws, projections and MFTMA samples
#   | each in [0, 1e9] | length [1, 20]
margin = 0.05  # smallest difference we call a finding | in [0, 1]
check_findings = True  # assert the findings that need trained networks (robustness, overlap); False for toy sizes
listen_eps = 0.1  # L2 budget of the attack we listen to | in [0, 10]
listen_scale = 10.0  # the perturbation is played this many times louder than it is | in (0, 1000]

# %%
charts.setup_charts()
torch.manual_seed(0)
vocabulary = list(words) or list(DEFAULT_WORDS)
corpus_spec = CorpusSpec(words=tuple(vocabulary), n_train=n_train, n_test=n_test, seed=corpus_seed)
corpus = word_corpus(corpus_spec)
sr = corpus.sample_rate
train_set, test_set = corpus.split("train"), corpus.split("test")
options = {
    "deterministic": {"epochs": epochs or None},
    "stochastic": {"gain": gain, "epochs": epochs or None},
    "adversarial": {"epochs": adv_epochs or None, "adv_eps": adv_eps},
}
models = {kind: get_network(f"word_{kind}", corpus=corpus_spec, **options[kind]) for kind in kinds}
stochastic = [kind for kind, model in models.items() if is_stochastic(model)]
deterministic = [kind for kind in kinds if kind not in stochastic]

# %% [markdown]
# ## The corpus
#
# Each clip is one word, said by a voice of espeak-ng, flite or festival with sampled speaking rate,
# pitch and a speed factor, centred with a random shift, mixed with noise and scaled to a fixed level
# (RMS 0.05). The voices are split by speaker identity: no test voice is heard in training, so test
# accuracy measures generalisation to new speakers.

# %%
table = corpus.table()
summary = table.groupby("split").agg(
    clips=("word", "size"), voices=("speaker", "nunique"), words=("word", "nunique"),
    median_snr_db=("snr_db", "median"),
)  # fmt: skip
display(summary)
display(table.groupby(["split", "synth"]).size().unstack(fill_value=0))
clip_rms = float(np.sqrt(np.mean(corpus.waveforms.astype(np.float64) ** 2, axis=1)).mean())
clip_l2 = float(np.median(np.linalg.norm(corpus.waveforms.astype(np.float64), axis=1)))
glue("n_train_clips", int(summary.loc["train", "clips"]), display=False)
glue("n_test_clips", int(summary.loc["test", "clips"]), display=False)
glue("n_train_voices", int(summary.loc["train", "voices"]), display=False)
glue("n_test_voices", int(summary.loc["test", "voices"]), display=False)
glue("n_words", len(vocabulary), display=False)
glue("clip_rms", clip_rms, display=False)
glue("clip_l2", clip_l2, display=False)
assert set(table[table.split == "train"].speaker).isdisjoint(table[table.split == "test"].speaker)

# %% [markdown]
# The corpus has {glue:text}`n_train_clips` training clips by {glue:text}`n_train_voices` voices and
# {glue:text}`n_test_clips` test clips by {glue:text}`n_test_voices` other voices, over
# {glue:text}`n_words` words. A clip has RMS {glue:text}`clip_rms:.3f` and $L_2$ norm
# {glue:text}`clip_l2:.2f` (16 000 samples): the scale against which the attack budgets below are set.
#
# ## The networks

# %%
x_test, y_test = test_set.tensors()
training = pd.DataFrame(
    [
        {"network": kind, "epochs": len(m.train_history["epochs"]),
         "train seconds": round(float(m.train_history["train_seconds"]), 1),
         "final train accuracy": round(m.train_history["epochs"][-1]["train_accuracy"], 3),
         "test accuracy": accuracy(m, x_test, y_test, n_draws=4 if kind in stochastic else 1, seed=0)}
        for kind, m in models.items()
    ]
).set_index("network")  # fmt: skip
display(training.style.format({"test accuracy": "{:.3f}"}))
for kind in kinds:
    glue(f"test_acc_{kind}", float(training.loc[kind, "test accuracy"]), display=False)
chance = 1 / len(vocabulary)
glue("chance", chance, display=False)
if check_findings:
    assert (training["test accuracy"] > chance + margin).all(), training

# %% [markdown]
# On the whole test set (unheard voices), the deterministic network recognises
# {glue:text}`test_acc_deterministic:.3f` of the words and the stochastic network
# {glue:text}`test_acc_stochastic:.3f` (averaged over noise draws); chance is {glue:text}`chance:.2f`.
# The training recipes are in `advgeom.zoo.words.RECIPES`: the deterministic and stochastic
# networks are trained from the nerve stage on cochleagrams computed once (the front end has no
# learnable parameters and the noise comes after it), the adversarially trained one on waveforms.
#
# ## Accuracy under attack
#
# The attacks change the waveform. Budgets are in waveform units and also as a signal-to-noise ratio
# of the clip to the perturbation: for $L_2$, $20 \log_{10}(\lVert x \rVert_2 / \epsilon)$; for
# $L_\infty$, $20 \log_{10}(\mathrm{RMS}(x) / \epsilon)$, the worst case where every sample moves by
# $\epsilon$ (PGD's sign steps nearly reach it). For each seed, a different class-balanced subset of
# `n_accuracy` test clips is attacked from its own random starts and scored over its own noise draws;
# we report medians over seeds. The stochastic network is attacked with EOT (`eot` noise draws averaged
# per gradient step) and scored over `n_draws` fresh draws.

# %%
per_word = max(1, n_accuracy // len(vocabulary))
acc_inputs = {s: class_balanced_subset(test_set.dataset(), len(vocabulary), per_word, seed=s) for s in seeds}
grids = {"linf": eps_linf, "l2": eps_l2}
frames = []
for s, (xa, ya) in acc_inputs.items():
    frame = accuracy_sweep(
        models, xa, ya, grids, steps=attack_steps, eot=eot, n_draws=n_draws, seed=s, bounds=WAVEFORM_BOUNDS
    )
    frames.append(frame.assign(seed=s))
acc_all = pd.concat(frames, ignore_index=True)
acc = acc_all.groupby(["model", "norm", "eps"], as_index=False)["accuracy"].median()
acc["snr_db"] = [
    math.inf if e == 0 else 20 * math.log10((clip_l2 if n == "l2" else clip_rms) / e)
    for n, e in zip(acc.norm, acc.eps, strict=True)
]
budgets = acc.drop_duplicates(["norm", "eps"])[["norm", "eps", "snr_db"]].set_index(["norm", "eps"])
display(budgets.round(1))
acc_table = acc.pivot_table(index=["norm", "eps"], columns="model", values="accuracy").reindex(columns=kinds)
display(acc_table.style.format("{:.3f}"))
glue(
    "fig_accuracy",
    charts.faceted_lines(acc, "eps", "accuracy", "model", "norm", columns=2, title="Word accuracy under waveform PGD",
                        independent_y=False, domain=kinds),
    display=False,
)  # fmt: skip

# %% [markdown]
# ```{glue:figure} fig_accuracy
# :name: fig-auditory-accuracy
#
# Word accuracy (medians over seeds) against the waveform attack budget $\epsilon$, for $L_\infty$ and
# $L_2$ PGD. The stochastic network is attacked with EOT and scored over fresh noise draws.
# ```


# %%
def at(model: str, norm: str, eps: float, frame: pd.DataFrame = acc) -> float:
    """Accuracy of ``model`` under ``norm`` PGD at ``eps`` (median over seeds)."""
    row = frame[(frame.model == model) & (frame.norm == norm) & np.isclose(frame.eps, eps)]
    return float(row.accuracy.iloc[0])


small = {norm: sorted(e for e in grid if e > 0)[0] for norm, grid in grids.items()}
for norm, e in small.items():
    glue(f"small_eps_{norm}", e, display=False)
    glue(f"small_snr_{norm}", float(budgets.loc[(norm, e), "snr_db"]), display=False)
    for kind in kinds:
        glue(f"acc_{norm}_small_{kind}", at(kind, norm, e), display=False)
for kind in kinds:
    glue(f"clean_{kind}", at(kind, "l2", 0.0), display=False)

# Accuracy never rises with eps (up to the scoring noise of the stochastic network).
for (model, norm), group in acc.groupby(["model", "norm"]):
    values = group.sort_values("eps")["accuracy"].to_numpy()
    slack = 0.05 if model in stochastic else 1e-9
    assert np.all(np.diff(values) <= slack), f"{model} {norm}: accuracy rises with eps {values}"
# Per seed: does the stochastic network beat the deterministic one at the small budgets?
wins = {}
if {"deterministic", "stochastic"} <= set(kinds):
    for norm, e in small.items():
        per_seed = acc_all[(acc_all.norm == norm) & np.isclose(acc_all.eps, e)].pivot(
            index="seed", columns="model", values="accuracy"
        )
        wins[norm] = int((per_seed.stochastic > per_seed.deterministic).sum())
        glue(f"wins_{norm}", wins[norm], display=False)
        gap = at("stochastic", norm, e) - at("deterministic", norm, e)
        glue(f"gap_{norm}", gap, display=False)
        if check_findings:
            assert gap > margin, f"{norm} eps={e}: stochastic {gap:+.3f} vs deterministic (margin {margin})"
    glue("n_seeds", len(seeds), display=False)
if {"deterministic", "adversarial"} <= set(kinds) and check_findings:
    assert at("adversarial", "l2", small["l2"]) > at("deterministic", "l2", small["l2"]) + margin, acc_table

# %% [markdown]
# Clean, the three networks recognise {glue:text}`clean_deterministic:.3f` (deterministic),
# {glue:text}`clean_stochastic:.3f` (stochastic) and {glue:text}`clean_adversarial:.3f` (adversarially
# trained) of the attacked clips. An $L_2$ perturbation of $\epsilon =$ {glue:text}`small_eps_l2:.2f`
# — {glue:text}`small_snr_l2:.0f` dB below the clip, a faint hiss — brings the deterministic network to
# {glue:text}`acc_l2_small_deterministic:.3f`, while the stochastic network keeps
# {glue:text}`acc_l2_small_stochastic:.3f` (a gap of {glue:text}`gap_l2:+.3f`; it wins on
# {glue:text}`wins_l2` of {glue:text}`n_seeds` seeds) and the adversarially trained network
# {glue:text}`acc_l2_small_adversarial:.3f`. Under $L_\infty$ at $\epsilon =$
# {glue:text}`small_eps_linf:.4f` ({glue:text}`small_snr_linf:.0f` dB) the deterministic network keeps
# {glue:text}`acc_linf_small_deterministic:.3f` and the stochastic network
# {glue:text}`acc_linf_small_stochastic:.3f` (gap {glue:text}`gap_linf:+.3f`, {glue:text}`wins_linf` of
# {glue:text}`n_seeds` seeds). So, as in vision, **auditory-nerve noise makes the word network more
# robust to small waveform attacks, even when the attacker averages over the noise** — and, as in
# vision, larger budgets defeat every network.

# %% [markdown]
# ## Listening to an attack
#
# Below, a test clip that the deterministic network recognises, its adversarial version (an $L_2$
# attack of budget `listen_eps` on the deterministic network) and the perturbation itself, **played
# `listen_scale` times louder than it is** so that it can be heard at all. The players are embedded in
# the page (no network access needed).

# %%
x_pool, y_pool = acc_inputs[seeds[0]]
listen_model = models["deterministic"] if "deterministic" in models else next(iter(models.values()))
with torch.no_grad():
    right = (listen_model(x_pool).argmax(1) == y_pool).nonzero().flatten()[:4]
right = right if len(right) else torch.arange(1)
# attack a few correctly recognised clips and listen to the first one the attack fools (else the first one)
x_try = pgd(listen_model, x_pool[right], y_pool[right], eps=listen_eps, norm="l2", steps=2 * attack_steps,
            bounds=WAVEFORM_BOUNDS, seed=0)  # fmt: skip
with torch.no_grad():
    fooled = (listen_model(x_try).argmax(1) != y_pool[right]).nonzero().flatten()
k = int(fooled[0]) if len(fooled) else 0
x_clean, y_clean, x_adv = x_pool[right[k]][None], y_pool[right[k]][None], x_try[k][None]
delta = x_adv - x_clean
listen_snr = float(20 * torch.log10(x_clean.norm() / delta.norm()))


def predict(model: torch.nn.Module, x: torch.Tensor, draws: int) -> str:
    """The most frequent word over ``draws`` passes and its share."""
    with torch.no_grad():
        votes = torch.stack([model(x).argmax(1) for _ in range(draws)]).flatten()
    top = int(votes.mode().values)
    return f"{vocabulary[top]} ({(votes == top).float().mean():.0%})"


rows = []
for kind, model in models.items():
    draws = n_draws if kind in stochastic else 1
    rows.append({"network": kind, "clean": predict(model, x_clean, draws), "adversarial": predict(model, x_adv, draws)})
display(pd.DataFrame(rows).set_index("network"))
glue("listen_snr", listen_snr, display=False)
glue("listen_eps", listen_eps, display=False)
with torch.no_grad():
    heard = vocabulary[int(listen_model(x_adv).argmax(1))]
display(
    Markdown(f'The clip says "{vocabulary[int(y_clean)]}"; after the attack the deterministic network hears "{heard}".')
)


def player(x: torch.Tensor) -> str:
    """HTML audio player (a data URI: works offline) for a waveform in [-1, 1]."""
    return Audio(np.clip(x.flatten().numpy(), -1, 1), rate=sr, normalize=False)._repr_html_()


sounds = {
    "clean": x_clean, "adversarial": x_adv, f"perturbation × {listen_scale:g}": listen_scale * delta,
}  # fmt: skip
cells = "".join(f"<td style='padding:4px'><b>{name}</b><br>{player(x)}</td>" for name, x in sounds.items())
display(HTML(f"<table><tr>{cells}</tr></table>"))

coch = listen_model.cochleagram
fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), sharey=True, constrained_layout=True)
with torch.no_grad():
    images = {name: coch(x)[0].numpy() for name, x in sounds.items()}
vmax = max(float(im.max()) for im in images.values())
for ax, (name, im) in zip(axes, images.items(), strict=True):
    ax.imshow(im, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax, extent=(0, 1, 0, im.shape[0]))
    ax.set_title(name)
    ax.set_xlabel("time (s)")
axes[0].set_ylabel("cochlear channel (low to high)")
glue("fig_cochleagrams", fig, display=False)
plt.close(fig)

# %% [markdown]
# The perturbation ($L_2$ norm {glue:text}`listen_eps:.2f`) is {glue:text}`listen_snr:.1f` dB below the
# clip: at its true level it is far quieter than the word.
#
# ```{glue:figure} fig_cochleagrams
# :name: fig-cochleagrams
#
# Cochleagrams (the deterministic front end; brighter = more energy) of the clean clip, its
# adversarial version and the perturbation played `listen_scale` times louder, on one colour scale.
# The adversarial cochleagram looks like the clean one: the attack hides in details the eye (and
# ear) barely notice.
# ```
#
# ## Word and exemplar manifolds, layer by layer
#
# As in the vision chapter: **word (class) manifolds** are `per_class` test clips of each word (clean by
# default: `class_eps` adds attacked ones, at the cost of attacking every clip with EOT);
# **exemplar manifolds** are `repeats` perturbed versions of each of `n_exemplars` clips (attacks from
# different random starts and, in the stochastic network, fresh noise). Layers: the waveform, the
# auditory nerve (the cochleagram, plus noise in the stochastic network), each ResNet block and the
# logits; wide layers are randomly projected to `width` dimensions. Attacks are $L_2$ (`geo_norm`)
# PGD on the waveform, with EOT on the stochastic network.

# %%
test_ds = test_set.dataset()
class_inputs = {s: class_balanced_subset(test_ds, len(vocabulary), per_class, seed=100 + s) for s in seeds}
# n_exemplars clips spread over the words, a different draw per seed
exemplar_inputs = {s: exemplar_images(test_ds, n_exemplars, len(vocabulary), seed=200 + s) for s in seeds}
common = {"norm": geo_norm, "attack_steps": attack_steps, "eot": eot, "width": width, "n_t": n_t,
          "bounds": WAVEFORM_BOUNDS}  # fmt: skip
class_geo = measure_grid(models, class_inputs, [Protocol(manifold="class", eps=e, **common) for e in class_eps])
exemplar_geo = measure_grid(
    models, exemplar_inputs, [Protocol(manifold="exemplar", eps=e, repeats=repeats, **common) for e in geo_eps]
)


# %%
class_med, ex_med = median_over_seeds(class_geo), median_over_seeds(exemplar_geo)
for metric in ("capacity", "radius", "dimension"):
    for kind, med, label in (("class", class_med, "Word"), ("exemplar", ex_med, "Exemplar")):
        chart = charts.layer_lines(med, metric, sort=kinds, title=f"{label} manifolds: {metric}")
        glue(f"fig_{kind}_{metric}", chart, display=False)
layer_order = ex_med.drop_duplicates("depth").sort_values("depth")
layer_key = ", ".join(f"{d} = `{n}`" for d, n in zip(layer_order.depth, layer_order.layer, strict=True))
display(Markdown(f"Layers by depth: {layer_key}"))

# %% [markdown]
# ```{glue:figure} fig_exemplar_radius
# :name: fig-auditory-exemplar-radius
#
# Exemplar-manifold radius against layer depth (0 = waveform, 1 = auditory nerve, last = logits), one
# panel per network, one line per attack budget (medians over seeds). Deterministic networks map the
# copies of a clean clip to one point; the stochastic network does not, from the nerve on.
# ```
#
# ```{glue:figure} fig_exemplar_capacity
# :name: fig-auditory-exemplar-capacity
#
# Exemplar-manifold capacity (2 for points) against layer depth.
# ```
#
# ```{glue:figure} fig_class_capacity
# :name: fig-auditory-class-capacity
#
# Word-manifold capacity against layer depth: rising capacity is untangling of the words.
# ```
#
# ```{glue:figure} fig_class_radius
# :name: fig-auditory-class-radius
#
# Word-manifold radius against layer depth.
# ```

# %%
clean_ex = ex_med[np.isclose(ex_med.eps, 0)]
# 1. Clean exemplar manifolds: points in deterministic networks, extended in the stochastic one from the nerve on.
assert_points(clean_ex, deterministic, margin)
assert_points(clean_ex[clean_ex.depth == 0], stochastic, margin)  # the waveform itself is not noisy
assert_extended(clean_ex[clean_ex.depth >= 1], stochastic, margin)
for name in stochastic:
    rows = clean_ex[(clean_ex.model == name) & (clean_ex.depth >= 1)]
    nerve = rows[rows.depth == 1].iloc[0]
    glue("sto_nerve_radius", float(nerve.radius), display=False)
    glue("sto_nerve_capacity", float(nerve.capacity), display=False)
    glue("sto_logits_radius", float(rows.sort_values("depth").radius.iloc[-1]), display=False)

# 2. Untangling: word capacity at the logits exceeds that of the waveform (clean).
clean_class = class_med[np.isclose(class_med.eps, 0)]
untangled = untangling(clean_class)
for name in kinds:
    glue(f"class_cap_wave_{name}", float(untangled.loc[name, "first"]), display=False)
    glue(f"class_cap_logits_{name}", float(untangled.loc[name, "last"]), display=False)
if check_findings:
    assert_untangling(clean_class, kinds, margin)

# 3. Attacks spread the deterministic network's exemplar manifolds in the late layers.
eps_geo = max(geo_eps)
if "deterministic" in kinds and eps_geo > 0:
    glue("det_late_radius_adv", late_mean(ex_med, "deterministic", eps_geo, "radius"), display=False)
    assert late_mean(ex_med, "deterministic", eps_geo, "radius") > margin, ex_med
if "stochastic" in kinds:
    glue("sto_late_radius_clean", late_mean(ex_med, "stochastic", 0.0, "radius"), display=False)
    if eps_geo > 0:
        glue("sto_late_radius_adv", late_mean(ex_med, "stochastic", eps_geo, "radius"), display=False)
glue("geo_eps", eps_geo, display=False)

# %% [markdown]
# **The stochastic signature is there.** In the deterministic networks a clean clip is a point at every
# layer. In the stochastic network it is a point at the waveform (the sound itself is not noisy) and
# a cloud from the auditory nerve on: radius {glue:text}`sto_nerve_radius:.3f` and capacity
# {glue:text}`sto_nerve_capacity:.3f` (below the point value 2) at the nerve, radius
# {glue:text}`sto_logits_radius:.3f` at the logits — the same signature as the VOne network's, with
# the noise at the ear instead of V1. An $L_2$ attack of {glue:text}`geo_eps:.2f` spreads the
# deterministic network's late-layer exemplar manifolds to radius {glue:text}`det_late_radius_adv:.3f`;
# the stochastic network's are {glue:text}`sto_late_radius_clean:.3f` wide clean and
# {glue:text}`sto_late_radius_adv:.3f` under the same attack.
#
# Both kinds of network **untangle** the words: word capacity rises from
# {glue:text}`class_cap_wave_deterministic:.3f` at the waveform to
# {glue:text}`class_cap_logits_deterministic:.3f` at the logits of the deterministic network (stochastic:
# {glue:text}`class_cap_wave_stochastic:.3f` to {glue:text}`class_cap_logits_stochastic:.3f`).
#
# ## Do clean and adversarial representations overlap?
#
# For each exemplar we compare its clean manifold (`repeats` passes of the clean clip) with its
# adversarial manifold (`repeats` random-start attacks at budget `geo_eps`), with
# `advgeom.analysis.overlap_geometry`: the overlap is twice the held-out error of a
# nearest-centroid linear rule telling clean from adversarial apart (0: separated, 1: indistinguishable).

# %%
compared = {k: models[k] for k in ("deterministic", "stochastic") if k in kinds}
overlap_protocol = Protocol(manifold="exemplar", eps=eps_geo, repeats=repeats, **common)
overlap = measure_grid(compared, exemplar_inputs, [overlap_protocol], kind="overlap", progress=False)
overlap_med = overlap.groupby(["model", "depth", "layer"], as_index=False)[["overlap", "pair_capacity"]].median()
display(overlap_med.pivot_table(index=["depth", "layer"], columns="model", values="overlap").round(3))
glue(
    "fig_overlap",
    charts.line_with_errorbars(overlap_med, "depth", "overlap", "model", title="Clean vs adversarial overlap",
                              domain=[k for k in kinds if k != "adversarial"]),
    display=False,
)  # fmt: skip
if {"deterministic", "stochastic"} <= set(kinds) and eps_geo > 0:
    late_overlap = overlap_med[overlap_med.depth.isin(late_layers(ex_med))].groupby("model").overlap.mean()
    glue("overlap_det", float(late_overlap["deterministic"]), display=False)
    glue("overlap_sto", float(late_overlap["stochastic"]), display=False)
    if check_findings:
        assert late_overlap["stochastic"] > late_overlap["deterministic"] + margin, late_overlap

# %% [markdown]
# ```{glue:figure} fig_overlap
# :name: fig-auditory-overlap
#
# Overlap of clean and adversarial exemplar manifolds against layer depth (medians over seeds; 0 =
# linearly separated, 1 = indistinguishable).
# ```
#
# In the last two layers, the clean and adversarial manifolds of a clip overlap by
# {glue:text}`overlap_sto:.3f` in the stochastic network against {glue:text}`overlap_det:.3f` in the
# deterministic one: the attack's push stays inside the noise cloud, the mechanism the trade-off
# chapter studies.
#
# ## Train on synthetic speech, test on a real voice
#
# Are the networks recognising words, or synthesiser artefacts? Debian's `asterisk-core-sounds-en-wav`
# has one recording of each digit by a real speaker, at 8 kHz (telephone band: nothing above 4 kHz).
# Ten clips are a coarse check, so we report counts.

# %%
real_rows = []
try:
    real = load_asterisk_digits(vocabulary, sample_rate=sr)
except (FileNotFoundError, ValueError) as err:  # no recordings installed, or no digit in the vocabulary
    real = None
    display(Markdown(f"*Skipped: {err}*"))
if real is not None:
    xr, yr = real.tensors()
    for kind, model in models.items():
        draws = n_draws if kind in stochastic else 1
        correct = accuracy(model, xr, yr, n_draws=draws, seed=0) * len(xr)
        real_rows.append({"network": kind, "correct": correct, "of": len(xr)})
        glue(f"real_correct_{kind}", float(correct), display=False)
    display(pd.DataFrame(real_rows).set_index("network").round(1))
    glue("real_n", len(xr), display=False)
    glue("real_chance", len(xr) / len(vocabulary), display=False)

# %% [markdown]
# On the recorded digits the deterministic network gets {glue:text}`real_correct_deterministic:.0f` of
# {glue:text}`real_n` right and the stochastic one {glue:text}`real_correct_stochastic:.1f` (averaged
# over noise draws), against {glue:text}`real_chance:.1f` expected by chance: the transfer from
# synthetic to real speech is partial. With one speaker and ten clips this is a sanity check, not a
# measurement; training on a recorded corpus (`advgeom.data.audio.load_word_folder` reads Speech
# Commands) is the way to a real one.
#
# ## Try it
#
# Re-run this chapter with less auditory-nerve noise (a larger gain):
#
# ```bash
# advgeom run 02_auditory_generalization -p gain 100
# ```
#
# ```{exercise} How much noise is enough?
# :label: ex-auditory-gain
#
# Run the chapter with `gain` 10 and 100. How do the stochastic network's clean accuracy, its accuracy
# under the small $L_2$ attack, and the radius of its clean exemplar manifolds at the nerve change?
# ```
#
# ```{solution} ex-auditory-gain
# :class: dropdown
#
# The noise standard deviation scales as $1/\sqrt{\text{gain}}$. With gain 10 the clouds are wider
# (larger clean radius), clean accuracy falls and robustness to small attacks rises further until the
# noise drowns the words; with gain 100 the network approaches its deterministic twin: small radius,
# higher clean accuracy, less robustness. This is the trade-off of the next chapter, in hearing.
# ```
