"""A compact NumPy MLP trainer for the paper's experiments (see ``docs/trainer.md``).

``MLP`` (dense / factorised layers, weights stored (out, in)), ``train`` (SGD + momentum with the authors'
penalties, history, checkpoints, the pruner protocol), ``Sparsifier`` and ``sparsify_sweep``.
"""

import importlib.util

from rmtheory.nn.checkpoint import load_model, save_model
from rmtheory.nn.layers import Layer
from rmtheory.nn.model import MLP
from rmtheory.nn.sparsify import Sparsifier, sparsify, sparsify_sweep
from rmtheory.nn.train import History, TrainingDiverged, evaluate, lr_at_passes, sgd_step, train

__all__ = [
    "MLP",
    "History",
    "Layer",
    "Sparsifier",
    "TrainingDiverged",
    "evaluate",
    "load_model",
    "lr_at_passes",
    "save_model",
    "sgd_step",
    "sparsify",
    "sparsify_sweep",
    "train",
]

if importlib.util.find_spec("rmtheory.nn.pruners") is not None:  # Algorithm 1 + baselines
    from rmtheory.nn.presets import PaperProtocol, paper_protocol  # noqa: F401
    from rmtheory.nn.pruners import MomentumReset, MPPruner  # noqa: F401

    __all__ += ["MPPruner", "MomentumReset", "PaperProtocol", "paper_protocol"]
