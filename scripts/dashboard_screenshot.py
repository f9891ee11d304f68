"""Make docs/images/dashboard.png: run the dashboard's browser test (a real gateway, a real
authorization server, Debian's chromium), which saves the signed-in dashboard where
``CLAWGATE_DASHBOARD_SCREENSHOT`` says once the device login has completed.

    python scripts/dashboard_screenshot.py            # docs/images/dashboard.png
    python scripts/dashboard_screenshot.py OUT.png    # somewhere else
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "docs" / "images" / "dashboard.png"
TEST = "tests/ui/test_ui_browser.py"


def main(argv: list[str]) -> int:
    image = Path(argv[0]).resolve() if argv else IMAGE
    env = {**os.environ, "CLAWGATE_DASHBOARD_SCREENSHOT": str(image)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST]
    ran = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if ran.returncode != 0 or not image.is_file():
        print(f"no screenshot made: the browser test failed ({TEST})", file=sys.stderr)
        return ran.returncode or 1
    print(f"wrote {image.relative_to(ROOT) if image.is_relative_to(ROOT) else image}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
