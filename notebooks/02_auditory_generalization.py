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
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import HTML, Audio, Markdown, display
from myst_nb import glue

from advgeom.analysis import (
    Protocol,
    accuracy_sweep,
    convergence_table,
    measure_grid,
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
from advgeom.attacks import accuracy, example_scores, other_schedule, pgd
from advgeom.book import charts
from advgeom.book.glue import glue_estimate, glue_number
from advgeom.data import class_balanced_subset
from advgeom.data.audio import (
    DEFAULT_WORDS,
    WAVEFORM_BOUNDS,
    CorpusSpec,
    load_asterisk_digits,
)
from advgeom.models import is_stochastic
from advgeom.zoo import get_network
from advgeom.zoo.words import word_corpus

# %% tags=["parameters", "hide-input"]
words = []  # vocabulary ([] = the 20 default words: yes, no, up, down,
#   ..., zero, one, ..., nine) | each length [1, 30] | length [0, 100]
n_train = 200  # synthetic training clips per word | in [1, 2000]
n_test = 50  # synthetic test clips per word (said by held-out voices)
#   | in [1, 2000]
corpus_seed = 0  # seed of the corpus synthesis | in [0, 1e9]
gain = 30.0  # auditory-nerve noise gain of the stochastic network (spikes
#   per unit; larger = less noise) | in (0, 10000]
epochs = 0  # training epochs of the deterministic and stochastic networks
#   (0 = default recipe) | in [0, 1000]
adv_epochs = 0  # adversarial fine-tuning epochs (0 = default recipe)
#   | in [0, 1000]
adv_eps = 0.3  # L2 budget (waveform units) of adversarial training
#   | in [0, 10]
kinds = ["deterministic", "stochastic", "adversarial"]  # networks to
#   compare | each one of deterministic, stochastic, adversarial
#   | length [1, 3]
n_accuracy = 40  # test clips per seed scored under attack (balanced over
#   words) | in [1, 10000]
eps_linf = [0.0, 0.0003, 0.001]  # L-inf attack budgets (waveform units;
#   clips have RMS 0.05) | each in [0, 1] | length [1, 12]
eps_l2 = [0.0, 0.03, 0.1, 0.3]  # L2 attack budgets (waveform units; a
#   clip has L2 norm ~6.3) | each in [0, 10] | length [1, 12]
attack_steps = 20  # PGD steps (mean step size eps/4) | in [1, 10000]
step_schedule = "linear"  # PGD step sizes: "linear" decays from eps/2 to
#   eps/(2 steps), "constant" stays at eps/4 | one of constant, linear
deterministic_steps = 40  # PGD steps on the deterministic networks (a
#   step costs them one pass, not eot) | in [1, 10000]
eot = 8  # noise draws averaged per attack gradient on the stochastic
#   network | in [1, 1000]
n_draws = 16  # noise draws when scoring the stochastic network
#   | in [1, 1000]
geo_norm = "l2"  # attack norm of the manifold geometry
#   | one of linf, l2, l1
geo_eps = [0.0, 0.3]  # attack strengths of the exemplar geometry and
#   overlap (0 = clean; 0.3 = max of eps_l2) | each in [0, 10]
#   | length [1, 12]
class_eps = [0.0]  # attack strengths of the word (class) manifolds
#   (attacking P x M clips with EOT is costly) | each in [0, 10]
#   | length [1, 12]
per_class = 4  # M clips per word (class) manifold | in [2, 1000]
n_exemplars = 8  # P clips whose exemplar manifolds are measured
#   | in [2, 1000]
repeats = 6  # M perturbed versions (random-start attacks, fresh noise)
#   per exemplar | in [2, 1000]
width = 1000  # random-projection width for wider layers | in [2, 20000]
n_t = 100  # MFTMA Gaussian samples per manifold | in [1, 5000]
seeds = [0, 1, 2, 3, 4]  # test-clip subsets, attack starts, noise draws,
#   projections and MFTMA samples | each in [0, 1e9] | length [1, 20]
n_convergence = 40  # test clips of the attack-convergence check (default
#   vs 4x steps and 4x draws) | in [1, 10000]
convergence_steps = [1, 3, 10, 30]  # PGD steps of the convergence panel
#   | each in [1, 10000] | length [1, 12]
convergence_eot = [1, 4, 16]  # EOT draws of the convergence panel (the
#   stochastic network) | each in [1, 1000] | length [1, 12]
margin = 0.05  # structural thresholds: a point manifold has radius < 1e-3
#   and capacity > 2 - margin | in [0, 1]
check_findings = True  # establish the findings that need trained
#   networks; False for toy sizes (not contradicted)
listen_eps = 0.1  # L2 budget of the attack we listen to | in [0, 10]
listen_scale = 10.0  # the perturbation is played this many times louder
#   than it is | in (0, 1000]


# %%
charts.setup_charts()
torch.manual_seed(0)
vocabulary = list(words) or list(DEFAULT_WORDS)
corpus_spec = CorpusSpec(
    words=tuple(vocabulary),
    n_train=n_train,
    n_test=n_test,
    seed=corpus_seed,
)
corpus = word_corpus(corpus_spec)
sr = corpus.sample_rate
train_set, test_set = corpus.split("train"), corpus.split("test")
options = {
    "deterministic": {"epochs": epochs or None},
    "stochastic": {"gain": gain, "epochs": epochs or None},
    "adversarial": {"epochs": adv_epochs or None, "adv_eps": adv_eps},
}
models = {
    kind: get_network(f"word_{kind}", corpus=corpus_spec, **options[kind])
    for kind in kinds
}
stochastic = [
    kind for kind, model in models.items() if is_stochastic(model)
]
deterministic = [kind for kind in kinds if kind not in stochastic]


# a finding: the interval of a difference (paired over the same clips
# or seeds) excludes zero
finding = partial(check_difference, establish=check_findings)


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
    clips=("word", "size"),
    voices=("speaker", "nunique"),
    words=("word", "nunique"),
    median_snr_db=("snr_db", "median"),
)
display(charts.table(summary, digits=1))
display(
    charts.table(
        table.groupby(["split", "synth"]).size().unstack(fill_value=0)
    )
)
clip_rms = float(
    np.sqrt(
        np.mean(corpus.waveforms.astype(np.float64) ** 2, axis=1)
    ).mean()
)
clip_l2 = float(
    np.median(np.linalg.norm(corpus.waveforms.astype(np.float64), axis=1))
)
glue("n_train_clips", int(summary.loc["train", "clips"]), display=False)
glue("n_test_clips", int(summary.loc["test", "clips"]), display=False)
glue("n_train_voices", int(summary.loc["train", "voices"]), display=False)
glue("n_test_voices", int(summary.loc["test", "voices"]), display=False)
glue("n_words", len(vocabulary), display=False)
glue("clip_rms", clip_rms, display=False)
glue("clip_l2", clip_l2, display=False)
assert set(table[table.split == "train"].speaker).isdisjoint(
    table[table.split == "test"].speaker
)

