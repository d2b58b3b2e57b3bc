"""The layers Algorithm 1 acts on in a PyTorch model, and the two-layer splits it puts in their place.

A weight matrix is the layer's weight seen as (out, in): ``nn.Linear.weight`` itself and, for an
``nn.Conv2d`` kernel (out, in, kh, kw), the matrix out × (in·kh·kw) (the library's convention,
:mod:`rmtheory.spectrum`).  A split replaces it by two layers whose composition has the matrix
``W2 @ W1``: :class:`FactorizedLinear` (Linear in → k without bias, then Linear k → out with the
bias) and :class:`FactorizedConv2d` (the k-filter convolution with the original stride, padding
and dilation, then a 1×1 convolution with the bias).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["FactorizedConv2d", "FactorizedLinear", "matrix_layers", "weight_matrix"]


class FactorizedLinear(nn.Module):
    """``second(first(x))``: ``first`` = Linear(in, k, bias=False), ``second`` = Linear(k, out).

    Examples
    --------
    >>> layer = FactorizedLinear(torch.ones(2, 3), torch.ones(4, 2), torch.zeros(4))
    >>> layer(torch.ones(1, 3)).tolist(), layer.rank, tuple(layer.weight.shape)
    ([[6.0, 6.0, 6.0, 6.0]], 2, (4, 3))
    """

    def __init__(
        self, W1: torch.Tensor, W2: torch.Tensor, bias: torch.Tensor | nn.Parameter | None
    ):
        super().__init__()
        k, n_in = W1.shape
        n_out = W2.shape[0]
        kw = {"device": W1.device, "dtype": W1.dtype}
        self.first = nn.Linear(n_in, k, bias=False, **kw)
        self.second = nn.Linear(k, n_out, bias=False, **kw)
        with torch.no_grad():
            self.first.weight.copy_(W1)
            self.second.weight.copy_(W2)
        # the bias Parameter itself moves over, so an optimiser keeps its state (as NumPy's trainer)
        if bias is not None:
            self.second.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias)

    @property
    def rank(self) -> int:
        return int(self.first.weight.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.first.in_features)

    @property
    def out_features(self) -> int:
        return int(self.second.out_features)

    @property
    def weight(self) -> torch.Tensor:
        """The effective (out, in) matrix ``W2 @ W1`` (formed on demand)."""
        return self.second.weight @ self.first.weight

    @property
    def bias(self) -> nn.Parameter | None:
        return self.second.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))

    def extra_repr(self) -> str:
        return f"{self.first.in_features} -> {self.second.out_features}, rank {self.rank}"


class FactorizedConv2d(nn.Module):
    """``second(first(x))``: ``first`` = Conv2d(in, k, kernel, stride, padding, …, bias=False),
    ``second`` = the 1×1 Conv2d(k, out) with the bias.

    ``W1`` is (k, in·kh·kw) or (k, in, kh, kw), ``W2`` (out, k); ``like`` is the convolution whose
    geometry (kernel size, stride, padding, dilation, padding mode) the first layer takes.
    """

    def __init__(
        self,
        W1: torch.Tensor,
        W2: torch.Tensor,
        bias: torch.Tensor | nn.Parameter | None,
        like: nn.Conv2d | FactorizedConv2d,
    ):
        super().__init__()
        geo = like.first if isinstance(like, FactorizedConv2d) else like
        kh, kw = geo.kernel_size
        k = W1.shape[0]
        n_in = W1.numel() // (k * kh * kw)
        n_out = W2.shape[0]
        kw_ = {"device": W1.device, "dtype": W1.dtype}
        self.first = nn.Conv2d(n_in, k, (kh, kw), stride=geo.stride, padding=geo.padding,
                               dilation=geo.dilation, padding_mode=geo.padding_mode, bias=False,
                               **kw_)  # fmt: skip
        self.second = nn.Conv2d(k, n_out, 1, bias=False, **kw_)
        with torch.no_grad():
            self.first.weight.copy_(W1.reshape(self.first.weight.shape))
            self.second.weight.copy_(W2.reshape(self.second.weight.shape))
        if bias is not None:
            self.second.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias)

    @property
    def rank(self) -> int:
        return int(self.first.weight.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.first.in_channels)

    @property
    def out_channels(self) -> int:
        return int(self.second.out_channels)

    @property
    def weight(self) -> torch.Tensor:
        """The effective kernel (out, in, kh, kw) of ``W2 @ W1``."""
        k = self.rank
        W = self.second.weight.reshape(-1, k) @ self.first.weight.reshape(k, -1)
        return W.reshape(W.shape[0], *self.first.weight.shape[1:])

    @property
    def bias(self) -> nn.Parameter | None:
        return self.second.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))

    def extra_repr(self) -> str:
        return (f"{self.first.in_channels} -> {self.second.out_channels}, "
                f"kernel {tuple(self.first.kernel_size)}, rank {self.rank}")  # fmt: skip


MATRIX_TYPES = (nn.Linear, nn.Conv2d, FactorizedLinear, FactorizedConv2d)


def _is_matrix_layer(module: nn.Module) -> bool:
    # exact types: a subclass (e.g. attention's out_proj) may be read directly by its owner
    if type(module) not in MATRIX_TYPES:
        return False
    if type(module) is nn.Conv2d and module.groups != 1:
        return False  # a grouped kernel is not one matrix
    return not isinstance(getattr(module, "weight", None), nn.parameter.UninitializedParameter)


def matrix_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every layer with a weight matrix, in ``named_modules`` order.

    ``nn.Linear`` and ``nn.Conv2d`` (not grouped, exact types) and the factorised layers of this
    module; the two halves of a factorised layer are not listed on their own.
    """
    found: list[tuple[str, nn.Module]] = []
    inside: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(p + ".") for p in inside):
            continue
        if _is_matrix_layer(module):
            found.append((name, module))
            if isinstance(module, FactorizedLinear | FactorizedConv2d):
                inside.append(name)
    return found


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The (out, in) matrix view of a matrix layer's (effective) weight, detached."""
    W = module.weight.detach()
    return W.reshape(W.shape[0], -1)


def layer_params(module: nn.Module) -> list[nn.Parameter]:
    """The trainable tensors of a matrix layer: its weight(s) and its bias, if any."""
    if isinstance(module, FactorizedLinear | FactorizedConv2d):
        ps = [module.first.weight, module.second.weight]
    else:
        ps = [module.weight]
    return ps + ([module.bias] if module.bias is not None else [])


def is_factorised(module: Any) -> bool:
    return isinstance(module, FactorizedLinear | FactorizedConv2d)
