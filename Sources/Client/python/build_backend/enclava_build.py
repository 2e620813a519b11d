"""The in-tree PEP 517 build backend of the ``enclava`` package.

``build_wheel`` builds the Swift client's C ABI (``swift build -c release --product EnclavaClientC`` in the Swift
package that holds this folder, three levels up, or in ``$ENCLAVA_SWIFT_PACKAGE``), copies
``libEnclavaClientC.so`` into the package and writes a platform wheel. ``$ENCLAVA_CLIENT_LIBRARY`` names an already
built library to package instead (``make pytest`` passes the one ``make test`` built).

It needs nothing but the standard library, so ``pip install ./Sources/Client/python`` works offline.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent          # Sources/Client/python
PACKAGE = HERE / "enclava"
LIBRARY_NAME = "libEnclavaClientC.so"
NAME = "enclava"


def _version() -> str:
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise RuntimeError("enclava/__init__.py has no __version__ line")
    return match.group(1)


def _swift_package() -> Path:
    root = Path(os.environ.get("ENCLAVA_SWIFT_PACKAGE") or HERE.parent.parent.parent).resolve()
    manifest = root / "Package.swift"
    if not manifest.is_file() or "EnclavaClientC" not in manifest.read_text(encoding="utf-8"):
        raise RuntimeError(
            f"{root} is not the Enclava Swift package (no Package.swift with the EnclavaClientC product); build from the "
            "repository (pip install ./Sources/Client/python) or set ENCLAVA_SWIFT_PACKAGE to its folder")
    return root


def _library() -> Path:
    """The built libEnclavaClientC.so: $ENCLAVA_CLIENT_LIBRARY, or a release build of the Swift package."""
    given = os.environ.get("ENCLAVA_CLIENT_LIBRARY")
    if given:
        path = Path(given).resolve()
        if not path.is_file():
            raise RuntimeError(f"ENCLAVA_CLIENT_LIBRARY={given} does not exist; build it with "
                               "`swift build --product EnclavaClientC` or unset the variable")
        return path
    root = _swift_package()
    swift = shutil.which(os.environ.get("SWIFT", "swift"))
    if swift is None:
        raise RuntimeError("`swift` is not on PATH; install the Swift toolchain (https://swift.org/install) and retry")
    command = [swift, "build", "-c", "release", "--product", "EnclavaClientC"]
    print("enclava: building the Swift client:", " ".join(command), file=sys.stderr, flush=True)
    try:
        subprocess.run(command, cwd=root, check=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"`{' '.join(command)}` failed in {root} (exit {error.returncode}); the Swift client needs the system packages "
            "that `make deps` installs there (libssl-dev, pkg-config on Debian/Ubuntu): run `make deps` and retry") from None
    bin_path = subprocess.run([swift, "build", "-c", "release", "--show-bin-path"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
    path = Path(bin_path) / LIBRARY_NAME
    if not path.is_file():
        raise RuntimeError(f"swift build did not produce {path}")
    return path


def _metadata() -> str:
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    return "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {_version()}",
        "Summary: Confidential AI inference inside hardware TEEs: attest the enclave, then encrypt every request to it.",
        "License: Apache-2.0",
        "Requires-Python: >=3.9",
        "Requires-Dist: numpy>=1.21",
        "Classifier: Typing :: Typed",
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])


def _tag() -> str:
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 517: builds the Swift library and writes ``enclava-VERSION-py3-none-PLATFORM.whl``."""
    library = _library()
    version = _version()
    dist_info = f"{NAME}-{version}.dist-info"
    wheel_name = f"{NAME}-{version}-{_tag()}.whl"
    files: list[tuple[str, bytes]] = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.name != LIBRARY_NAME:
            files.append((f"{NAME}/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes()))
    files.append((f"{NAME}/{LIBRARY_NAME}", library.read_bytes()))
    files.append((f"{dist_info}/METADATA", _metadata().encode()))
    files.append((f"{dist_info}/WHEEL", _wheel_file().encode()))
    files.append((f"{dist_info}/top_level.txt", f"{NAME}\n".encode()))
    record = [_record_line(name, data) for name, data in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    target = Path(wheel_directory) / wheel_name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return wheel_name


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    """PEP 517: the wheel's metadata without building the Swift library (pip asks for it first)."""
    dist_info = Path(metadata_directory) / f"{NAME}-{_version()}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_metadata(), encoding="utf-8")
    (dist_info / "WHEEL").write_text(_wheel_file(), encoding="utf-8")
    (dist_info / "top_level.txt").write_text(f"{NAME}\n", encoding="utf-8")
    return dist_info.name


def _wheel_file() -> str:
    return "\n".join(["Wheel-Version: 1.0", "Generator: enclava_build", "Root-Is-Purelib: false", f"Tag: {_tag()}", ""])


def build_sdist(sdist_directory, config_settings=None):
    """PEP 517: the Python sources only; building a wheel from it needs the Swift package (ENCLAVA_SWIFT_PACKAGE)."""
    base = f"{NAME}-{_version()}"
    name = f"{base}.tar.gz"
    with tarfile.open(Path(sdist_directory) / name, "w:gz") as archive:
        for relative in ["pyproject.toml", "README.md", "build_backend", "enclava"]:
            archive.add(HERE / relative, arcname=f"{base}/{relative}",
                        filter=lambda info: None if "__pycache__" in info.name or info.name.endswith(".so") else info)
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
    return name


def get_requires_for_build_wheel(config_settings=None):
    """PEP 517: nothing beyond the standard library (and the Swift toolchain)."""
    return []


def get_requires_for_build_sdist(config_settings=None):
    """PEP 517: nothing beyond the standard library."""
    return []
