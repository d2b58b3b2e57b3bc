"""Checkpoints: one ``.npz`` with the arrays and a JSON string with everything else, written atomically.

Arrays: ``layer{i}_f{j}`` (the factors, ``[W]`` or ``[W1, W2]``), ``layer{i}_b``, ``mom{i}_{j}`` (momentum
buffers, same order as ``layer.params()``) and any array found in a pruner's or sparsifier's state. The JSON
(``meta``) holds sizes, activations, dtype, the shuffling generator's ``bit_generator.state``, the pruner /
sparsifier state, the history, the next epoch and the last learning rate. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.nn.model import MLP
from rmtheory.nn.train import History

FORMAT = "rmtheory.nn/1"


def _encode(obj: Any, arrays: dict, prefix: str) -> Any:
    """JSON-able copy of ``obj`` with every ndarray moved to ``arrays`` under a fresh key."""
    if isinstance(obj, np.ndarray):
        key = f"{prefix}{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _encode(v, arrays, prefix) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode(v, arrays, prefix) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return np.array(arrays[obj["__array__"]])
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def _write_npz(path: Path, arrays: dict, meta: dict) -> None:
    """Write to a temporary file in the same folder, fsync, then ``os.replace``: never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta, default=_json_default)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def _model_arrays(model: MLP) -> tuple[dict, dict]:
    arrays = {}
    for i, layer in enumerate(model.layers):
        for j, f in enumerate(layer.factors):
            arrays[f"layer{i}_f{j}"] = f
        arrays[f"layer{i}_b"] = layer.bias
    meta = {
        "format": FORMAT,
        "sizes": model.sizes,
        "activations": model.activations,
        "dtype": model.dtype.name,
        "n_factors": [len(layer.factors) for layer in model.layers],
    }
    return arrays, meta


def _load_layers(model: MLP, z: Any, meta: dict) -> None:
    """Give ``model`` the checkpoint's weights and factor structure (sizes and activations must match)."""
    if meta.get("format") != FORMAT:
        raise ValueError(f"not an {FORMAT} checkpoint (format {meta.get('format')!r})")
    if meta["sizes"] != model.sizes or meta["activations"] != model.activations:
        raise ValueError(
            f"checkpoint is for sizes {meta['sizes']} / activations {meta['activations']}, "
            f"the model has {model.sizes} / {model.activations}"
        )
    for i, (layer, nf) in enumerate(zip(model.layers, meta["n_factors"], strict=True)):
        layer._install([z[f"layer{i}_f{j}"] for j in range(nf)], layer.shape)
        layer.bias[...] = z[f"layer{i}_b"]


def save_model(path: str | Path, model: MLP) -> None:
    """Save weights, factor structure and activations to ``path`` (.npz); see :func:`load_model`."""
    arrays, meta = _model_arrays(model)
    _write_npz(Path(path), arrays, meta)


def load_model(path: str | Path) -> MLP:
    """Rebuild an :class:`MLP` saved by :func:`save_model` or by a training checkpoint."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        acts = meta["activations"]
        model = MLP(meta["sizes"], acts[0], acts[-1], dtype=np.dtype(meta["dtype"]))
        for layer, act in zip(model.layers, acts, strict=True):
            layer.activation = act  # hidden activations may differ if set by hand
        _load_layers(model, z, meta)
    return model


def save_training(
    path: Path, model, bufs, gen, pruner, sparsifier, history: History, next_epoch: int, lr: float
) -> None:
    """Everything :func:`restore_training` needs to continue a run bit for bit."""
    arrays, meta = _model_arrays(model)
    for i, layer_bufs in enumerate(bufs):
        for j, b in enumerate(layer_bufs):
            arrays[f"mom{i}_{j}"] = b
    hooks = {}
    for name, hook in (("pruner", pruner), ("sparsifier", sparsifier)):
        if hook is not None and callable(getattr(hook, "state_dict", None)):
            hooks[name] = _encode(hook.state_dict(), arrays, f"{name}_")
    meta.update(
        rng=gen.bit_generator.state,
        hooks=hooks,
        history=_encode(history.to_dict(), arrays, "history_"),
        next_epoch=next_epoch,
        lr=lr,
    )
    _write_npz(path, arrays, meta)


def restore_training(path: Path, model, gen, pruner, sparsifier) -> tuple[int, list, History]:
    """Load a checkpoint into ``model``, ``gen``, ``pruner``, ``sparsifier``; return (epoch, bufs, history)."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        _load_layers(model, z, meta)
        bufs = [
            [np.array(z[f"mom{i}_{j}"]) for j in range(len(layer.params()))]
            for i, layer in enumerate(model.layers)
        ]
        gen.bit_generator.state = meta["rng"]
        for name, hook in (("pruner", pruner), ("sparsifier", sparsifier)):
            if name in meta["hooks"] and hook is not None:
                hook.load_state_dict(_decode(meta["hooks"][name], z))
        history = History.from_dict(_decode(meta["history"], z))
    return int(meta["next_epoch"]), bufs, history
