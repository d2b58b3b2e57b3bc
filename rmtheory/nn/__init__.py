"""A compact NumPy trainer for the paper's experiments (see ``docs/trainer.md`` and ``docs/cnn.md``).

``MLP`` (dense / factorised layers, weights stored (out, in)), ``CNN`` and ``authors_cnn`` (convolution,
pooling, batch norm, dropout; the authors' network of Figs 7–11), ``train`` (SGD + momentum with the
authors' penalties, history, checkpoints, the pruner protocol), ``Sparsifier`` and ``sparsify_sweep``.
"""

import importlib.util

from rmtheory.nn.checkpoint import load_model, save_model
from rmtheory.nn.cnn import CNN, authors_cnn
from rmtheory.nn.conv import BatchNorm, Conv2d, Dropout, Flatten, MaxPool2d
from rmtheory.nn.layers import Layer
from rmtheory.nn.model import MLP
from rmtheory.nn.sparsify import Sparsifier, sparsify, sparsify_sweep
from rmtheory.nn.train import History, TrainingDiverged, evaluate, lr_at_passes, sgd_step, train

__all__ = [
    "CNN",
    "MLP",
    "BatchNorm",
    "Conv2d",
    "Dropout",
    "Flatten",
    "History",
    "Layer",
    "MaxPool2d",
    "Sparsifier",
    "TrainingDiverged",
    "authors_cnn",
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
