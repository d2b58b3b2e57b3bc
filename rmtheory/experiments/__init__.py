"""The paper's experiments as functions returning plain data, and the registry that reproduces them.

>>> from rmtheory.experiments import EXPERIMENTS
>>> "fig17" in EXPERIMENTS
True
"""

from rmtheory.experiments import catalog as _catalog  # noqa: F401  (fills the registry)
from rmtheory.experiments import catalog_cnn as _catalog_cnn  # noqa: F401
from rmtheory.experiments import catalog_headline as _catalog_headline  # noqa: F401
from rmtheory.experiments import catalog_theorems as _catalog_theorems  # noqa: F401
from rmtheory.experiments import catalog_theory as _catalog_theory  # noqa: F401
from rmtheory.experiments import catalog_training as _catalog_training  # noqa: F401
from rmtheory.experiments.registry import (
    ALIASES,
    EXPERIMENTS,
    VERDICTS,
    Claim,
    Experiment,
    map_seeds,
    register_alias,
    reproduce,
)
from rmtheory.experiments.report import script_main, write_gallery, write_report

__all__ = [
    "ALIASES",
    "EXPERIMENTS",
    "VERDICTS",
    "register_alias",
    "Claim",
    "Experiment",
    "map_seeds",
    "reproduce",
    "script_main",
    "write_gallery",
    "write_report",
]
