"""The paper's experiments as functions returning plain data, and the registry that reproduces them.

One package per family (``spikes``, ``bema``, ``theory``, ``theorems``, ``training``, ``cnn``),
each with its ``compute`` module (per-seed computations, plain data) apart from its ``entries``
(plot, judge with :mod:`rmtheory.experiments.rules`, register).

>>> from rmtheory.experiments import EXPERIMENTS
>>> "fig17" in EXPERIMENTS
True
"""

# importing each family's entries fills the registry
from rmtheory.experiments.bema import entries as _bema  # noqa: F401
from rmtheory.experiments.cnn import entries as _cnn  # noqa: F401
from rmtheory.experiments.spikes import entries as _spikes  # noqa: F401
from rmtheory.experiments.theorems import entries as _theorems  # noqa: F401
from rmtheory.experiments.theory import entries as _theory  # noqa: F401
from rmtheory.experiments.training import entries as _training  # noqa: F401
from rmtheory.experiments.training import headline as _headline  # noqa: F401
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
