"""Checkpoints: one ``.npz`` with the arrays and a JSON string with everything else, written atomically.

Arrays: ``layer{i}_f{j}`` (the factors, ``[W]`` or ``[W1, W2]``), ``layer{i}_b``, ``mom{i}_{j}`` (momentum
buffers, same order as ``layer.params()``) and any array found in a pruner's or sparsifier's state. The JSON
(``meta``) holds sizes, activations, dtype, the shuffling generator's ``bit_generator.state``, the pruner /
sparsifier state, the history, the next epoch and the last learning rate. Nothing is pickled.

Loading validates before it installs anything: a file that is not a readable archive, a missing or
unreadable array, metadata that is not JSON or lacks a field, a negative ``next_epoch``, weights or
momentum of another dtype than the checkpoint's (a float16 array in a float32 run) or holding NaN/Inf
(a run that had diverged) all raise ``ValueError`` naming the file and the fault.  Temporary files that a
killed write left beside the checkpoint (``<name>.*.tmp``) are removed at the next save or resume; one
writer per checkpoint path is assumed.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from rmtheory.atomic import atomic_open
from rmtheory.nn.history import History
from rmtheory.nn.model import MLP

FORMAT = "rmtheory.nn/1"
#: Arrays holding model state (weights, biases, normalisation statistics, momentum): checked on load for
#: the checkpoint's dtype and for NaN/Inf.
_MODEL_ARRAY = re.compile(r"(layer\d+_.+|mom\d+_\d+)")
#: What a corrupt or truncated archive raises while an array is read.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


class _Archive:
    """Read-only view of an open checkpoint that names the file in every error and checks model arrays."""

    def __init__(self, z: Any, path: Path, dtype: str | None) -> None:
        self._z, self.path, self._dtype = z, path, dtype

    @property
    def files(self) -> list[str]:
        return self._z.files

    def __contains__(self, key: str) -> bool:
        return key in self._z.files

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._z.files:
            raise _fault(self.path, f"the array {key!r} is missing")
        try:
            a = self._z[key]
        except _READ_ERRORS as err:
            raise _fault(
                self.path, f"the array {key!r} is unreadable (truncated or corrupt): {err}"
            ) from None
        if self._dtype is not None and _MODEL_ARRAY.fullmatch(key):
            if a.dtype != np.dtype(self._dtype):
                raise _fault(
                    self.path,
                    f"the array {key!r} is {a.dtype}, the checkpoint's dtype is {self._dtype}",
                )
            if not np.all(np.isfinite(a)):
                raise _fault(
                    self.path,
                    f"the array {key!r} holds NaN/Inf values: the run had diverged before this "
                    "checkpoint was written; resume from an earlier checkpoint or start again",
                )
        return a


def _fault(path: Path, what: str) -> ValueError:
    return ValueError(f"checkpoint {path}: {what}")


def _open(path: str | Path) -> Any:
    """``np.load`` of a checkpoint, with the faults of the file itself named."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    if not p.is_file():
        raise _fault(p, "not a regular file")
    try:
        z = np.load(p, allow_pickle=False)
    except _READ_ERRORS as err:
        raise _fault(p, f"not a readable .npz archive (truncated or corrupt?): {err}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise _fault(p, "holds a single array, not an .npz checkpoint archive")
    return z


def _read_meta(z: Any, path: Path) -> dict:
    if "meta" not in z.files:
        raise _fault(path, "no 'meta' entry: not an rmtheory checkpoint")
    try:
        meta = json.loads(str(z["meta"]))
    except json.JSONDecodeError as err:
        raise _fault(path, f"its metadata is not valid JSON ({err})") from None
    except _READ_ERRORS as err:
        raise _fault(path, f"its metadata is unreadable (truncated or corrupt): {err}") from None
    if not isinstance(meta, dict):
        raise _fault(path, f"its metadata is a {type(meta).__name__}, not a JSON object")
    for key in ("format", "dtype"):
        if key not in meta:
            raise _fault(path, f"its metadata lacks the field {key!r}")
    if meta["dtype"] not in ("float32", "float64"):
        raise _fault(path, f"dtype {meta['dtype']!r} is not float32 or float64")
    return meta


def _training_fields(meta: dict, path: Path) -> int:
    """Check the fields only a training checkpoint has; return ``next_epoch``."""
    for key in ("rng", "hooks", "history", "next_epoch"):
        if key not in meta:
            raise _fault(path, f"its metadata lacks the field {key!r} (not a training checkpoint?)")
    epoch = meta["next_epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise _fault(path, f"next_epoch must be an integer >= 0, got {epoch!r}")
    lr = meta.get("lr")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0
    ):
        raise _fault(path, f"the learning rate must be a finite number > 0, got {lr!r}")
    if not isinstance(meta["hooks"], dict) or not isinstance(meta["history"], dict):
        raise _fault(path, "its 'hooks' and 'history' fields must be JSON objects")
    return epoch


def stale_temporaries(path: str | Path) -> list[Path]:
    """The temporary files beside checkpoint ``path`` that an interrupted write left behind: the
    ``<name>.*.tmp`` of earlier versions, and :mod:`rmtheory.atomic`'s ``.<name>.<pid>.*.tmp``
    whose writer is gone."""
    p = Path(path)
    folder = glob.escape(str(p.parent))
    legacy = glob.glob(os.path.join(folder, glob.escape(p.name) + ".*.tmp"))
    ours = glob.glob(os.path.join(folder, "." + glob.escape(p.name) + ".*.tmp"))
    dead = [f for f in ours if not _writer_alive(Path(f).name[len(p.name) + 2 :])]
    return [Path(f) for f in legacy + dead]


def _writer_alive(rest: str) -> bool:
    pid = rest.split(".", 1)[0]
    if not pid.isdigit():
        return True  # not named by rmtheory.atomic: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    for f in stale_temporaries(path):
        f.unlink(missing_ok=True)


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
            return np.array(arrays[str(obj["__array__"])])
        return {k: _decode(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    return obj


def _write_npz(path: Path, arrays: dict, meta: dict) -> None:
    """Through :mod:`rmtheory.atomic` (temporary file in the same folder, fsync, rename; the
    user's umask): never a torn file, and a full disk names the checkpoint."""
    _remove_stale_temporaries(path)  # left by a write of an earlier version that was killed
    text = json.dumps(meta, default=_json_default)  # fails (unserialisable) before any file
    with atomic_open(path, "wb", what="checkpoint") as f:
        np.savez(f, meta=np.array(text), **arrays)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def _model_arrays(model: MLP) -> tuple[dict, dict]:
    if callable(getattr(model, "checkpoint_arrays", None)):  # a CNN describes its own layers
        return model.checkpoint_arrays()
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
    if callable(getattr(model, "load_checkpoint_arrays", None)):  # a CNN (rmtheory.nn.cnn)
        model.load_checkpoint_arrays(z, meta)
        return
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


def _named(path: Path, err: Exception) -> ValueError:
    """``err`` as a ValueError that names the checkpoint file (once)."""
    text = str(err) if not isinstance(err, KeyError) else f"missing field {err}"
    if text.startswith(f"checkpoint {path}:"):
        return err if isinstance(err, ValueError) else ValueError(text)
    return _fault(path, text)


def _install(model: Any, z: _Archive, meta: dict, path: Path) -> None:
    """:func:`_load_layers` with every fault named (the model's own checks included)."""
    model_dtype = getattr(model, "dtype", None)
    if model_dtype is not None and np.dtype(model_dtype).name != meta["dtype"]:
        raise _fault(
            path, f"holds {meta['dtype']} weights, the model is {np.dtype(model_dtype).name}"
        )
    try:
        _load_layers(model, z, meta)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise _named(path, err) from None


def load_model(path: str | Path) -> MLP:
    """Rebuild an :class:`MLP` (or a :class:`~rmtheory.nn.cnn.CNN` built by ``authors_cnn``) saved by
    :func:`save_model` or by a training checkpoint.

    Raises ``ValueError`` naming the file and the fault for a corrupt, truncated or inconsistent file,
    and for weights of another dtype than recorded or holding NaN/Inf.
    """
    p = Path(path)
    with _open(p) as raw:
        meta = _read_meta(raw, p)
        z = _Archive(raw, p, meta["dtype"])
        try:
            if meta.get("format") == "rmtheory.nn.cnn/1":
                from rmtheory.nn.cnn import CNN

                return CNN.from_checkpoint(z, meta)
            acts = meta["activations"]
            model = MLP(meta["sizes"], acts[0], acts[-1], dtype=np.dtype(meta["dtype"]))
            for layer, act in zip(model.layers, acts, strict=True):
                layer.activation = act  # hidden activations may differ if set by hand
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise _named(p, err) from None
        _install(model, z, meta, p)
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
    """Load a checkpoint into ``model``, ``gen``, ``pruner``, ``sparsifier``; return (epoch, bufs, history).

    Everything is validated first (see the module docstring); a fault raises ``ValueError`` naming the
    file, before the model, the generator or a hook is touched where the fault is in the file itself.
    """
    p = Path(path)
    _remove_stale_temporaries(p)
    with _open(p) as raw:
        meta = _read_meta(raw, p)
        epoch = _training_fields(meta, p)
        z = _Archive(raw, p, meta["dtype"])
        for key in z.files:  # read (and so check) every model array before installing anything
            if _MODEL_ARRAY.fullmatch(key):
                z[key]
        _install(model, z, meta, p)
        bufs = [
            [np.array(z[f"mom{i}_{j}"]) for j in range(len(layer.params()))]
            for i, layer in enumerate(model.layers)
        ]
        for i, layer in enumerate(model.layers):
            for j, (b, param) in enumerate(zip(bufs[i], layer.params(), strict=True)):
                if b.shape != param.shape:
                    raise _fault(
                        p,
                        f"momentum buffer mom{i}_{j} has shape {b.shape}, the parameter {param.shape}",
                    )
        try:
            gen.bit_generator.state = meta["rng"]
        except (KeyError, TypeError, ValueError) as err:
            raise _fault(p, f"the random generator state does not load: {err}") from None
        for name, hook in (("pruner", pruner), ("sparsifier", sparsifier)):
            if name in meta["hooks"] and hook is not None:
                try:
                    hook.load_state_dict(_decode(meta["hooks"][name], z))
                except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
                    raise _named(p, ValueError(f"the {name} state does not load: {err}")) from None
        try:
            history = History.from_dict(_decode(meta["history"], z))
        except (KeyError, TypeError, ValueError) as err:
            raise _fault(p, f"the training history does not load: {err}") from None
    return epoch, bufs, history
