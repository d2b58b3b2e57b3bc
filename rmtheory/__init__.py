"""rmtheory: the random-matrix theory of neural-network pruning, as code.

The public API is re-exported here; each name lives in the module named after its idea
(``marchenko_pastur``, ``tracy_widom``, ``bema``, ...).
"""

from rmtheory._version import __version__

__all__ = ["__version__"]
