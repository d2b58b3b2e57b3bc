"""Network helpers: the offline switch, short-timeout downloads with tqdm, and client calls.

Registry locations are never written here: they come at run time from the ordinary clients
(``npm``, ``apt-get``, ``pip``) or their configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from rmtheory.atomic import atomic_open

#: Default seconds to wait for a connection / between bytes; override with RMTHEORY_TIMEOUT.
DEFAULT_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes", "on"}


def offline() -> bool:
    """True when ``RMTHEORY_OFFLINE`` is set to 1/true/yes/on: every network step is skipped."""
    return os.environ.get("RMTHEORY_OFFLINE", "").strip().lower() in _TRUE


def timeout() -> float:
    """Socket timeout in seconds (``RMTHEORY_TIMEOUT``, default 10): offline machines fail fast."""
    raw = os.environ.get("RMTHEORY_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"RMTHEORY_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"RMTHEORY_TIMEOUT must be > 0, got {raw!r}")
    return value


def download(url: str, dest: Path, *, progress: bool | None, label: str | None = None) -> Path:
    """GET ``url`` into ``dest`` with a tqdm bar (``progress=None``: only on a terminal)."""
    req = urllib.request.Request(url, headers={"User-Agent": "rmtheory-datasets"})
    with urllib.request.urlopen(req, timeout=timeout()) as resp, atomic_open(dest, "wb", what="download") as out:
        total = resp.headers.get("Content-Length")
        with tqdm(
            total=int(total) if total and total.isdigit() else None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label or dest.name,
            disable=None if progress is None else not progress,
            file=sys.stderr,
            leave=False,
        ) as bar:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    return dest


def run_client(
    argv: list[str], *, cwd: Path | None = None, progress: bool | None, limit: float = 600.0
) -> str:
    """Run a registry client; return its stdout, or raise RuntimeError with its last words.

    The client's own progress output goes to our stderr when ``progress`` is true (never to
    stdout, which the CLI keeps for the list of paths).
    """
    exe = shutil.which(argv[0])
    if exe is None:
        raise FileNotFoundError(f"`{argv[0]}` is not on PATH")
    show = bool(progress) if progress is not None else sys.stderr.isatty()
    try:
        proc = subprocess.run(
            [exe, *argv[1:]],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=None if show else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`{' '.join(argv)}` gave no answer within {limit:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        detail = " | ".join(tail) if tail else "see the messages above"
        raise RuntimeError(f"`{' '.join(argv)}` exited with {proc.returncode}: {detail}")
    return proc.stdout
