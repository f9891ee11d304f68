"""The session-wide canary check (conftest.py) must itself be able to fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_printed_canary_fails_the_session(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(
        "from tests.canary import CANARY\n\n"
        "def test_prints_a_secret():\n"
        "    print('token is', CANARY)\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-q",
            "--rootdir",
            str(tmp_path),
            "-c",
            "/dev/null",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "SECRET LEAK: the canary secret appeared in:" in run.stdout
    assert "test_prints_a_secret (call)" in run.stdout
