"""Training experiments on MNIST / Fashion-MNIST: Tables 1-6, Figs 1-6, 21, 22, the ablation, the
ESD of a trained layer, and the headline under the authors' protocol.

``compute`` (the MLP runs) and ``protocol`` (the authors' protocol and its arms) hold the per-seed
computations (plain data); ``entries`` and ``headline`` plot, judge and register them.
"""

# the family's old module path (rmtheory.experiments.training) is this package: its compute
# names stay importable from here
from rmtheory.experiments.training.compute import (  # noqa: F401, E402
    METHODS,
    layer_spectrum,
    load_data,
    sparsification_curve,
    train_run,
    truncation_curve,
)

__all__ = [
    "METHODS",
    "layer_spectrum",
    "load_data",
    "sparsification_curve",
    "train_run",
    "truncation_curve",
]
