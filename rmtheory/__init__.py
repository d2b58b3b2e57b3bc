"""rmtheory: the random-matrix theory of neural-network pruning, as code.

The public API is re-exported here; each name lives in the module named after its idea
(``marchenko_pastur``, ``tracy_widom``, ``bema``, ...).
"""

from rmtheory._version import __version__
from rmtheory.analysis import LayerReport, LayerTable, analyze, compress, load_compressed
from rmtheory.approximation import (
    approximation_error,
    theta_asymptotic,
    theta_convergence,
    theta_empirical,
    theta_from_weights,
    wigner_theta_asymptotic,
    wigner_theta_empirical,
)
from rmtheory.bema import BEMA, NotFittedError, mp_goodness_of_fit
from rmtheory.confidence import (
    PruningBound,
    accuracy_from_confidence,
    classification_confidence,
    good_set,
    good_set_accuracy_bound,
    lemma51_bound,
    lemma53_scale,
    lemma53_shift,
    pruning_confidence_change,
    theorem54_shift,
    theorem57_bound,
)
from rmtheory.lowrank import conv_to_matrix, factorize, matrix_to_conv, recombine, truncate
from rmtheory.marchenko_pastur import MarchenkoPastur, wishart_eigenvalues
from rmtheory.spectrum import esd, singular_values, spectral_convention
from rmtheory.spiked import (
    bgn_predictions,
    d_transform,
    detection_threshold,
    outlier_singular_value,
    singular_vector_overlaps,
    square_outlier,
    theta_from_outlier,
    weight_spike_predictions,
    wigner_eigenvector_overlap,
    wigner_outlier_eigenvalue,
)
from rmtheory.thresholds import (
    EnergyRule,
    GavishDonohoRule,
    MPRule,
    energy_rank,
    gavish_donoho_rank,
    gavish_donoho_threshold,
    keep_rank,
    mp_rank,
    mp_threshold,
)
from rmtheory.tracy_widom import TracyWidom, paper_code_edge_scaling, wishart_edge_scaling
from rmtheory.weights_io import load_weights, save_weights

__all__ = [
    "__version__",
    "LayerReport",
    "LayerTable",
    "load_compressed",
    "analyze",
    "compress",
    "load_weights",
    "save_weights",
    "PruningBound",
    "accuracy_from_confidence",
    "approximation_error",
    "classification_confidence",
    "good_set",
    "good_set_accuracy_bound",
    "lemma51_bound",
    "lemma53_scale",
    "lemma53_shift",
    "pruning_confidence_change",
    "theorem54_shift",
    "theorem57_bound",
    "theta_asymptotic",
    "theta_convergence",
    "theta_empirical",
    "theta_from_weights",
    "wigner_theta_asymptotic",
    "wigner_theta_empirical",
    "bgn_predictions",
    "d_transform",
    "detection_threshold",
    "outlier_singular_value",
    "singular_vector_overlaps",
    "square_outlier",
    "theta_from_outlier",
    "weight_spike_predictions",
    "wigner_eigenvector_overlap",
    "wigner_outlier_eigenvalue",
    "BEMA",
    "NotFittedError",
    "EnergyRule",
    "GavishDonohoRule",
    "MPRule",
    "MarchenkoPastur",
    "TracyWidom",
    "conv_to_matrix",
    "energy_rank",
    "esd",
    "factorize",
    "gavish_donoho_rank",
    "gavish_donoho_threshold",
    "keep_rank",
    "matrix_to_conv",
    "mp_goodness_of_fit",
    "mp_rank",
    "mp_threshold",
    "paper_code_edge_scaling",
    "recombine",
    "singular_values",
    "spectral_convention",
    "truncate",
    "wishart_edge_scaling",
    "wishart_eigenvalues",
]
