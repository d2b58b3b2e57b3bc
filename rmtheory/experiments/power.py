"""What each check can detect: perturbations of the theory under which a verdict must change.

A check that cannot fail is not a check.  Each :class:`Perturbation` names one deliberate error
in the theory an experiment checks (the law's variance × (1 + ε), a bound's constant × c, the sign
of a predicted effect), how to apply it (a context manager that patches the code for the length
of one run) and the verdict the named claim must then take.  ``tests/test_power*.py`` run every
registered perturbation at the small size given here and fail when a check does not flip, and
the claim states the same sensitivity in words on the verdict page (``Claim.power``).

Registering lives beside the claims (each family's ``entries`` module calls :func:`register`),
so adding a check and stating its power happen in one place.

>>> import contextlib
>>> p = Perturbation("demo", "a wrong constant", claim="bound", expect=("violated",),
...                  patch=contextlib.nullcontext, params={"n_seeds": 1})
>>> p.flips("holds", "violated"), p.flips("holds", "holds")
(True, False)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "Perturbation",
    "PERTURBATIONS",
    "register",
    "perturbations",
    "judge",
    "scaled",
    "scaled_setting",
    "wrapped",
    "mp_variance",
    "patched",
    "smallest_flagged",
    "flagged_text",
]


@dataclass(frozen=True)
class Perturbation:
    """One deliberate error in the theory behind experiment ``experiment``'s claim ``claim``.

    Parameters
    ----------
    experiment : str
        The registry name (``EXPERIMENTS[experiment]``).
    what : str
        The error in words, as the verdict page shows it ("σ² × 1.05").
    claim : str
        A substring of the claim's text that picks the claim (unique within the experiment).
    expect : tuple of str
        The verdicts the claim may take under the perturbation (e.g. ``("violated",)``).
    patch : callable
        ``patch()`` returns a context manager that applies the error (e.g. ``unittest.mock.patch``
        of a constant) for the length of one run.
    params : mapping
        The size the check runs at: overrides of the experiment's ``quick`` parameters, chosen so
        the unperturbed run is judged (not smoke) and fast enough for the default test tier.
    """

    experiment: str
    what: str
    claim: str
    expect: tuple[str, ...]
    patch: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expect", tuple(self.expect))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        if not self.expect:
            raise ValueError("expect must name at least one verdict")

    def flips(self, before: str, after: str) -> bool:
        """Whether the check detected the error: the verdict moved, to one of ``expect``."""
        return after != before and after in self.expect


#: Every registered perturbation, in registration order.
PERTURBATIONS: list[Perturbation] = []


def register(p: Perturbation) -> Perturbation:
    """Add ``p`` to :data:`PERTURBATIONS` (one per experiment, claim and error)."""
    if any((q.experiment, q.claim, q.what) == (p.experiment, p.claim, p.what)
           for q in PERTURBATIONS):  # fmt: skip
        raise ValueError(f"perturbation {p.what!r} of {p.experiment}/{p.claim!r} registered twice")
    PERTURBATIONS.append(p)
    return p


def perturbations(experiment: str | None = None) -> list[Perturbation]:
    """The registered perturbations (of one experiment when named)."""
    return [p for p in PERTURBATIONS if experiment is None or p.experiment == experiment]


def _verdict(result: dict, exp: Any, claim: str) -> str:
    found = [c for c in exp.claims(result) if claim in c.claim]
    if len(found) != 1:
        names = [c.claim for c in exp.claims(result)]
        raise LookupError(f"claim {claim!r} matches {len(found)} claims of {exp.name}: {names}")
    return found[0].verdict


def judge(p: Perturbation, *, jobs: int = 1) -> tuple[str, str]:
    """(verdict without, verdict with the error) of ``p``'s claim, each from a fresh run."""
    from rmtheory.experiments.registry import EXPERIMENTS  # filled by the entries, once imported

    exp = EXPERIMENTS[p.experiment]
    params = {**exp.sizes["quick"], **p.params}

    def once() -> str:
        from rmtheory.experiments.registry import to_json

        # as reproduce builds it, judged at quick size; nothing cached, so the patch takes effect
        raw = exp.run(params=params, jobs=jobs, cache=None)
        result = to_json({"name": exp.name, "title": exp.title, "size": "quick",
                          "params": params, "follows": exp.follows, **raw})  # fmt: skip
        return _verdict(result, exp, p.claim)

    before = once()
    with p.patch():
        after = once()
    return before, after