# %% [markdown]
# The corpus has {glue:text}`n_train_clips` training clips by {glue:text}`n_train_voices` voices and
# {glue:text}`n_test_clips` test clips by {glue:text}`n_test_voices` other voices, over
# {glue:text}`n_words` words. A clip has RMS {glue:text}`clip_rms:.3f` and $L_2$ norm
# {glue:text}`clip_l2:.2f` (16 000 samples): the scale against which the attack budgets below are set.
#
# ## The networks

# %%
x_test, y_test = test_set.tensors()
test_acc = {
    kind: t_interval(example_scores(m, x_test, y_test, n_draws=4, seed=0))
    for kind, m in models.items()
}
training = pd.DataFrame(
    [
        {
            "network": kind,
            "epochs": len(m.train_history["epochs"]),
            "train seconds": round(
                float(m.train_history["train_seconds"]), 1
            ),
            "final train accuracy": round(
                m.train_history["epochs"][-1]["train_accuracy"], 3
            ),
            "test accuracy": test_acc[kind].format(),
        }
        for kind, m in models.items()
    ]
).set_index("network")
display(charts.table(training))
for kind in kinds:
    glue_estimate(f"test_acc_{kind}", test_acc[kind])
chance = 1 / len(vocabulary)
glue("chance", chance, display=False)
for kind in kinds:
    est = test_acc[kind]
    finding(
        type(est)(est.value - chance, est.half, est.n),
        f"{kind}: above chance on unheard voices",
    )

