"""Install uv into .venv-tools/ with nothing but the Python standard library.

Tries a virtual environment with pip first; where the system Python has no ``venv``/``ensurepip``
(some distributions split them out), downloads uv's wheel from PyPI, checks its SHA-256 and
unpacks the ``uv`` binary. Run by the Makefile only when ``uv`` is not on PATH.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from io import BytesIO
from pathlib import Path

TOOLS = Path(".venv-tools")
UV = TOOLS / "bin" / "uv"


def via_pip() -> bool:
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", "uv"], check=True
        )
    except (subprocess.CalledProcessError, OSError):
        return False
    return UV.exists()


PYPI_JSON = "https://pypi.org/pypi/uv/json"


def platform_tags() -> tuple[str, str]:
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[
        machine
    ]
    if not sys.platform.startswith("linux"):
        return "macosx", arch
    return ("musllinux" if platform.libc_ver()[0] != "glibc" else "manylinux"), arch


def via_pypi() -> None:
    with urllib.request.urlopen(PYPI_JSON, timeout=60) as response:
        release = json.load(response)
    family, arch = platform_tags()
    candidates = [
        f
        for f in release["urls"]
        if f["filename"].endswith(".whl")
        and f"{family}_" in f["filename"]
        and f["filename"].endswith(f"_{arch}.whl")
    ]
    if not candidates:
        raise SystemExit("no uv wheel for this platform; install uv by hand")
    chosen = candidates[0]
    url = urllib.parse.urljoin(PYPI_JSON, chosen["url"])
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
        data = response.read()
    if hashlib.sha256(data).hexdigest() != chosen["digests"]["sha256"]:
        raise SystemExit("uv wheel checksum mismatch")
    with zipfile.ZipFile(BytesIO(data)) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith("/scripts/uv"))
        UV.parent.mkdir(parents=True, exist_ok=True)
        with wheel.open(member) as source, open(UV, "wb") as target:
            shutil.copyfileobj(source, target)
    UV.chmod(0o755)


if __name__ == "__main__":
    if not via_pip():
        shutil.rmtree(TOOLS, ignore_errors=True)
        via_pypi()
    print(f"uv installed at {UV}")
