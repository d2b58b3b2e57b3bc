"""torch stays optional: rmtheory never imports it, rmtheory.torch says how to install it.

These run whether or not torch is installed (each in a fresh interpreter).
"""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_importing_rmtheory_never_imports_torch():
    r = _run(
        "import sys, rmtheory, rmtheory.nn, rmtheory.nn.methods, rmtheory.experiments\n"
        "print('torch' in sys.modules)"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_rmtheory_torch_without_torch_says_how_to_install():
    # sys.modules["torch"] = None makes "import torch" fail as on a machine without it
    r = _run(
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "try:\n"
        "    import rmtheory.torch\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ImportError:")
    assert 'pip install -e ".[torch]"' in r.stdout
