"""Fixtures: a simulated platform, the demo images and real `enclava serve` bridges, made with the real `enclava` CLI.

The binaries come from ``$ENCLAVA_BIN`` (``make pytest`` passes the debug build's folder), else from
``swift build --show-bin-path`` in the Swift package. Everything is made in one temporary folder, removed at the end;
the user's ``~/.enclava`` is never touched (``ENCLAVA_HOME`` points into that folder).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[4]
SHARED = PACKAGE_ROOT.parent / "shared"
FRAUD_DIR = PACKAGE_ROOT / "Manifests" / "fraud-detector"
MINILM_MODEL = SHARED / "models" / "all-MiniLM-L6-v2"


def _bin_dir() -> Path:
    given = os.environ.get("ENCLAVA_BIN")
    if given:
        return Path(given)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=PACKAGE_ROOT, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Platform:
    """A simulated platform (ENCLAVA_HOME), a signing key, and the `enclava` CLI to run with them."""

    work: Path
    bin: Path
    home: Path
    images: Dict[str, Path] = field(default_factory=dict)
    policies: Dict[str, Path] = field(default_factory=dict)

    @property
    def environment(self) -> Dict[str, str]:
        env = dict(os.environ)
        env["ENCLAVA_HOME"] = str(self.home)
        return env

    def run(self, *arguments: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.bin / "enclava"), *arguments], env=self.environment, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"enclava {' '.join(arguments)} exited {result.returncode}: {result.stderr}")
        return result

    def package(self, key: str, manifest: Path, asset_root: Optional[Path] = None) -> None:
        image = self.work / f"{key}.eimg"
        policy = self.work / f"{key}-policy.json"
        arguments = ["package", "--manifest", str(manifest), "--signer", str(self.work / "signer.pem"),
                     "--out", str(image), "--seal-for", "sim"]
        if asset_root is not None:
            arguments += ["--asset-root", str(asset_root)]
        self.run(*arguments)
        self.run("policy", "create", "--image", str(image), "--allow-simulation", "--out", str(policy))
        self.images[key] = image
        self.policies[key] = policy

    def infer_json(self, port: int, key: str, *arguments: str) -> dict:
        """`enclava infer --json` against the bridge on `port` with `key`'s policy: the CLI's result to compare with."""
        result = self.run("infer", "--endpoint", f"127.0.0.1:{port}", "--policy", str(self.policies[key]), *arguments,
                          "--json")
        return json.loads(result.stdout)


class Bridge:
    """A running `enclava serve` (the host bridge, which launches the simulated enclave)."""

    def __init__(self, platform: Platform, image: Path, record_traffic: Optional[Path] = None) -> None:
        self.port = free_port()
        arguments = [str(platform.bin / "enclava"), "serve", "--image", str(image), "--backend", "sim",
                     "--listen", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        if record_traffic is not None:
            arguments += ["--record-traffic", str(record_traffic)]
        self.log = tempfile.TemporaryFile(dir=platform.work)
        self.process = subprocess.Popen(arguments, env=platform.environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"enclava serve exited early ({self.process.returncode}): {self.output()}")
            if b"enclava serve: ready on" in self._read() and self._accepts():
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"enclava serve did not become ready in 120 s: {self.output()}")

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _read(self) -> bytes:
        self.log.seek(0)
        return self.log.read()

    def output(self) -> str:
        return self._read().decode("utf-8", "replace")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def platform():
    """The simulated platform, a signer, and the fraud-detector and MiniLM images with their policies."""
    work = Path(tempfile.mkdtemp(prefix="enclava-pytest-"))
    try:
        made = Platform(work=work, bin=_bin_dir(), home=work / "home")
        made.run("sim", "init")
        made.run("keygen", "--out", str(work / "signer.pem"))
        made.package("fraud", FRAUD_DIR / "manifest.toml")
        made.package("minilm", PACKAGE_ROOT / "Manifests" / "minilm.toml", asset_root=MINILM_MODEL)
        yield made
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def fraud_bridge(platform):
    """A bridge serving the fraud-detector image."""
    bridge = Bridge(platform, platform.images["fraud"])
    yield bridge
    bridge.stop()


@pytest.fixture(scope="session")
def minilm_bridge(platform):
    """A bridge serving the MiniLM sentence-embedding image."""
    bridge = Bridge(platform, platform.images["minilm"])
    yield bridge
    bridge.stop()


@pytest.fixture(scope="session")
def sample_features() -> np.ndarray:
    """The demo's sample input (Manifests/fraud-detector/sample-input.json), shape (2, 8), float32."""
    sample = json.loads((FRAUD_DIR / "sample-input.json").read_text())
    return np.array(sample["data"], dtype=np.float32).reshape(sample["shape"])


@pytest.fixture
def client_env(platform, monkeypatch):
    """ENCLAVA_HOME set to the fixture's platform, and HOME to an empty folder (no ~/.enclava/config.toml)."""
    home = tempfile.mkdtemp(prefix="home-", dir=platform.work)
    monkeypatch.setenv("ENCLAVA_HOME", str(platform.home))
    monkeypatch.setenv("HOME", home)
    for name in ("ENCLAVA_ENDPOINT", "ENCLAVA_POLICY", "ENCLAVA_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    yield Path(home)
    shutil.rmtree(home, ignore_errors=True)


def cli_tensor(report: dict, name: str) -> np.ndarray:
    """An output of `enclava infer --json` as a NumPy array."""
    tensor = report["outputs"][name]
    dtype = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_}[tensor["dtype"]]
    return np.array(tensor["data"], dtype=dtype).reshape(tensor["shape"])


def texts_arguments(texts: List[str]) -> List[str]:
    arguments: List[str] = []
    for text in texts:
        arguments += ["--text", text]
    return arguments
