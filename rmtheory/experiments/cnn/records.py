"""What a CNN seed record holds, whichever backend trained it (one definition, so the NumPy
and PyTorch records compare key by key)."""

from __future__ import annotations

from typing import Any

__all__ = ["history_record", "params_by_kind"]


def params_by_kind(model) -> dict[str, int]:
    """Parameters per layer kind (``conv``, ``dense``) of a NumPy or converted torch model."""
    out: dict[str, int] = {}
    for layer in model.layers:
        if layer.n_params():
            kind = getattr(layer, "kind", "dense")
            out[kind] = out.get(kind, 0) + int(layer.n_params())
    return out


_CURVES = ("test_accuracy", "train_accuracy", "train_loss", "test_loss", "test_loss_paper",
           "n_params", "n_nonzero", "epoch_time")  # fmt: skip
_EVENT_FIELDS = ("epoch", "layer", "kind", "shape", "action", "n_above", "gof", "gof_cutoff",
                 "rank_before", "rank_after", "params_before", "params_after", "reason")  # fmt: skip


def history_record(h: Any) -> dict[str, Any]:
    """The per-epoch curves and the pruning events of a training ``History`` as a seed record
    holds them (both backends write the same fields, so their records compare key by key)."""
    out: dict[str, Any] = {k: list(getattr(h, k)) for k in _CURVES}
    out["events"] = [{k: e.get(k) for k in _EVENT_FIELDS} for e in h.events if "layer" in e]
    return out
