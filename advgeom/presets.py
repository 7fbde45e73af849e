"""Named parameter sets for the book's notebooks.

``PRESETS[notebook_stem][preset_name]`` is a dict of parameter overrides for that
notebook (names must be parameters of the notebook's ``# %% tags=["parameters"]``
cell, values of the same type as the defaults; ``advgeom.runner`` checks this
before running anything, and ``tests/test_runner.py`` checks every preset here).

Every notebook should define at least:

* ``"tiny"``: seconds on a CPU; used by the tests (numbers are not meaningful).
* ``"classroom"``: a few minutes on a laptop CPU; the shapes of the results hold.

Running with no preset uses the notebook's own defaults (the full book).
``ESTIMATES`` holds rough human-written costs printed before a run
(key ``"default"`` for no preset).

Chapter authors: fill in your notebook's entries below.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "00_capacity_theory": {
        # small sizes; every check still runs, with tolerances set by the (larger) standard errors
        "tiny": {
            "seeds": [0, 1], "n_t": 150, "cover_P": [10, 40], "n_dichotomies": 100, "gardner_P": 20,
            "kappa_grid": [-0.5, 0.0, 1.0], "ball_P": 10, "ball_radii": [0.5, 2.0], "ball_dims": [1, 2],
            "sphere_M": 32, "gauss_P": 10, "gauss_M": 10, "gauss_D": 5, "gauss_N": 100,
            "gauss_radii": [0.25, 1.0], "sim_dichotomies": 60,
        },
        "classroom": {
            "seeds": [0, 1, 2], "n_t": 200, "cover_P": [10, 40, 100], "n_dichotomies": 200,
            "gardner_P": 40, "ball_P": 20, "ball_radii": [0.1, 0.5, 1.0, 2.0, 4.0], "sphere_M": 150,
            "gauss_P": 20, "gauss_M": 16, "gauss_D": 8, "gauss_N": 320, "gauss_radii": [0.1, 0.3, 1.0, 3.0],
            "sim_dichotomies": 100,
        },
    },
    "01_vision_geometry": {
        # small models and sizes; every finding is still asserted (margins as in the defaults)
        "tiny": {
            "train_size": 3000, "epochs": 2, "eps_grid": [0.0, 0.05, 0.1], "eps_l2": [0.0, 1.0], "eps_l1": [0.0, 10.0],
            "n_accuracy": 200, "n_classes": 5, "per_class": 8, "n_exemplars": 5, "repeats": 5, "width": 300,
            "n_t": 40, "seeds": [0], "eot": 2, "attack_steps": 6, "n_draws": 4,
        },
        "classroom": {
            "train_size": 6000, "epochs": 2, "eps_grid": [0.0, 0.05, 0.1], "n_accuracy": 200, "per_class": 12,
            "n_exemplars": 10, "repeats": 10, "width": 1000, "n_t": 60, "seeds": [0, 1], "eot": 4,
            "attack_steps": 10, "n_draws": 8,
        },
    },
    "02_auditory_generalization": {
        # toy sizes: a 2-epoch network on 48 clips cannot be expected to generalise or to show the robustness
        # and overlap findings, so check_findings=False; the structural checks (deterministic clean exemplars
        # are points, the nerve noise gives them extent, accuracy never rises with eps) still run.
        "tiny": {
            "words": ["yes", "no", "two", "seven"], "n_train": 12, "n_test": 4, "epochs": 2, "adv_epochs": 1,
            "n_accuracy": 8, "eps_linf": [0.0, 0.001], "eps_l2": [0.0, 0.3], "attack_steps": 3, "eot": 2,
            "n_draws": 2, "geo_eps": [0.0, 0.3], "per_class": 3, "n_exemplars": 4, "repeats": 3, "width": 200,
            "n_t": 30, "seeds": [0], "check_findings": False,
        },
        # classroom: the ten digits (half the vocabulary, so the full 200 clips per word train in the time of
        # 100 clips of 20 words, which left the stochastic net undertrained and its robustness finding failing);
        # every finding asserted, as in the defaults
        "classroom": {
            "words": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
            "n_train": 200, "n_test": 40, "n_accuracy": 40, "eps_linf": [0.0, 0.0003, 0.001],
            "eps_l2": [0.0, 0.1, 0.3], "eot": 4, "n_draws": 8, "n_exemplars": 8, "repeats": 4, "seeds": [0, 1],
        },
    },
    "04_methods": {
        "tiny": {
            "train_size": 200, "epochs": 1, "n_v1_samples": 500, "n_noise_draws": 20, "n_examples": 2, "n_eval": 20,
            "attack_steps": 4, "eot": 2,
        },
        "classroom": {"train_size": 10000, "epochs": 2, "n_eval": 50, "attack_steps": 10},
    },
    "03_tradeoff": {
        "tiny": {
            "train_size": 3000, "epochs": 2, "noise_grid": [0.0, 1.0, 4.0], "eps": 0.05, "n_accuracy": 200,
            "n_classes": 10, "per_class": 16, "n_exemplars": 4, "repeats": 5, "width": 300, "n_t": 40, "seeds": [0],
            "eot": 2, "attack_steps": 6, "n_draws": 4,
        },
        "classroom": {
            "train_size": 6000, "epochs": 2, "noise_grid": [0.0, 0.5, 1.0, 2.0, 4.0], "n_accuracy": 200,
            "per_class": 12, "n_exemplars": 8, "repeats": 8, "width": 1000, "n_t": 60, "seeds": [0, 1], "eot": 4,
            "attack_steps": 10, "n_draws": 8,
        },
    },
}

ESTIMATES: dict[str, dict[str, str]] = {
    "04_methods": {
        "default": "15 s on 2 idle CPU cores with the standard and vone models cached; training them first adds "
        "~4 min",
        "classroom": "23 s from scratch on 2 idle CPU cores, training the two small models included",
        "tiny": "9 s from scratch on 2 idle CPU cores",
    },
    "00_capacity_theory": {"default": "~1.5 min on one CPU core", "classroom": "23 s", "tiny": "5 s"},
    "01_vision_geometry": {
        "default": "4.2 min on 2 idle CPU cores with the four models cached; training them first adds ~9 min "
        "(a VOne network: 2-3 min)",
        "classroom": "2.4 min from scratch on 2 idle CPU cores, training the four small models included",
        "tiny": "42 s from scratch on 2 idle CPU cores",
    },
    "02_auditory_generalization": {
        "default": "8.3 min from scratch on 2 idle CPU cores (measured: corpus and three word nets 4 min, "
        "accuracy sweep 2.6 min, geometry 1.5 min); ~4 min with corpus and nets cached",
        "classroom": "4.1 min from scratch on 2 idle CPU cores (ten digit words; corpus and three nets 2 min)",
        "tiny": "15 s from scratch on 2 idle CPU cores",
    },
    "03_tradeoff": {
        "default": "1.8 min on 2 idle CPU cores with the five VOne models cached; training the four that chapter "
        "01 does not share adds ~11 min (measured 2-3 min each)",
        "classroom": "69 s from scratch on 2 idle CPU cores, training the five small models included",
        "tiny": "14 s after chapter 01's tiny run (same cache) on 2 idle CPU cores",
    },
}
