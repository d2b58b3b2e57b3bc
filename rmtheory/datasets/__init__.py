"""Datasets: MNIST, Fashion-MNIST and CIFAR-10 with verified provenance, and the paper's
synthetic problems.

Real data are fetched once into a cache (``$RMTHEORY_DATA_DIR``, else the XDG cache folder) and
every file is accepted only if the SHA-256 of its decompressed bytes equals the published one.
See ``docs/datasets.md`` for the sources, their order and how to place files by hand.

Examples
--------
>>> from rmtheory.datasets import make_tiny_classification
>>> x_train, y_train, x_test, y_test = make_tiny_classification(n_train=50, n_test=10)
>>> x_train.shape
(50, 784)
"""

from rmtheory.datasets._cache import default_data_dir
from rmtheory.datasets._errors import ChecksumError, DatasetUnavailable
from rmtheory.datasets._fetch import fetch
from rmtheory.datasets._split import DataSplit, stratified_indices
from rmtheory.datasets.cifar import load_cifar10
from rmtheory.datasets.idx import read_idx, write_idx
from rmtheory.datasets.mnist import load_fashion_mnist, load_mnist
from rmtheory.datasets.synthetic import (
    PolynomialBoundary,
    make_polynomial_boundary,
    make_regression_1d,
    make_tiny_classification,
    regression_target,
)

__all__ = [
    "ChecksumError",
    "DataSplit",
    "DatasetUnavailable",
    "PolynomialBoundary",
    "default_data_dir",
    "fetch",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "make_polynomial_boundary",
    "make_regression_1d",
    "make_tiny_classification",
    "read_idx",
    "regression_target",
    "stratified_indices",
    "write_idx",
]