# ------------------------------------------------------------------ generic patches
def scaled(target: str, factor: float):
    """A patch of the function at dotted path ``target`` whose result is multiplied by
    ``factor`` (the original is looked up when the patch starts, so patches compose).

    >>> import math
    >>> with scaled("math.sqrt", 2.0)():
    ...     math.sqrt(4.0)
    4.0
    >>> math.sqrt(4.0)
    2.0
    """
    return wrapped(target, lambda original: lambda *a, **k: factor * original(*a, **k))


def wrapped(target: str, wrapper: Callable[[Callable], Callable]):
    """A patch replacing the function at dotted path ``target`` by ``wrapper(original)`` (the
    original looked up when the patch starts), e.g. one that scales a single returned term."""
    import importlib
    from unittest import mock

    module, name = target.rsplit(".", 1)

    def patch():
        original = getattr(importlib.import_module(module), name)
        return mock.patch(target, wrapper(original))

    return patch


def scaled_setting(target: str, key: str, factor: float, method: str = "mp"):
    """A patch of the seed runner at ``target`` (called as ``run(params, jobs, cache, **kw)``)
    that multiplies the setting ``key`` by ``factor`` in the runs of ``method`` only, whether the
    setting comes in ``params`` or in ``kw`` — e.g. Algorithm 1's keep-fraction constant T of
    the pruned arm, the normal arm untouched.

    >>> import types, sys
    >>> mod = types.ModuleType("demo_runner"); sys.modules["demo_runner"] = mod
    >>> mod.run = lambda params, jobs, cache, **kw: (params["T"], kw["method"])
    >>> with scaled_setting("demo_runner.run", "T", 4.0)():
    ...     mod.run({"T": 2.0}, 1, None, method="mp"), mod.run({"T": 2.0}, 1, None, method="none")
    ((8.0, 'mp'), (2.0, 'none'))
    """

    def wrapper(original):
        def run(params, jobs, cache, **kw):
            if kw.get("method") == method:
                if key in kw:
                    kw = {**kw, key: kw[key] * factor}
                else:
                    params = {**params, key: params[key] * factor}
            return original(params, jobs, cache, **kw)

        return run

    return wrapped(target, wrapper)


def mp_variance(factor: float):
    """Every MarchenkoPastur built with σ² × ``factor`` (the law the check compares with)."""
    from unittest import mock

    def patch():
        from rmtheory import marchenko_pastur as mp

        original = mp.MarchenkoPastur

        class Wrong(original):
            def __init__(self, ratio, sigma2=1.0):
                super().__init__(ratio, sigma2 * factor)

        return mock.patch.object(mp, "MarchenkoPastur", Wrong)

    return patch


def patched(target: str, fn):
    """A patch replacing the function at dotted path ``target`` by ``fn``."""
    from unittest import mock

    return lambda: mock.patch(target, fn)


# ------------------------------------------------------------------ the smallest error flagged
def smallest_flagged(
    verdict_of: Callable[[float], str], step: float = 0.0025, span: float = 100.0
) -> tuple[tuple[float, str] | None, tuple[float, str] | None]:
    """The factors nearest 1, below and above, at which a row's verdict first moves.

    ``verdict_of(c)`` is the row's verdict with the theory's constant (or term) multiplied by
    ``c``, judged on the data already measured (a perturbation of the reference, not of the
    draw); the grid is geometric with ratio ``1 + step`` out to ``1 / span`` and ``span``.
    Returns ``((c_below, verdict), (c_above, verdict))``, ``None`` for a side where nothing
    moves.

    >>> from rmtheory.experiments.rules import grade
    >>> low, high = smallest_flagged(lambda c: grade(abs(c - 1) <= 0.05, partly=True))
    >>> round(low[0], 3), high
    (0.949, (1.0512055032813843, 'partly'))
    """
    import math

    base = verdict_of(1.0)
    n = int(math.ceil(math.log(span) / math.log1p(step)))
    out = []
    for sign in (-1, 1):
        found = None
        for k in range(1, n + 1):
            c = (1 + step) ** (sign * k)
            v = verdict_of(c)
            if v != base:
                found = (c, v)
                break
        out.append(found)
    return out[0], out[1]


def flagged_text(what: str, flagged, digits: int = 3) -> str:
    """``smallest_flagged``'s answer in words: "flags <what> × 0.97 (→ partly) or × 1.02 (→
    partly)"; a side with no flip says so."""
    parts = [f"× {c:.{digits}g} (→ {v})" for c, v in (x for x in flagged if x)]
    if not parts:
        return f"none: no factor on {what} moves the verdict"
    return f"flags {what} " + " or ".join(parts)
