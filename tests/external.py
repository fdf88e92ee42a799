"""Programs some tests drive from outside Python: headless Chromium and LibreOffice.

Both are Debian packages (``chromium``, ``libreoffice-calc-nogui``) that ``.ci/run``
installs. A developer without them gets a skip that says what to install; CI (``CI`` set)
gets a failure instead, so a green CI run always means the browser and spreadsheet checks
actually ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: Flags for Chromium on these machines: no sandbox (root), no GPU, and nothing that reaches
#: for the network at start-up (the network is closed, and each refusal costs time).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--mute-audio")


def require(names: tuple[str, ...], package: str) -> str:
    """The path of the first of ``names`` on PATH; skip (or fail under CI) if none is."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = (f"{' or '.join(names)} not found: install Debian's {package} package "
               f"(apt-get install -y {package}); .ci/run does")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chromium(args: list[str], profile: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile in ``profile``; its stdout is returned."""
    binary = require(("chromium", "chromium-browser"), "chromium")
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def soffice(args: list[str], profile: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run LibreOffice headless with its own user profile (so runs never share a lock)."""
    binary = require(("soffice", "libreoffice"), "libreoffice-calc-nogui")
    return subprocess.run([binary, "--headless", "--norestore", "--nolockcheck",
                           f"-env:UserInstallation={profile.resolve().as_uri()}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
