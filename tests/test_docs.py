"""docs/ODD.md stays true to the code: every parameter, constant and metric is in it, as built."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_odd_is_up_to_date():
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "build_odd.py"), "--check"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_odd_names_every_process_in_the_schedule():
    from northroute.sim import SCHEDULE

    odd = (ROOT / "docs" / "ODD.md").read_text()
    for name, _ in SCHEDULE:
        assert re.search(rf"^### 7\.\d+ {name}$", odd, re.M), name
