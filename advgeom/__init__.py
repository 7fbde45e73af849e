"""advgeom: neural population geometry of adversarial robustness.

A small package under an executable book reproducing Dapello, Feather, Le, et al.,
"Neural population geometry reveals the role of stochasticity in robust perception"
(NeurIPS 2021).
"""

__version__ = "0.1.0"
