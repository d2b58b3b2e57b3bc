"""Moved: Figs 15-16 to :mod:`rmtheory.experiments.spikes.entries`, Figs 17-18 to
:mod:`rmtheory.experiments.bema.entries`; importing this name still fills the registry."""

from rmtheory.experiments.bema import entries as _bema  # noqa: F401
from rmtheory.experiments.spikes import entries as _spikes  # noqa: F401
