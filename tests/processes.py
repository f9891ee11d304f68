"""Stopping a server a test started (the npm test servers, …): by its own PID, SIGTERM
first, a kill when it does not go within ``grace`` seconds, its pipe closed after."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["stop"]


def stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
