"""The whole-model run: :func:`analyze` applies the per-tensor analysis
(:func:`~rmtheory.analysis.layer.analyze_tensor`) to every tensor of a model, one at a time or in
parallel, resuming from the result cache when asked."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from rmtheory._validation import n_jobs
from rmtheory.analysis import layer
from rmtheory.analysis.cache import cache_key, cache_read, cache_write
from rmtheory.analysis.layer import (
    AnalysisOptions,
    Weights,
    analysis_options,
    prepare,
    skipped_row,
    tensor_refs,
)
from rmtheory.analysis.records import LayerReport, LayerTable
from rmtheory.atomic import remove_stale_temporaries
from rmtheory.weights_io import LazyWeights, TensorRef

__all__ = ["analyze"]


def _analyze_task(ref: TensorRef, opts: AnalysisOptions, method: str, keep: bool, one_thread: bool):
    try:
        if one_thread:
            with threadpool_limits(1):
                return layer.analyze_ref(ref, opts, method, keep)
        return layer.analyze_ref(ref, opts, method, keep)
    finally:
        ref.release()


def analyze(
    weights: Weights,
    *,
    skip_embeddings: bool = False,
    exclude: Sequence[str] = (),
    alpha: float = 0.25,
    beta: float = 0.1,
    method: str = "gram",
    keep_eigenvalues: bool = True,
    jobs: int = 1,
    progress: bool = False,
    cache: str | os.PathLike | None = None,
) -> LayerTable:
    r"""Random-matrix report of every weight of a model: BEMA fit, MP and Gavish–Donoho ranks.

    For each 2-D weight (and each 4-D conv kernel, as ``(out, in*kh*kw)``) one values-only
    eigendecomposition gives the eigenvalues :math:`s_i^2/q`; BEMA (paper §9.1, Ke, Ma & Lin
    2021) fits :math:`\hat\sigma^2` and :math:`\lambda_+` to the bulk, the MP rank counts the
    eigenvalues above :math:`\lambda_+`, and truncating to it leaves
    :math:`\min(k(n+m), nm)` parameters (Algorithm 1 steps 3-5 with every sub-threshold value
    dropped).  See the module docstring for every column.

    Tensors are processed one at a time: a path is opened lazily
    (:func:`rmtheory.weights_io.open_weights`) and each tensor is read, widened (bfloat16 to
    float32) and released before the next; the Gram matrix is accumulated in float64 from blocks
    of rows, so the peak memory is about the smaller Gram matrix plus a 64 MB block, never the
    whole checkpoint (``docs/large_models.md``).

    Parameters
    ----------
    weights : mapping, module or path
        ``{name: array}`` with NumPy arrays or tensors of any DLPack / ``__array__`` library
        (torch, JAX, CuPy; GPU tensors are copied to the host one at a time); any object with
        ``state_dict()`` or ``named_parameters()`` (a torch module; torch is not imported); or a
        file / folder of shards (read lazily), or :func:`~rmtheory.weights_io.open_weights`'s
        result.
    skip_embeddings : bool
        Skip 2-D tensors whose name matches :data:`EMBEDDING_PATTERNS` (an embedding table is a
        lookup, not a linear map; its spectrum is often not MP-like).
    exclude : sequence of str
        More name patterns to skip (case-insensitive ``fnmatch``, e.g. ``"*.lm_head.*"``).
    alpha, beta : float
        BEMA's window and Tracy–Widom level (:class:`rmtheory.bema.BEMA`).
    method : {"gram", "svd"}
        ``"gram"``: eigenvalues of the smaller Gram matrix, accumulated in float64 from row
        blocks (falls back to an SVD when the spectrum spans more than the Gram can resolve);
        ``"svd"``: LAPACK ``gesdd`` values of the whole matrix.
    keep_eigenvalues : bool
        Keep each layer's eigenvalues in the report (needed by :meth:`LayerTable.plot`).
    jobs : int
        Tensors analysed in parallel (joblib processes, one BLAS thread each); memory grows with
        it (one tensor's working set per process).  ``-1`` means all CPUs; a count above the
        CPUs this process may use is cut to that number with a warning
        (:func:`rmtheory._validation.n_jobs`); 0 is refused.
    progress : bool
        Show a progress bar (tqdm, on stderr) that advances per tensor.
    cache : path, optional
        A folder of per-tensor results: a rerun (after an interruption) reads the tensors already
        done from it instead of recomputing them.  Needs ``weights`` as a path.

    Returns
    -------
    LayerTable
        One :class:`LayerReport` per tensor, in file (or mapping) order; skipped tensors and layers
        too small for BEMA carry a ``reason``.

    Raises
    ------
    ValueError
        If a weight contains NaN/Inf (the message names the layer), ``weights`` is empty, a file
        is corrupt (the message names it), or a parameter is invalid.
    TypeError
        If ``weights`` is not a mapping, module or path, or a value cannot be converted to an array.

    Notes
    -----
    Compared with WeightWatcher (Martin & Mahoney): a plain dict of arrays needs no PyTorch;
    the MP law is fitted by BEMA's quantile regression on the bulk with a Tracy–Widom edge, not a
    kernel-density heuristic; problems raise exceptions instead of being logged.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> u, v = rng.normal(size=300), rng.normal(size=500)
    >>> W = rng.normal(size=(300, 500)) + 0.2 * np.outer(u, v)   # noise + one strong spike
    >>> table = analyze({"fc.weight": W, "fc.bias": np.zeros(300)})
    >>> row = table[0]
    >>> row.mp_rank, row.gd_rank, round(row.sigma2, 1), row.params, row.params_mp
    (1, 1, 1.0, 150000, 800)
    >>> table[1].reason
    '1-D (a bias or normalisation vector)'
    """
    opts = analysis_options(skip_embeddings, exclude, alpha, beta)
    if method not in ("gram", "svd"):
        raise ValueError(f"method must be 'gram' or 'svd', got {method!r}")
    jobs = n_jobs(jobs, "jobs")
    refs = tensor_refs(weights)
    cache_dir = None
    if cache is not None:
        if isinstance(weights, Mapping) and not isinstance(weights, LazyWeights):
            raise ValueError("cache: a result cache needs weights given as a path (a file)")
        cache_dir = Path(cache)
        cache_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(cache_dir)  # entries a killed run was writing

    results: list[LayerReport | None] = [None] * len(refs)
    todo: list[tuple[int, str | None]] = []
    for i, ref in enumerate(refs):
        kind, reason = prepare(ref, opts)
        if reason:
            results[i] = skipped_row(ref, kind, reason)
            continue
        key = cache_key(ref, opts, method) if cache_dir is not None else None
        if key is not None:
            hit = cache_read(cache_dir / f"{key}.json", keep_eigenvalues)
            if hit is not None:
                results[i] = hit
                continue
        todo.append((i, key))

    bar = tqdm(
        total=len(refs), initial=len(refs) - len(todo), unit="tensor", desc="analyze",
        disable=not progress, file=sys.stderr,
    )  # fmt: skip
    try:
        if jobs == 1 or len(todo) <= 1:
            tasks = (_analyze_task(refs[i], opts, method, keep_eigenvalues, False) for i, _ in todo)
        else:
            tasks = Parallel(n_jobs=int(jobs), return_as="generator")(
                delayed(_analyze_task)(refs[i], opts, method, keep_eigenvalues, True)
                for i, _ in todo
            )
        for (i, key), row in zip(todo, tasks, strict=True):
            bar.set_postfix_str(refs[i].name, refresh=False)
            if key is not None:
                cache_write(cache_dir / f"{key}.json", row)
            results[i] = row
            bar.update(1)
    finally:
        bar.close()
    return LayerTable(results)

