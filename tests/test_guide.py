"""docs/guide.md runs as it stands: every command, file and Python block, in order, in one folder.

The guide is what a new user follows; running it here keeps it true to the tool (the README's own
test command once failed from a clean clone while CI, which installs more, stayed green).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)  # a plain fence has lang '': refused
FILE_LINE = re.compile(r"#\s*file:\s*(\S+)")
NAMED_PATH = re.compile(r"`(guide/[^`\s]+)`")


def blocks() -> list[tuple[str, str]]:
    """The guide's fenced blocks as (language, text), in order."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(GUIDE.read_text())]


def test_guide_blocks_are_runnable_kinds() -> None:
    """Every block is one the test can run or write, and every file block names its file."""
    found = blocks()
    assert found, "docs/guide.md has no fenced blocks"
    for lang, text in found:
        assert lang in {"bash", "python", "toml"}, lang
        if lang == "toml":
            assert FILE_LINE.match(text), f"a toml block without '# file: PATH': {text[:60]}"


def _shim(folder: Path) -> dict[str, str]:
    """An environment whose `northroute` and `python` are this interpreter (package installed or on PYTHONPATH)."""
    folder.mkdir()
    for name, args in (("northroute", " -m northroute"), ("python", "")):
        exe = folder / name
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}"{args} "$@"\n')
        exe.chmod(0o755)
    env = dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


@pytest.mark.slow
def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    """Each block succeeds in order, and every `guide/...` path the guide names exists afterwards."""
    env = _shim(tmp_path / "bin")
    work = tmp_path / "work"
    work.mkdir()
    for lang, text in blocks():
        if lang == "toml":
            path = work / FILE_LINE.match(text).group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            continue
        cmd = ["bash", "-euo", "pipefail", "-c", text] if lang == "bash" else [sys.executable, "-c", text]
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{lang} block failed ({done.returncode}):\n{text}\n{done.stderr[-3000:]}"
    named = set(NAMED_PATH.findall(GUIDE.read_text()))
    missing = sorted(p for p in named if not (work / p).exists())
    assert not missing, f"the guide names files its commands did not write: {missing}"
