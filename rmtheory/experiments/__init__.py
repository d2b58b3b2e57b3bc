"""The paper's experiments as functions returning plain data, and the registry that reproduces them.

One package per family (``spikes``, ``bema``, ``theory``, ``theorems``, ``training``, ``cnn``),
each with its ``compute`` module (per-seed computations, plain data) apart from its ``entries``
(plot, judge with :mod:`rmtheory.experiments.rules`, register).

>>> from rmtheory.experiments import EXPERIMENTS
>>> "fig17" in EXPERIMENTS
True
"""

# importing each family's entries (the ``_bema`` … ``_headline`` names) fills the registry
from rmtheory.experiments.bema import entries as _bema  # noqa: F401
from rmtheory.experiments.cnn import entries as _cnn  # noqa: F401
from rmtheory.experiments.registry import (
    ALIASES,
    EXPERIMENTS,
    SCHEMATICS,
    VERDICTS,
    Claim,
    Experiment,
    map_seeds,
    paper_order,
    register_alias,
    register_schematic,
    reproduce,
)
from rmtheory.experiments.report import script_main, write_gallery, write_report
from rmtheory.experiments.spikes import entries as _spikes  # noqa: F401
from rmtheory.experiments.theorems import entries as _theorems  # noqa: F401
from rmtheory.experiments.theory import entries as _theory  # noqa: F401
from rmtheory.experiments.training import entries as _training  # noqa: F401
from rmtheory.experiments.training import headline as _headline  # noqa: F401

# The paper's drawings (Example 9.2, §9): figures with nothing to compute.  They are records like
# the experiments, so the verdict page lists them in the paper's order without a hand-kept list.
register_schematic("fig19", "a schematic of a 10×10 layer split into 10→2→10 (Example 9.2)")
register_schematic("fig20", "a schematic of the same split")

__all__ = [
    "ALIASES",
    "EXPERIMENTS",
    "SCHEMATICS",
    "VERDICTS",
    "paper_order",
    "register_alias",
    "register_schematic",
    "Claim",
    "Experiment",
    "map_seeds",
    "reproduce",
    "script_main",
    "write_gallery",
    "write_report",
]
