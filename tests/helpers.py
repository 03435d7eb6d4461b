"""Helpers shared by the command-line tests: run `python -m northroute` and check a one-line refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m northroute ARGS` in a fresh process, as a user would type it."""
    return subprocess.run([sys.executable, "-m", "northroute", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def one_line_error(res: subprocess.CompletedProcess, fragment: str) -> None:
    """Bad input is refused with exit code 2 and one line on stderr naming the problem, never a traceback."""
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr
    assert len(lines) == 1 and fragment in lines[0], res.stderr
