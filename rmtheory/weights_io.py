"""Reading and writing a model's weights as a plain ``{name: numpy.ndarray}`` dict.

Nothing here needs a deep-learning framework.  Formats, chosen by the file suffix:

* ``.npz`` / ``.npy``: NumPy, read with ``allow_pickle=False`` (a weights file never runs code);
* ``.safetensors``: the ``safetensors`` package's NumPy API (optional extra
  ``rmtheory[safetensors]``); bfloat16 tensors are widened to float32 exactly;
* ``.pt`` / ``.pth`` / ``.bin``: a PyTorch state dict, only when ``torch`` is importable, read with
  ``torch.load(..., weights_only=True)``; checkpoints that wrap the state dict
  (``{"state_dict": ...}``, ``{"model": ...}``) are unwrapped;
* a directory: every such file in it, in name order (sharded checkpoints such as
  ``model-00001-of-00002.safetensors``).

:func:`to_numpy` turns any array-like (a torch, JAX or CuPy tensor, on any device) into a NumPy
array: through DLPack (``numpy.from_dlpack``, zero-copy on the CPU) when the object offers
``__dlpack__``, else through ``numpy.asarray`` after moving it to host memory.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SUPPORTED_SUFFIXES", "load_weights", "save_weights", "to_numpy"]

#: File suffixes :func:`load_weights` reads.
SUPPORTED_SUFFIXES = (".npz", ".npy", ".safetensors", ".pt", ".pth", ".bin")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin")
# Keys under which training checkpoints commonly nest the model's state dict.
_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model", "module")


def _torch_to_host(x: Any) -> Any:
    x = x.detach().cpu()
    # NumPy has no bfloat16 / float8: widen (exactly) to float32.
    if x.is_floating_point() and x.element_size() < 4 and str(x.dtype) != "torch.float16":
        x = x.float()
    return x.numpy()


def to_numpy(x: Any, name: str = "array") -> np.ndarray:
    """Convert an array-like (NumPy, torch, JAX, CuPy, nested lists...) to a NumPy array on the CPU.

    DLPack first (``numpy.from_dlpack``: zero-copy for CPU tensors), then the framework's own
    route to host memory (``.detach().cpu()`` for torch, ``.get()`` for CuPy), then
    ``numpy.asarray``.  Tensors that require gradients are detached; bfloat16/float8 torch tensors
    are widened to float32 (NumPy has no such dtype).

    Parameters
    ----------
    x : array_like
        The tensor.
    name : str
        Used in the error message.

    Returns
    -------
    numpy.ndarray
        A view of ``x`` where possible, otherwise a copy.

    Raises
    ------
    TypeError
        If nothing converts ``x``.

    Examples
    --------
    >>> to_numpy([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__.split(".", 1)[0]
    if module == "torch":
        x = x.detach()
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError, AttributeError):
            pass  # another device or a dtype NumPy lacks: take the framework's own route below
    try:
        if module == "torch":
            return _torch_to_host(x)
        if module == "cupy":
            return x.get()
        return np.asarray(x)
    except Exception as err:  # the framework's own exception types are unknown here
        raise TypeError(
            f"{name}: cannot convert a {type(x).__module__}.{type(x).__name__} to a NumPy array "
            f"({err})"
        ) from err


# ----------------------------------------------------------------------------------- readers
def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _need_safetensors():
    try:
        import safetensors.numpy  # noqa: F401
        from safetensors import safe_open
    except ImportError:
        raise ImportError(
            "reading or writing .safetensors files needs the optional 'safetensors' package: "
            "pip install 'rmtheory[safetensors]'"
        ) from None
    return safe_open


def _read_bf16(path: Path, key: str) -> np.ndarray:
    # safetensors' NumPy API refuses bfloat16.  The format is an 8-byte little-endian header
    # length, a JSON header with each tensor's dtype, shape and byte range, then the data;
    # a bfloat16 is the top half of a float32, so widening is a 16-bit shift (exact).
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        info = json.loads(f.read(n))[key]
    begin, end = info["data_offsets"]
    raw = np.fromfile(path, dtype="<u2", count=(end - begin) // 2, offset=8 + n + begin)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    safe_open = _need_safetensors()
    out: dict[str, np.ndarray] = {}
    with safe_open(str(path), framework="numpy") as f:
        for key in f.keys():  # noqa: SIM118 -- safe_open objects are not iterable
            dtype = f.get_slice(key).get_dtype()
            if dtype == "BF16":
                out[key] = _read_bf16(path, key)
            else:
                try:
                    out[key] = f.get_tensor(key)
                except TypeError as err:
                    raise TypeError(
                        f"{path}: tensor {key!r} has dtype {dtype}, which NumPy cannot hold ({err})"
                    ) from err
    return out


def _flatten(obj: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif hasattr(value, "shape") or isinstance(value, int | float):
            yield name, value


def _load_torch(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"reading {path.suffix} files needs PyTorch (not a dependency of rmtheory); install "
            "torch, or save the weights as .npz / .safetensors"
        ) from None
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"{path}: expected a state dict (a mapping name -> tensor), got {type(obj).__name__}; "
            "save model.state_dict(), not the model"
        )
    for key in _STATE_DICT_KEYS:
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    return {name: to_numpy(v, name) for name, v in _flatten(obj)}


def _load_file(path: Path) -> dict[str, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix == ".npy":
        return {path.stem: np.load(path, allow_pickle=False)}
    if suffix == ".safetensors":
        return _load_safetensors(path)
    if suffix in _TORCH_SUFFIXES:
        return _load_torch(path)
    raise ValueError(
        f"path: unsupported weights file {path.name!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a weights file (or a directory of them) into ``{name: numpy.ndarray}``.

    Parameters
    ----------
    path : str or path-like
        A ``.npz``, ``.npy``, ``.safetensors``, ``.pt``/``.pth``/``.bin`` file, or a directory
        whose files with these suffixes are read in name order (sharded checkpoints).

    Returns
    -------
    dict
        Tensor name to array, in file order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an unsupported suffix, an empty directory, or a name present in two shards.
    ImportError
        If the format's optional package (``safetensors``, ``torch``) is missing.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(f, fc=np.ones((3, 2)))
    >>> {k: v.shape for k, v in load_weights(f).items()}
    {'fc': (3, 2)}
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path: no such file or directory: {str(p)!r}")
    if not p.is_dir():
        return _load_file(p)
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in SUPPORTED_SUFFIXES)
    if not files:
        raise ValueError(
            f"path: directory {str(p)!r} holds no weights file ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    out: dict[str, np.ndarray] = {}
    for f in files:
        for name, arr in _load_file(f).items():
            if name in out:
                raise ValueError(f"path: tensor {name!r} appears in two files of {str(p)!r}")
            out[name] = arr
    return out


# ----------------------------------------------------------------------------------- writers
def _save_npz(path: Path, data: Mapping[str, np.ndarray]) -> None:
    # np.savez(**data) would clash with its own keyword names ("file", "allow_pickle"); an .npz
    # is just a zip of .npy members, so write those directly.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for key, arr in data.items():
            with z.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def save_weights(
    path: str | os.PathLike,
    arrays: Mapping[str, Any],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write ``{name: array}`` to ``.npz`` (uncompressed) or ``.safetensors``, by suffix.

    Parameters
    ----------
    path : str or path-like
        Output file; its folder is created.
    arrays : mapping
        Name to array-like (converted with :func:`to_numpy`).
    metadata : mapping of str to str, optional
        Stored in the safetensors header (``.npz`` has no place for it and ignores it).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".npz", ".safetensors"):
        raise ValueError(f"path: expected a .npz or .safetensors output file, got {p.name!r}")
    data = {k: np.ascontiguousarray(to_numpy(v, k)) for k, v in arrays.items()}
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        _save_npz(p, data)
    else:
        _need_safetensors()
        from safetensors.numpy import save_file

        save_file(data, str(p), metadata=dict(metadata) if metadata else None)
    return p
