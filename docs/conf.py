"""Sphinx configuration for the rmtheory documentation.

Build (warnings are errors, as in CI)::

    pip install -r docs/requirements.txt -e .
    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # build from a checkout without installing

import rmtheory  # noqa: E402

project = "rmtheory"
author = "rmtheory developers"
copyright = "rmtheory developers"
release = rmtheory.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "requirements.txt"]

# --- autodoc / numpydoc
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autosummary_generate = False
numpydoc_show_class_members = False  # members are documented by autodoc below each class
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- MyST (the .md pages)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3

# --- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"rmtheory {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False

# Never reach the network during a build (CI runs offline).
os.environ.setdefault("MPLBACKEND", "Agg")
