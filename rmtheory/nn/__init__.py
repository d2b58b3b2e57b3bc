"""A compact NumPy trainer for the paper's experiments (see ``docs/trainer.md`` and ``docs/cnn.md``).

``MLP`` (dense / factorised layers, weights stored (out, in)), ``CNN`` and ``authors_cnn`` (convolution,
pooling, batch norm, dropout; the authors' network of Figs 7–11), ``train`` (SGD + momentum with the
authors' penalties, history, checkpoints, the hook protocol of :mod:`rmtheory.nn.protocols`), the
pruners of Algorithm 1 and its baselines (:mod:`rmtheory.nn.pruners`), ``Sparsifier`` and
``sparsify_sweep`` (the magnitude baseline), and the method table ``training_hooks``
(:mod:`rmtheory.nn.methods`) that turns a method name and its settings into those hooks.
"""

from rmtheory.nn.checkpoint import load_model, save_model
from rmtheory.nn.cnn import CNN, authors_cnn
from rmtheory.nn.conv import BatchNorm, Conv2d, Dropout, Flatten, MaxPool2d
from rmtheory.nn.history import History, TrainingDiverged
from rmtheory.nn.layers import Layer
from rmtheory.nn.methods import (
    ARM_SPECS,
    METHOD_SPECS,
    ArmSpec,
    MethodSpec,
    TrainingHooks,
    method_spec,
    protocol_hooks,
    training_hooks,
)
from rmtheory.nn.model import MLP
from rmtheory.nn.presets import PaperProtocol, paper_protocol
from rmtheory.nn.protocols import (
    PrunableLayer,
    PruneEvent,
    SparsifyEvent,
    StatefulHook,
    StepHook,
    TrainableModel,
    TrainingHook,
)
from rmtheory.nn.pruners import (
    EnergyPruner,
    GavishDonohoPruner,
    MomentumReset,
    MPPruner,
    NoPruner,
    linear_schedule,
)
from rmtheory.nn.sparsify import Sparsifier, sparsify, sparsify_sweep
from rmtheory.nn.train import evaluate, lr_at_passes, sgd_step, train

__all__ = [
    "ARM_SPECS",
    "CNN",
    "METHOD_SPECS",
    "MLP",
    "ArmSpec",
    "BatchNorm",
    "Conv2d",
    "Dropout",
    "EnergyPruner",
    "Flatten",
    "GavishDonohoPruner",
    "History",
    "Layer",
    "MPPruner",
    "MaxPool2d",
    "MethodSpec",
    "MomentumReset",
    "NoPruner",
    "PaperProtocol",
    "PrunableLayer",
    "PruneEvent",
    "Sparsifier",
    "SparsifyEvent",
    "StatefulHook",
    "StepHook",
    "TrainableModel",
    "TrainingDiverged",
    "TrainingHook",
    "TrainingHooks",
    "authors_cnn",
    "evaluate",
    "linear_schedule",
    "load_model",
    "lr_at_passes",
    "method_spec",
    "paper_protocol",
    "protocol_hooks",
    "save_model",
    "sgd_step",
    "sparsify",
    "sparsify_sweep",
    "train",
    "training_hooks",
]