# %% [markdown]
# On the whole test set (unheard voices), the deterministic network recognises
# {glue:text}`test_acc_deterministic:.3f` ± {glue:text}`test_acc_deterministic_half:.3f` of the words and
# the stochastic network {glue:text}`test_acc_stochastic:.3f` ± {glue:text}`test_acc_stochastic_half:.3f`
# (averaged over noise draws; 95% intervals over the clips); chance is {glue:text}`chance:.2f`.
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
# we pool the clips of every seed, and give every accuracy with its 95% interval over the clips. The
# stochastic network is attacked with EOT (`eot` noise draws averaged per gradient step) and scored over
# `n_draws` fresh draws. As in the trade-off chapter, the step size decays linearly over the steps
# (`step_schedule`: large steps first, fine ones at the end, a mean step of eps/4): at a constant step of
# eps/4 the attack on the stochastic network was still finding more with four times its steps and draws
# in our runs, which the convergence check below rejects. A step on a deterministic network costs one
# pass instead of `eot`, so the deterministic networks take `deterministic_steps` steps (at
# `attack_steps` the deterministic network's attack had not converged in our runs; the convergence check
# below covers every network).

# %%
per_word = max(1, n_accuracy // len(vocabulary))
acc_inputs = {
    s: class_balanced_subset(
        test_set.dataset(), len(vocabulary), per_word, seed=s
    )
    for s in seeds
}
grids = {"linf": eps_linf, "l2": eps_l2}
attack = {
    "steps": attack_steps,
    "eot": eot,
    "n_draws": n_draws,
    "bounds": WAVEFORM_BOUNDS,
    "deterministic_steps": deterministic_steps,
    "schedule": step_schedule,
}
sweep = accuracy_sweep(
    models, acc_inputs, grids, progress=False, **attack
)
acc = sweep.table
acc["snr_db"] = [
    math.inf
    if e == 0
    else 20 * math.log10((clip_l2 if n == "l2" else clip_rms) / e)
    for n, e in zip(acc.norm, acc.eps, strict=True)
]
budgets = acc.drop_duplicates(["norm", "eps"])[
    ["norm", "eps", "snr_db"]
].set_index(["norm", "eps"])
display(charts.table(budgets, digits=1))
acc_table = charts.interval_cells(
    acc, "accuracy", ["norm", "eps"], "model", order=kinds
)
display(charts.table(acc_table))
charts.publish(
    charts.with_interval(acc, "accuracy", ["model", "norm", "eps"]),
    "accuracy",
    "Word accuracy under waveform PGD (95% interval over the clips)",
)
accuracy_chart = charts.faceted_lines(
    acc,
    "eps",
    "accuracy",
    "model",
    "norm",
    lo="lo",
    hi="hi",
    columns=2,
    domain=kinds,
    title="Word accuracy under waveform PGD",
)
glue(
    "fig_accuracy",
    accuracy_chart.resolve_scale(x="independent"),
    display=False,
)

# %% [markdown]
# ```{glue:figure} fig_accuracy
# :name: fig-auditory-accuracy
#
# Word accuracy against the waveform attack budget $\epsilon$, for $L_\infty$ and $L_2$ PGD, over the
# clips of every seed, with 95% intervals. The stochastic network is attacked with EOT and scored over
# fresh noise draws.
# ```

# %%
small = {
    norm: sorted(e for e in grid if e > 0)[0]
    for norm, grid in grids.items()
}
for norm, e in small.items():
    glue(f"small_eps_{norm}", e, display=False)
    glue(
        f"small_snr_{norm}",
        float(budgets.loc[(norm, e), "snr_db"]),
        display=False,
    )
    for kind in kinds:
        glue_estimate(
            f"acc_{norm}_small_{kind}", sweep.estimate(kind, norm, e)
        )
for kind in kinds:
    glue_estimate(f"clean_{kind}", sweep.estimate(kind, "l2", 0.0))

# Accuracy never rises with eps: no step of a grid is significantly up.
for kind in kinds:
    for norm, grid in grids.items():
        grid = sorted(grid)
        for lo_eps, hi_eps in zip(grid[:-1], grid[1:], strict=True):
            rise = sweep.difference(
                (kind, norm, hi_eps), (kind, norm, lo_eps)
            )
            check_difference(
                rise,
                f"{kind} {norm} {lo_eps:g}->{hi_eps:g}",
                expect="negative",
                establish=False,
            )
# Does the stochastic network beat the deterministic one at the small
# budgets (paired over the same clips)?
if {"deterministic", "stochastic"} <= set(kinds):
    for norm, e in small.items():
        per_seed = sweep.per_seed[
            (sweep.per_seed.norm == norm)
            & np.isclose(sweep.per_seed.eps, e)
        ].pivot(index="seed", columns="model", values="accuracy")
        glue(
            f"wins_{norm}",
            int((per_seed.stochastic > per_seed.deterministic).sum()),
            display=False,
        )
        gap = sweep.difference(
            ("stochastic", norm, e), ("deterministic", norm, e)
        )
        glue_estimate(
            f"gap_{norm}",
            finding(
                gap,
                f"{norm} eps={e:g}: stochastic more robust than "
                "deterministic",
            ),
        )
    glue("n_seeds", len(seeds), display=False)
if {"deterministic", "adversarial"} <= set(kinds):
    at_gap = sweep.difference(
        ("adversarial", "l2", small["l2"]),
        ("deterministic", "l2", small["l2"]),
    )
    glue_estimate(
        "gap_at_l2",
        finding(at_gap, "adversarial training helps against L2"),
    )

# %% [markdown]
# Clean, the three networks recognise {glue:text}`clean_deterministic:.3f` ±
# {glue:text}`clean_deterministic_half:.3f` (deterministic), {glue:text}`clean_stochastic:.3f` ±
# {glue:text}`clean_stochastic_half:.3f` (stochastic) and {glue:text}`clean_adversarial:.3f` ±
# {glue:text}`clean_adversarial_half:.3f` (adversarially trained) of the attacked clips. An $L_2$
# perturbation of $\epsilon =$ {glue:text}`small_eps_l2:.2f` — {glue:text}`small_snr_l2:.0f` dB below the
# clip, a faint hiss — brings the deterministic network to {glue:text}`acc_l2_small_deterministic:.3f`,
# while the stochastic network keeps {glue:text}`acc_l2_small_stochastic:.3f` (a gap of
# {glue:text}`gap_l2:+.3f` ± {glue:text}`gap_l2_half:.3f`, paired over the same clips; it wins on
# {glue:text}`wins_l2` of {glue:text}`n_seeds` seeds) and the adversarially trained network
# {glue:text}`acc_l2_small_adversarial:.3f`. Under $L_\infty$ at $\epsilon =$
# {glue:text}`small_eps_linf:.4f` ({glue:text}`small_snr_linf:.0f` dB) the deterministic network keeps
# {glue:text}`acc_linf_small_deterministic:.3f` and the stochastic network
# {glue:text}`acc_linf_small_stochastic:.3f` (gap {glue:text}`gap_linf:+.3f` ± {glue:text}`gap_linf_half:.3f`,
# {glue:text}`wins_linf` of {glue:text}`n_seeds` seeds). So, as in vision, **auditory-nerve noise makes
# the word network more robust to small waveform attacks, even when the attacker averages over the
# noise** — and, as in vision, larger budgets defeat every network.

# %% [markdown]
# **Is the attack strong enough?** As in the vision chapter, on `n_convergence` clips of the first seed
# every network is attacked at the small $L_2$ budget with `convergence_steps` steps and, for the
# stochastic network, `convergence_eot` draws per step, and with four times the chapter's steps and
# draws. The chapter's attack must be within one accuracy point of the strongest.

# %%
x_conv, y_conv = spread_subset(
    *acc_inputs[seeds[0]], n_convergence
)  # every word takes its turn
conv_attack = {  # the chapter's attack at the small L2 budget
    "eps": small["l2"],
    "norm": "l2",
    "steps": attack_steps,
    "eot": eot,
    "n_draws": n_draws,
    "bounds": WAVEFORM_BOUNDS,
    "seed": seeds[0],
}
conv = convergence_table(
    models,
    x_conv,
    y_conv,
    **conv_attack,
    deterministic_steps=deterministic_steps,
    steps_grid=convergence_steps,
    eot_grid=convergence_eot,
    schedule=step_schedule,
    progress=False,
)
strongest = conv[conv.strongest].set_index("model")
display(
    charts.table(
        strongest[
            ["steps", "eot", "accuracy", "diff", "diff_lo", "diff_hi"]
        ]
    )
)
charts.publish(
    charts.with_interval(
        conv[conv.attack == "pgd"], "accuracy", ["model", "steps", "eot"]
    ),
    "convergence",
    f"Accuracy at L2 eps={small['l2']:g} against PGD steps and EOT draws",
    identifiers=["steps", "eot"],
)
glue_number("conv_worst", strongest["diff"].min())
glue(
    "fig_convergence",
    charts.line_with_errorbars(
        conv[conv.attack == "pgd"].sort_values("steps"),
        "steps",
        "accuracy",
        "model",
        lo="lo",
        hi="hi",
        log_x=True,
        domain=kinds,
        title="PGD steps (L2, small budget)",
    ),
    display=False,
)
if check_findings:
    check_converged(conv, tolerance=0.01)
# the same attack with the other step schedule, on the stochastic network
# (its default-schedule scores are the table's, from the cache)
if "stochastic" in models:
    other = other_schedule(step_schedule)
    sto_scores = {
        schedule: pgd_scores(
            models["stochastic"],
            x_conv,
            y_conv,
            **conv_attack,
            schedule=schedule,
        )
        for schedule in (other, step_schedule)
    }
    glue_estimate(
        "conv_other_schedule",
        paired_interval(sto_scores[other], sto_scores[step_schedule]),
    )

# %% [markdown]
# ```{glue:figure} fig_convergence
# :name: fig-auditory-convergence
#
# Word accuracy under the small $L_2$ attack against PGD steps (the stochastic network: for each
# number of EOT draws per step; the rightmost point is four times the chapter's steps, `attack_steps`
# or `deterministic_steps`, and draws), on
# the same clips and scoring draws, with 95% intervals. The strongest attack lowers the accuracy by at
# most {glue:text}`conv_worst:.3f` (negative: a drop): the chapter's attack is converged.
# ```
#
# The step schedule matters here: the chapter's attack on the stochastic network with the other step
# schedule (constant steps, for the default linear decay) leaves its accuracy higher by
# {glue:text}`conv_other_schedule:.3f` ± {glue:text}`conv_other_schedule_half:.3f` (paired over the same
# clips and scoring draws; positive: the other schedule finds less).

# %% [markdown]
# ## Listening to an attack
#
# Below, a test clip that the deterministic network recognises, its adversarial version (an $L_2$
# attack of budget `listen_eps` on the deterministic network) and the perturbation itself, **played
# `listen_scale` times louder than it is** so that it can be heard at all. The players are embedded in
# the page (no network access needed).

# %%
x_pool, y_pool = acc_inputs[seeds[0]]
listen_model = (
    models["deterministic"]
    if "deterministic" in models
    else next(iter(models.values()))
)
with torch.no_grad():
    right = (
        (listen_model(x_pool).argmax(1) == y_pool).nonzero().flatten()[:4]
    )
right = right if len(right) else torch.arange(1)
# attack a few correctly recognised clips; listen to the first one the
# attack fools (else the first one)
x_try = pgd(
    listen_model,
    x_pool[right],
    y_pool[right],
    eps=listen_eps,
    norm="l2",
    steps=2 * attack_steps,
    bounds=WAVEFORM_BOUNDS,
    seed=0,
)
with torch.no_grad():
    fooled = (
        (listen_model(x_try).argmax(1) != y_pool[right])
        .nonzero()
        .flatten()
    )
k = int(fooled[0]) if len(fooled) else 0
x_clean, y_clean, x_adv = (
    x_pool[right[k]][None],
    y_pool[right[k]][None],
    x_try[k][None],
)
delta = x_adv - x_clean
listen_snr = float(20 * torch.log10(x_clean.norm() / delta.norm()))


def predict(model: torch.nn.Module, x: torch.Tensor, draws: int) -> str:
    """The most frequent word over ``draws`` passes and its share."""
    with torch.no_grad():
        votes = torch.stack(
            [model(x).argmax(1) for _ in range(draws)]
        ).flatten()
    top = int(votes.mode().values)
    return f"{vocabulary[top]} ({(votes == top).float().mean():.0%})"


rows = []
for kind, model in models.items():
    draws = n_draws if kind in stochastic else 1
    rows.append(
        {
            "network": kind,
            "clean": predict(model, x_clean, draws),
            "adversarial": predict(model, x_adv, draws),
        }
    )
display(charts.table(pd.DataFrame(rows).set_index("network")))
glue("listen_snr", listen_snr, display=False)
glue("listen_eps", listen_eps, display=False)
with torch.no_grad():
    heard = vocabulary[int(listen_model(x_adv).argmax(1))]
display(
    Markdown(
        f'The clip says "{vocabulary[int(y_clean)]}"; after the attack '
        f'the deterministic network hears "{heard}".'
    )
)


def player(x: torch.Tensor) -> str:
    """An offline HTML player (data URI) for a waveform in [-1, 1]."""
    return Audio(
        np.clip(x.flatten().numpy(), -1, 1), rate=sr, normalize=False
    )._repr_html_()


sounds = {
    "clean": x_clean,
    "adversarial": x_adv,
    f"perturbation × {listen_scale:g}": listen_scale * delta,
}
cells = "".join(
    f"<td style='padding:4px'><b>{name}</b><br>{player(x)}</td>"
    for name, x in sounds.items()
)
display(HTML(f"<table><tr>{cells}</tr></table>"))

coch = listen_model.cochleagram
fig, axes = plt.subplots(
    1, 3, figsize=(11, 2.8), sharey=True, constrained_layout=True
)
with torch.no_grad():
    images = {name: coch(x)[0].numpy() for name, x in sounds.items()}
vmax = max(float(im.max()) for im in images.values())
for ax, (name, im) in zip(axes, images.items(), strict=True):
    ax.imshow(
        im,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=0,
        vmax=vmax,
        extent=(0, 1, 0, im.shape[0]),
    )
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
class_inputs = {
    s: class_balanced_subset(
        test_ds, len(vocabulary), per_class, seed=100 + s
    )
    for s in seeds
}
# n_exemplars clips spread over the words, a different draw per seed
exemplar_inputs = {
    s: exemplar_images(
        test_ds, n_exemplars, len(vocabulary), seed=200 + s
    )
    for s in seeds
}
common = {
    "norm": geo_norm,
    "attack_steps": attack_steps,
    "eot": eot,
    "width": width,
    "n_t": n_t,
    "bounds": WAVEFORM_BOUNDS,
    "schedule": step_schedule,
}
class_geo = measure_grid(
    models,
    class_inputs,
    [Protocol(manifold="class", eps=e, **common) for e in class_eps],
    deterministic_steps=deterministic_steps,
)
exemplar_geo = measure_grid(
    models,
    exemplar_inputs,
    [
        Protocol(manifold="exemplar", eps=e, repeats=repeats, **common)
        for e in geo_eps
    ],
    deterministic_steps=deterministic_steps,
)


# %% tags=["hide-input"]
metrics = ["capacity", "radius", "dimension", "center_correlation"]
class_mean, ex_mean = (
    over_seeds(class_geo, metrics),
    over_seeds(exemplar_geo, metrics),
)
for metric in ("capacity", "radius", "dimension"):
    for kind, summary, label in (
        ("class", class_mean, "Word"),
        ("exemplar", ex_mean, "Exemplar"),
    ):
        chart = charts.layer_lines(
            summary,
            metric,
            lo=f"{metric}_lo",
            hi=f"{metric}_hi",
            sort=kinds,
            title=f"{label} manifolds: {metric}",
        )
        glue(f"fig_{kind}_{metric}", chart, display=False)
# two tables: the word and exemplar manifolds have their own eps grids
ids = ["model", "eps", "layer", "depth"]
for kind, summary, title in (
    ("class", class_mean, "Word manifolds"),
    ("exemplar", ex_mean, "Exemplar manifolds"),
):
    charts.publish(
        charts.long_form(summary, metrics, ids),
        f"{kind}-geometry",
        f"{title} by layer (mean over seeds, 95% interval)",
    )

# %% [markdown]
# ```{glue:figure} fig_exemplar_radius
# :name: fig-auditory-exemplar-radius
#
# Exemplar-manifold radius across the layers (from the waveform through the auditory nerve to the logits), one
# panel per network, one line per attack budget (means over seeds, 95% intervals). Deterministic networks map the
# copies of a clean clip to one point; the stochastic network does not, from the nerve on.
# ```
#
# ```{glue:figure} fig_exemplar_capacity
# :name: fig-auditory-exemplar-capacity
#
# Exemplar-manifold capacity (2 for points) across the layers.
# ```
#
# ```{glue:figure} fig_class_capacity
# :name: fig-auditory-class-capacity
#
# Word-manifold capacity across the layers: rising capacity is untangling of the words.
# ```
#
# ```{glue:figure} fig_class_radius
# :name: fig-auditory-class-radius
#
# Word-manifold radius across the layers.
# ```

# %%
clean_ex = ex_mean[np.isclose(ex_mean.eps, 0)]
# 1. Clean exemplar manifolds: points in deterministic networks,
#    extended in the stochastic one from the nerve on.
assert_points(clean_ex, deterministic, margin)
assert_points(
    clean_ex[clean_ex.depth == 0], stochastic, margin
)  # the waveform itself is not noisy
assert_extended(clean_ex[clean_ex.depth >= 1], stochastic, margin)
last_depth = exemplar_geo.depth.max()
for name in stochastic:
    glue_estimate(
        "sto_nerve_radius",
        seed_estimate(
            layer_values(exemplar_geo, name, 0.0, "radius", [1])
        ),
    )
    glue_estimate(
        "sto_nerve_capacity",
        seed_estimate(
            layer_values(exemplar_geo, name, 0.0, "capacity", [1])
        ),
    )
    logits_radius = layer_values(
        exemplar_geo, name, 0.0, "radius", [last_depth]
    )
    glue_estimate("sto_logits_radius", seed_estimate(logits_radius))

# 2. Untangling: word capacity at the logits exceeds that of the
#    waveform (clean; paired over seeds).
clean_class = class_geo[np.isclose(class_geo.eps, 0)]
first_depth, class_last = clean_class.depth.min(), clean_class.depth.max()
for name in kinds:
    first = layer_values(
        clean_class, name, 0.0, "capacity", [first_depth]
    )
    last = layer_values(clean_class, name, 0.0, "capacity", [class_last])
    glue_estimate(f"class_cap_wave_{name}", seed_estimate(first))
    glue_estimate(f"class_cap_logits_{name}", seed_estimate(last))
    finding(
        seed_difference(last, first),
        f"{name}: word capacity rises from the waveform to the logits",
    )

# 3. Attacks spread the deterministic network's exemplar manifolds in
#    the late layers (beyond a point's size).
eps_geo = max(geo_eps)
if "deterministic" in kinds and eps_geo > 0:
    spread = seed_estimate(
        late_per_seed(exemplar_geo, "deterministic", eps_geo, "radius")
    )
    glue_estimate("det_late_radius_adv", spread)
    assert spread.value > margin, spread
if "stochastic" in kinds:
    glue_estimate(
        "sto_late_radius_clean",
        seed_estimate(
            late_per_seed(exemplar_geo, "stochastic", 0.0, "radius")
        ),
    )
    if eps_geo > 0:
        adv_radius = late_per_seed(
            exemplar_geo, "stochastic", eps_geo, "radius"
        )
        glue_estimate("sto_late_radius_adv", seed_estimate(adv_radius))
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
compared = {
    k: models[k] for k in ("deterministic", "stochastic") if k in kinds
}
overlap_protocol = Protocol(
    manifold="exemplar", eps=eps_geo, repeats=repeats, **common
)
overlap = measure_grid(
    compared,
    exemplar_inputs,
    [overlap_protocol],
    kind="overlap",
    progress=False,
)
overlap_mean = over_seeds(
    overlap, ["overlap", "pair_capacity"], ["model", "depth", "layer"]
)
display(
    charts.table(
        overlap_mean.pivot_table(
            index=["depth", "layer"], columns="model", values="overlap"
        )
    )
)
charts.publish(
    charts.long_form(
        overlap_mean,
        ["overlap", "pair_capacity"],
        ["model", "layer", "depth"],
    ),
    "overlap",
    f"Clean vs adversarial exemplar manifolds ({geo_norm} {eps_geo:g})",
)
glue(
    "fig_overlap",
    charts.line_with_errorbars(
        overlap_mean,
        "depth",
        "overlap",
        "model",
        lo="overlap_lo",
        hi="overlap_hi",
        title="Clean vs adversarial overlap",
        domain=[k for k in kinds if k != "adversarial"],
    ),
    display=False,
)
if {"deterministic", "stochastic"} <= set(kinds) and eps_geo > 0:
    late_overlap = {
        k: late_per_seed(
            overlap.assign(eps=eps_geo), k, eps_geo, "overlap"
        )
        for k in compared
    }
    glue_estimate(
        "overlap_det", seed_estimate(late_overlap["deterministic"])
    )
    glue_estimate(
        "overlap_sto", seed_estimate(late_overlap["stochastic"])
    )  # means over the last two layers
    more = seed_difference(
        late_overlap["stochastic"], late_overlap["deterministic"]
    )
    glue_estimate(
        "overlap_gap",
        finding(
            more,
            "clean and adversarial overlap more in the stochastic net",
        ),
    )

# %% [markdown]
# ```{glue:figure} fig_overlap
# :name: fig-auditory-overlap
#
# Overlap of clean and adversarial exemplar manifolds across the layers (means over seeds, 95%
# intervals; 0 = linearly separated, 1 = indistinguishable).
# ```
#
# In the last two layers, the clean and adversarial manifolds of a clip overlap by
# {glue:text}`overlap_sto:.3f` ± {glue:text}`overlap_sto_half:.3f` in the stochastic network against
# {glue:text}`overlap_det:.3f` ± {glue:text}`overlap_det_half:.3f` in the deterministic one: the
# attack's push stays inside the noise cloud, the mechanism the trade-off chapter studies.
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
except (
    FileNotFoundError,
    ValueError,
) as err:  # no recordings installed, or no digit in the vocabulary
    real = None
    display(Markdown(f"*Skipped: {err}*"))
if real is not None:
    xr, yr = real.tensors()
    for kind, model in models.items():
        draws = n_draws if kind in stochastic else 1
        correct = accuracy(model, xr, yr, n_draws=draws, seed=0) * len(xr)
        real_rows.append(
            {"network": kind, "correct": correct, "of": len(xr)}
        )
        glue(f"real_correct_{kind}", float(correct), display=False)
    display(charts.table(pd.DataFrame(real_rows).set_index("network"), 1))
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
