"""Chromium for the browser tests: the one on PATH; else, when the suite runs as root on a Debian
machine, Debian's `chromium` package installed once through apt-get; else one line saying what
to install. The tests never skip for want of a browser."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Callable

import pytest

NAMES = ("chromium", "chromium-browser")
MISSING = ("no Chromium on PATH: install Debian's chromium package "
           "(apt-get install chromium) and run the tests again")


def find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


def chromium(say: Callable[[str], None] = print) -> str:
    """The path of a Chromium executable, installing it first when that is possible."""
    found = find()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(MISSING, pytrace=False)
    say("installing Debian's chromium package for the browser tests (apt-get, a minute or two)")
    failure = _apt_install("chromium")
    found = find()
    if found is None:
        pytest.fail(f"{MISSING} ({failure or 'apt-get installed no chromium'})", pytrace=False)
    return found


def _apt_install(package: str) -> str | None:
    """Installs `package`; on failure, the last line apt-get printed. A fresh machine may have no
    package lists yet, so a failed install is tried once more after `apt-get update`."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Waits for the package manager's lock rather than failing at once: two test workers (or
    # another apt-get) may install at the same time; the second then finds it installed.
    install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=600", package]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq", "-o", "DPkg::Lock::Timeout=600"],
                       capture_output=True, text=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"apt-get exited {result.returncode}"
