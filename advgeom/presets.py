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
            "seeds": [0, 1, 2], "n_t": 150, "cover_P": [10, 40, 100], "n_dichotomies": 150, "gardner_P": 30,
            "ball_P": 16, "ball_radii": [0.1, 0.5, 1.0, 2.0, 4.0], "ball_dims": [1, 2, 3], "sphere_M": 100,
            "gauss_P": 16, "gauss_M": 12, "gauss_D": 6, "gauss_N": 200, "gauss_radii": [0.1, 0.3, 1.0, 3.0],
            "sim_dichotomies": 80,
        },
    },
    "01_vision_geometry": {
        "tiny": {},
        "classroom": {},
    },
    "02_auditory_generalization": {
        "tiny": {},
        "classroom": {},
    },
    "04_methods": {
        "tiny": {
            "train_size": 200, "epochs": 1, "n_v1_samples": 500, "n_noise_draws": 20, "n_examples": 2, "n_eval": 20,
            "attack_steps": 4, "eot": 2,
        },
        "classroom": {"train_size": 12000, "epochs": 3, "n_eval": 100, "attack_steps": 16},
    },
    "03_tradeoff": {
        "tiny": {},
        "classroom": {},
    },
}

ESTIMATES: dict[str, dict[str, str]] = {
    "00_capacity_theory": {"default": "~3-4 min on one CPU core", "classroom": "~1-2 min", "tiny": "<1 min"},
    # "01_vision_geometry": {"default": "~30 min on a GPU", "classroom": "~5 min on a CPU", "tiny": "<1 min"},
}
