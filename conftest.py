"""Collection rules for the whole checkout (the README's ``python -m pytest`` collects
``rmtheory/`` for its doctests too)."""

import importlib.util


def _has_torch() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # the import is blocked on purpose (a test does so)
        return False


# rmtheory.torch is the optional PyTorch backend: its modules import torch at the top, so without
# the extra their doctests cannot even be collected (a collection error fails the whole run,
# where the backend's tests in tests/ skip with a reason).
collect_ignore = [] if _has_torch() else ["rmtheory/torch"]
