"""pytest: without torch this subpackage cannot be imported, so its doctests are not collected
(``pytest --doctest-modules`` would otherwise stop on the ImportError that says how to install it)."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["*.py"]
