"""The exceptions of the ``enclava`` package, one per stable status code of the C ABI (``enclava_client.h``)."""

from __future__ import annotations

from typing import Dict, Optional, Type


class EnclavaError(Exception):
    """Base of every error this package raises.

    Attributes:
        code: the C ABI's stable status code (``enclava_status``), or 0 for an error raised by this package itself.
        reason: a stable reason where there is one (e.g. ``"MEASUREMENT_MISMATCH"``, ``"INVALID_TENSOR"``), else None.
        message: a sentence saying what failed and what to do.
    """

    def __init__(self, message: str, *, code: int = 0, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}" if self.reason else self.message


class AttestationError(EnclavaError):
    """The enclave's evidence was refused: a signature, certificate chain, measurement, manifest digest, TCB or report
    data binding that does not satisfy the policy, or a malformed evidence answer. Nothing was sent to the enclave."""


class PolicyError(EnclavaError):
    """The policy cannot be read or is invalid (a missing file, an unknown key, a digest that is not hex)."""


class ModelError(EnclavaError):
    """The model refused the request (``reason`` is the enclave's, e.g. ``"INVALID_TENSOR"``, and ``message`` names the
    input and the problem), or the enclave does not serve the model named (``reason`` ``"UNKNOWN_MODEL"``)."""


class TransportError(EnclavaError):
    """The connection or a call failed: the bridge is unreachable, a call timed out, the enclave answered with an RPC
    error (e.g. ``"QUEUE_FULL"``), or a response was tampered with in transit (the session is then closed)."""


class InputError(EnclavaError, ValueError):
    """The input given to this package is invalid (a dtype it cannot send, a shape that does not fit the data)."""


class SessionClosedError(EnclavaError):
    """The session was closed, or an earlier failure (a tampered response) made it unusable: open a new one."""


# enclava_status → exception class (enclava_client.h).
_BY_CODE: Dict[int, Type[EnclavaError]] = {
    1: InputError,
    2: AttestationError,
    3: PolicyError,
    4: ModelError,
    5: TransportError,
    6: SessionClosedError,
    7: ModelError,
    8: EnclavaError,
}


def error_for(code: int, reason: Optional[str], message: str) -> EnclavaError:
    """The exception for a C ABI error."""
    return _BY_CODE.get(code, EnclavaError)(message, code=code, reason=reason)
