"""The report records: one :class:`LayerReport` per tensor, the :class:`LayerTable` of them and its
exports (text, JSON, CSV, plots).  Every file is written atomically (:mod:`rmtheory.atomic`)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.atomic import atomic_write, save_figure
from rmtheory.marchenko_pastur import MarchenkoPastur
from rmtheory.spectrum import spectral_convention

__all__ = ["LayerReport", "LayerTable", "RECORD_FIELDS", "PURE_NOISE_NOTE"]

#: The note :meth:`LayerTable.to_text` gives an analysed layer with no eigenvalue above the edge.
PURE_NOISE_NOTE = "no direction above the noise edge: looks like pure noise at this shape"


@dataclass(frozen=True)
class LayerReport:
    """One row of :func:`analyze`'s table.

    Attributes
    ----------
    name : str
        The tensor's name in the weights mapping.
    shape : tuple of int
        Its original shape.
    kind : {"dense", "conv", "skipped"}
        ``"conv"`` tensors ``(out, in, kh, kw)`` are analysed as the matrix ``(out, in*kh*kw)``.
    matrix_shape : tuple of int or None
        The analysed matrix ``(n, m)``.
    sigma2 : float or None
        BEMA's noise variance :math:`\\hat\\sigma^2` (entry variance of the noise).
    lambda_plus : float or None
        BEMA's edge :math:`\\lambda_+` (MP edge plus the Tracy–Widom margin), eigenvalue scale
        :math:`s^2/q`.
    mp_threshold : float or None
        The same edge on the singular-value scale, :math:`\\sqrt{q\\lambda_+}`.
    mp_rank : int or None
        Eigenvalues above :math:`\\lambda_+`: the signal rank the paper keeps.
    n_spikes : int or None
        Eigenvalues above the plain MP edge :math:`\\hat\\sigma^2(1+\\sqrt\\gamma)^2`; at least
        ``mp_rank``, the difference lying within the Tracy–Widom fluctuation of the edge.
    gof : float or None
        MP goodness of fit of the bulk (:func:`rmtheory.bema.mp_goodness_of_fit`, 0 is perfect).
    gd_rank : int or None
        Gavish–Donoho rank (unknown noise level).
    max_singular_value : float or None
        :math:`s_1`, the spectral norm.
    params : int
        Entries of the tensor now.
    params_mp : int
        Entries after truncation to ``mp_rank``: ``min(k*(n+m), n*m)``; ``params`` when the layer
        was skipped or could not be fitted.
    reason : str
        Empty when the layer was fully analysed, else why not (skipped, too small for BEMA...).
    eigenvalues : numpy.ndarray or None
        The ascending eigenvalues :math:`s_i^2/q` (kept for plots; not exported).
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    matrix_shape: tuple[int, int] | None = None
    sigma2: float | None = None
    lambda_plus: float | None = None
    mp_threshold: float | None = None
    mp_rank: int | None = None
    n_spikes: int | None = None
    gof: float | None = None
    gd_rank: int | None = None
    max_singular_value: float | None = None
    params: int = 0
    params_mp: int = 0
    reason: str = ""
    eigenvalues: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def analysed(self) -> bool:
        """Whether the MP fit succeeded (``reason`` is empty)."""
        return not self.reason

    @property
    def pure_noise(self) -> bool:
        """Analysed, and no eigenvalue above BEMA's edge: the layer looks like pure noise.

        Truncating it to its MP rank (0) would remove the layer's output altogether, which is
        why :func:`~rmtheory.analysis.compress` keeps at least ``min_rank`` (default 1)."""
        return self.analysed and self.mp_rank == 0

    @property
    def note(self) -> str:
        """What the table's ``note`` column says: ``reason``, or :data:`PURE_NOISE_NOTE`."""
        return PURE_NOISE_NOTE if self.pure_noise else self.reason

    def to_record(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (shapes as lists; the eigenvalues are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "eigenvalues":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def law(self) -> MarchenkoPastur:
        """The fitted ``MarchenkoPastur(p/q, sigma2)``; raises ``ValueError`` if not analysed."""
        if not self.analysed or self.matrix_shape is None:
            raise ValueError(f"layer {self.name!r} has no MP fit: {self.reason}")
        return MarchenkoPastur(spectral_convention(self.matrix_shape).ratio, self.sigma2)


RECORD_FIELDS = tuple(f.name for f in fields(LayerReport) if f.name != "eigenvalues")

_TEXT_COLUMNS = (
    ("name", "name"),
    ("shape", "shape"),
    ("kind", "kind"),
    ("sigma2", "sigma2"),
    ("lambda_plus", "lambda+"),
    ("mp_rank", "MP rank"),
    ("n_spikes", "spikes"),
    ("gof", "GoF"),
    ("gd_rank", "GD rank"),
    ("max_singular_value", "s_max"),
    ("params", "params"),
    ("params_mp", "params MP"),
    ("note", "note"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class LayerTable(list):
    """The list of :class:`LayerReport` rows returned by :func:`analyze`, with exports.

    ``str(table)`` is a fixed-width text table; :meth:`to_records`, :meth:`to_csv` and
    :meth:`to_json` export it without pandas (``pandas.DataFrame(table.to_records())`` if wanted).
    """

    @property
    def analysed(self) -> list[LayerReport]:
        """The rows with an MP fit."""
        return [r for r in self if r.analysed]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row (:meth:`LayerReport.to_record`)."""
        return [r.to_record() for r in self]

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 2) -> str:
        """The records as a JSON array (missing values are ``null``); written to ``path`` if given."""
        text = json.dumps(self.to_records(), indent=indent)
        if path is not None:
            atomic_write(path, text + "\n", what="JSON table")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The records as CSV (shapes written ``256x1024``, missing values empty)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in self:
            writer.writerow(
                {
                    k: "" if v is None else _cell(v) if isinstance(v, tuple) else v
                    for k, v in ((k, getattr(r, k)) for k in RECORD_FIELDS)
                }
            )
        text = buf.getvalue()
        if path is not None:
            atomic_write(path, text, what="CSV table")
        return text

    def summary(self) -> dict[str, Any]:
        """Totals: tensors seen / analysed, parameters now and after MP truncation."""
        params = sum(r.params for r in self)
        params_mp = sum(r.params_mp for r in self)
        return {
            "n_tensors": len(self),
            "n_analysed": len(self.analysed),
            "params": params,
            "params_mp": params_mp,
            "reduction": 1.0 - params_mp / params if params else 0.0,
        }

    def to_text(self) -> str:
        """Fixed-width table, one row per tensor, then a totals line."""
        rows = [[label for _, label in _TEXT_COLUMNS]]
        rows += [[_cell(getattr(r, key)) for key, _ in _TEXT_COLUMNS] for r in self]
        widths = [max(len(row[j]) for row in rows) for j in range(len(_TEXT_COLUMNS) - 1)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in rows
        ]
        s = self.summary()
        noise = [r.name for r in self if r.pure_noise]
        # a pure-noise layer's rank 0 is counted as 0 parameters: say so where the % is read
        counted = f", {len(noise)} pure-noise layer(s) counted as 0" if noise else ""
        lines.append(
            f"{s['n_analysed']} of {s['n_tensors']} tensors analysed; parameters "
            f"{s['params']:,} -> {s['params_mp']:,} after MP truncation "
            f"({100 * s['reduction']:.1f}% fewer{counted})"
        )
        if noise:
            shown = ", ".join(noise[:5]) + (f" and {len(noise) - 5} more" if len(noise) > 5 else "")
            lines.append(
                f"note: {len(noise)} layer(s) have no direction above the noise edge and look like "
                f"pure noise at their shape ({shown}): their MP rank 0 counts as 0 parameters "
                "above; compress keeps at least --min-rank (default 1) of each"
            )
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.to_text()

    def plot(self, directory: str | os.PathLike, *, bins: int = 80) -> list[Path]:
        """Save, per analysed layer, its ESD with the fitted MP density, :math:`\\lambda_\\pm`
        marked and the spikes highlighted (:func:`rmtheory.plotting.plot_esd`), as
        ``<directory>/<layer name>.png``.  Returns the paths written."""
        import matplotlib.pyplot as plt

        from rmtheory.plotting import plot_esd

        out_dir = Path(directory)
        paths: list[Path] = []
        used: set[str] = set()
        for r in self.analysed:
            if r.eigenvalues is None:
                raise ValueError(
                    f"layer {r.name!r} kept no eigenvalues: call analyze(keep_eigenvalues=True)"
                )
            # Trained layers have spikes far beyond the bulk: cap the axis at 2 lambda+ so the
            # bulk and its fit stay readable, and name the spikes beyond it in a margin note.
            xmax = 2.0 * r.lambda_plus
            far = r.eigenvalues[r.eigenvalues > xmax]
            fig = plot_esd(
                r.eigenvalues,
                r.law(),
                threshold=r.lambda_plus,
                bins=bins,
                xmax=xmax if far.size else None,
                title=f"{r.name}  {_cell(r.shape)}: MP rank {r.mp_rank}",
            )
            if far.size:
                fig.axes[0].annotate(
                    f"{far.size} spike(s) beyond the axis, up to {far.max():.4g} \u2192",
                    xy=(0.98, 0.04),
                    xycoords="axes fraction",
                    ha="right",
                    color="tab:red",
                )
            path = out_dir / f"{_file_stem(r.name, used)}.png"
            save_figure(fig, path, dpi=120)
            plt.close(fig)
            paths.append(path)
        return paths


def _file_stem(name: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "layer"
    base, i = stem, 1
    while stem in used:
        i += 1
        stem = f"{base}_{i}"
    used.add(stem)
    return stem


