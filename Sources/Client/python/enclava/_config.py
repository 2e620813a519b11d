"""Where a :class:`ConfidentialSession` connects and which policy it checks, when the caller does not say.

Order: the arguments, then ``ENCLAVA_ENDPOINT`` / ``ENCLAVA_POLICY`` / ``ENCLAVA_TIMEOUT``, then ``~/.enclava/config.toml``::

    endpoint = "127.0.0.1:7443"      # the host bridge: HOST:PORT or unix:PATH
    policy = "policy.json"           # from `enclava policy create`; relative to this file's folder
    timeout = 60                     # seconds per call (optional)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from ._errors import EnclavaError, PolicyError

PolicyArgument = Union[str, "os.PathLike[str]", Mapping[str, Any]]

DEFAULT_TIMEOUT = 60.0
_CONFIG_KEYS = {"endpoint", "policy", "timeout"}


@dataclass(frozen=True)
class Settings:
    """The resolved connection settings: exactly one of ``policy_json`` and ``policy_path`` is set."""

    endpoint: str
    policy_json: Optional[str]
    policy_path: Optional[str]
    timeout: float


def config_path() -> Path:
    """``~/.enclava/config.toml``."""
    return Path(os.path.expanduser("~")) / ".enclava" / "config.toml"


def _read_config() -> dict:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        raise EnclavaError(f"{path} needs Python 3.11 (tomllib) to be read; set ENCLAVA_ENDPOINT and ENCLAVA_POLICY "
                           "instead", reason="INVALID_CONFIG") from None
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EnclavaError(f"{path} is not valid TOML ({error}); fix or remove it", reason="INVALID_CONFIG") from None
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise EnclavaError(f"{path}: unknown key `{unknown[0]}`; it takes endpoint, policy and timeout",
                           reason="INVALID_CONFIG")
    if "policy" in config and isinstance(config["policy"], str):
        config["policy"] = str((path.parent / os.path.expanduser(config["policy"])).resolve())
    return config


def resolve(endpoint: Optional[str], policy: Optional[PolicyArgument], timeout: Optional[float]) -> Settings:
    """The settings from the arguments, then the environment, then ``~/.enclava/config.toml``.

    Raises:
        EnclavaError: no endpoint, or an invalid config file or timeout.
        PolicyError: no policy, or a policy argument of the wrong type.
    """
    config: Optional[dict] = None

    def from_config(key: str) -> Any:
        nonlocal config
        if config is None:
            config = _read_config()
        return config.get(key)

    endpoint = endpoint or os.environ.get("ENCLAVA_ENDPOINT") or from_config("endpoint")
    if not endpoint or not isinstance(endpoint, str):
        raise EnclavaError("no endpoint: pass endpoint=\"HOST:PORT\", set ENCLAVA_ENDPOINT, or put endpoint = \"HOST:PORT\" "
                           f"in {config_path()}", reason="NO_ENDPOINT")
    if policy is None:
        policy = os.environ.get("ENCLAVA_POLICY") or from_config("policy")
    if policy is None or policy == "":
        raise PolicyError("no policy: pass policy=PATH or a dict, set ENCLAVA_POLICY, or put policy = \"PATH\" in "
                          f"{config_path()} (make one with `enclava policy create`)", reason="NO_POLICY")
    if timeout is None:
        raw = os.environ.get("ENCLAVA_TIMEOUT") or from_config("timeout") or DEFAULT_TIMEOUT
        try:
            timeout = float(raw)
        except (TypeError, ValueError):
            raise EnclavaError(f"the timeout must be a number of seconds, got {raw!r}", reason="INVALID_CONFIG") from None
    if not (0 < timeout <= 86400):
        raise EnclavaError(f"the timeout must be > 0 and at most 86400 seconds, got {timeout}", reason="INVALID_CONFIG")
    if isinstance(policy, Mapping):
        return Settings(endpoint, json.dumps(dict(policy)), None, float(timeout))
    if isinstance(policy, (str, os.PathLike)):
        text = os.fspath(policy)
        if isinstance(text, str) and text.lstrip().startswith("{"):
            return Settings(endpoint, text, None, float(timeout))
        return Settings(endpoint, None, os.path.expanduser(text), float(timeout))
    raise PolicyError(f"policy must be a path or a dict, got {type(policy).__name__}", reason="INVALID_POLICY")
