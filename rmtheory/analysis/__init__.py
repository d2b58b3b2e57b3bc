r"""Per-layer random-matrix reports of any model's weights, and their MP-rank compression.

The paper's method "can be extended to any fully connected or convolutional layer of pre-trained
DNNs" (Berlyand, Sandier, Shmalo & Zhang, arXiv 2310.03165, §4).  :func:`analyze` takes a plain
mapping ``name -> array`` (NumPy, torch, JAX, CuPy... see :func:`rmtheory.weights_io.to_numpy`) or
a weights file, and for every dense (2-D) or convolutional (4-D, read as the matrix
``(out, in*kh*kw)``) weight :math:`W` of shape :math:`(n, m)` computes, from **one** values-only
eigendecomposition:

* the eigenvalues :math:`\lambda_i = s_i^2/q`, :math:`q=\max(n,m)` (:mod:`rmtheory.spectrum`);
* BEMA's noise level :math:`\hat\sigma^2` and edge
  :math:`\lambda_+ = \hat\sigma^2[(1+\sqrt\gamma)^2 + t_{1-\beta}\,q^{-2/3}\gamma^{-1/6}(1+\sqrt\gamma)^{4/3}]`
  (paper §9.1; :class:`rmtheory.bema.BEMA`), the **MP rank** :math:`\#\{\lambda_i>\lambda_+\}`, the
  number of **spikes** beyond the plain MP edge :math:`\hat\sigma^2(1+\sqrt\gamma)^2` (eq. 4-5),
  and the goodness of fit of the bulk (§9.4);
* the Gavish–Donoho rank :math:`\#\{s_i > \omega(\gamma)\,s_{\mathrm{med}}\}` (unknown noise level;
  Gavish & Donoho 2014);
* the parameter count now (:math:`nm`) and after truncating to the MP rank :math:`k`, stored as
  the two factors of Algorithm 1 step 5 when that is smaller:
  :math:`\min(k(n+m),\,nm)`.

Tensors that are not weight matrices (biases, norms, buffers, and embeddings or name patterns
when asked) are listed with the reason they were skipped, and a layer too small for BEMA is
listed with BEMA's message: nothing is dropped silently.  NaN/Inf weights raise ``ValueError``
naming the layer.

Checkpoints of any size are processed one tensor at a time: a path is opened lazily
(:func:`rmtheory.weights_io.open_weights`), each tensor's smaller Gram matrix is accumulated in
float64 from blocks of rows read straight from the file, and the tensor is released before the
next (``docs/large_models.md``).  ``jobs=N`` analyses N tensors in parallel and ``cache=DIR``
lets an interrupted run resume.

:func:`compress` applies a rank rule (MP or Gavish–Donoho) to every weight and returns (or writes,
tensor by tensor, with ``out=``) the factors ``W1`` (k x in), ``W2`` (out x k) with a JSON
manifest; :func:`decompress` recombines them and :func:`load_compressed` reads a written result
back.  Every layer keeps at least ``min_rank`` (default 1) directions, so no layer is written as
all zeros unless ``min_rank=0`` is asked.

The package, by concern:

* :mod:`~rmtheory.analysis.records` — :class:`LayerReport`, :class:`LayerTable` and their exports;
* :mod:`~rmtheory.analysis.streaming` — one tensor's spectrum from blocks of rows (Gram matrix);
* :mod:`~rmtheory.analysis.layer` — which tensors are weights, the options, and
  :func:`analyze_tensor`, the per-tensor analysis (also what :mod:`rmtheory.calibration` runs);
* :mod:`~rmtheory.analysis.cache` — the per-tensor result cache of ``analyze(cache=...)``;
* :mod:`~rmtheory.analysis.run` — :func:`analyze` over a whole model;
* :mod:`~rmtheory.analysis.compression` — :func:`compress`, its sinks, :func:`load_compressed`.
"""

from __future__ import annotations

from rmtheory.analysis.compression import (
    DEFAULT_MIN_RANK,
    CompressedWeights,
    RankZeroWarning,
    compress,
    decompress,
    load_compressed,
    manifest_path_for,
)
from rmtheory.analysis.layer import (
    EMBEDDING_PATTERNS,
    AnalysisOptions,
    analysis_options,
    analyze_tensor,
)
from rmtheory.analysis.records import PURE_NOISE_NOTE, RECORD_FIELDS, LayerReport, LayerTable
from rmtheory.analysis.run import analyze

__all__ = [
    "EMBEDDING_PATTERNS",
    "LayerReport",
    "LayerTable",
    "RankZeroWarning",
    "analyze",
    "CompressedWeights",
    "compress",
    "decompress",
    "load_compressed",
    "manifest_path_for",
    "AnalysisOptions",
    "DEFAULT_MIN_RANK",
    "PURE_NOISE_NOTE",
    "RECORD_FIELDS",
    "analysis_options",
    "analyze_tensor",
]
