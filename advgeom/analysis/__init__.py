"""The geometry protocol of the study: perturb inputs, read out layers, measure manifolds, summarise.

Dapello, Feather et al. (NeurIPS 2021), section 3. One module per step:

* :mod:`~advgeom.analysis.protocol`: what one measurement is (:class:`Protocol`) and its inputs (:func:`perturb`);
* :mod:`~advgeom.analysis.manifolds`: layer read-out, random projection, class and exemplar manifolds;
* :mod:`~advgeom.analysis.measurements`: MFTMA geometry and clean/adversarial overlap behind one cache
  (:func:`measure`), over grids of models, protocols and seeds (:func:`measure_grid`);
* :mod:`~advgeom.analysis.accuracy`: accuracy under attack over grids of norms and strengths, per example;
* :mod:`~advgeom.analysis.convergence`: is the attack converged (steps, EOT draws, AutoAttack)?
* :mod:`~advgeom.analysis.uncertainty`: intervals over seeds and examples, findings checked on them;
* :mod:`~advgeom.analysis.sweep`: the same measurements fanned out over Dask;
* :mod:`~advgeom.analysis.summaries`: summaries over seeds and checks of the findings the chapters share.
"""

from advgeom.analysis.accuracy import AccuracySweep, accuracy_sweep, pgd_scores
from advgeom.analysis.convergence import (
    attack_setting,
    autoattack_scores,
    check_converged,
    convergence_table,
    setting_scores,
)
from advgeom.analysis.manifolds import random_projection, representations, split_by_label, split_exemplars
from advgeom.analysis.measurements import (
    KINDS,
    METRICS,
    OVERLAP_METRICS,
    manifold_geometry,
    measure,
    measure_grid,
    overlap_geometry,
)
from advgeom.analysis.protocol import (
    DEFAULT_BOUNDS,
    MANIFOLDS,
    PERTURBATIONS,
    Protocol,
    attack_steps_for,
    perturb,
    random_perturbation,
)

__all__ = [
    "AccuracySweep",
    "DEFAULT_BOUNDS",
    "KINDS",
    "MANIFOLDS",
    "METRICS",
    "OVERLAP_METRICS",
    "PERTURBATIONS",
    "Protocol",
    "accuracy_sweep",
    "attack_steps_for",
    "attack_setting",
    "autoattack_scores",
    "check_converged",
    "convergence_table",
    "manifold_geometry",
    "measure",
    "measure_grid",
    "overlap_geometry",
    "perturb",
    "pgd_scores",
    "random_perturbation",
    "random_projection",
    "representations",
    "setting_scores",
    "split_by_label",
    "split_exemplars",
]
