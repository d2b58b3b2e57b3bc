"""The optional PyTorch backend: Algorithm 1 on anyone's PyTorch model (``docs/torch.md``).

Install with ``pip install -e ".[torch]"``.  Importing :mod:`rmtheory` never imports torch; only
this subpackage does.  What it adds is the layer surgery: the spectrum convention, BEMA, every
rank rule and the keep rule are the library's (:mod:`rmtheory.thresholds`,
:mod:`rmtheory.nn.pruners`), so a pruner here makes the same decisions as its NumPy namesake.

``MPPruner``, ``GavishDonohoPruner``, ``EnergyPruner`` (``events = pruner.step(model, optimizer,
epoch)``), ``MagnitudePruner`` (the magnitude baseline), ``MomentumReset``, ``NoPruner``;
``prune_model`` (one pass on a trained model), ``sparsify``, ``sparsify_sweep``;
``training_hooks`` (the method table with these classes); ``FactorizedLinear``,
``FactorizedConv2d`` and ``matrix_layers``; ``train`` (the paper's training loop on this backend,
:mod:`rmtheory.torch.train`), ``from_numpy`` (a :mod:`rmtheory.nn` network as ``nn.Sequential``,
same weights), ``predict``, ``layer_ranks`` and ``LayerIntervention`` (the headline's one-shot
controls, :mod:`rmtheory.torch.interventions`).
"""

try:
    import torch as _torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess without torch
    raise ImportError(
        'rmtheory.torch needs PyTorch, which is not installed: pip install -e ".[torch]" '
        "(or pip install torch)"
    ) from err

from rmtheory.nn.pruners import linear_schedule
from rmtheory.torch.interventions import LayerIntervention
from rmtheory.torch.layers import FactorizedConv2d, FactorizedLinear, matrix_layers, weight_matrix
from rmtheory.torch.prune import (
    TORCH_CLASSES,
    accuracy,
    prune_model,
    sparsify_sweep,
    training_hooks,
)
from rmtheory.torch.pruners import (
    EnergyPruner,
    GavishDonohoPruner,
    MagnitudePruner,
    MomentumReset,
    MPPruner,
    NoPruner,
    n_nonzero,
    sparsify,
    spectrum,
)
from rmtheory.torch.train import from_numpy, layer_ranks, predict, train

__all__ = [
    "TORCH_CLASSES",
    "EnergyPruner",
    "FactorizedConv2d",
    "FactorizedLinear",
    "GavishDonohoPruner",
    "LayerIntervention",
    "MPPruner",
    "MagnitudePruner",
    "MomentumReset",
    "NoPruner",
    "accuracy",
    "from_numpy",
    "layer_ranks",
    "linear_schedule",
    "matrix_layers",
    "n_nonzero",
    "predict",
    "prune_model",
    "sparsify",
    "sparsify_sweep",
    "spectrum",
    "train",
    "training_hooks",
    "weight_matrix",
]
