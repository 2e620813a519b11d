"""Enclava's Python client: run AI models inside hardware TEEs (SEV-SNP, TDX, SGX), with your data readable only there.

.. code-block:: python

    from enclava import ConfidentialSession

    with ConfidentialSession() as session:
        # Data is encrypted in transit and decrypted only inside the TEE
        result = session.run_inference(model="fraud-detector", data=features)
        # Result is encrypted before leaving the TEE

A :class:`ConfidentialSession` verifies the enclave's evidence against your policy before it sends anything, then
encrypts every request to the key that evidence binds. This package is a thin layer over Enclava's Swift client
(``libEnclavaClientC.so``, through its C ABI): the evidence checks, the policy and the encryption are that one
implementation, not re-implemented here.
"""

__version__ = "0.1.0"

from ._errors import (
    AttestationError,
    EnclavaError,
    InputError,
    ModelError,
    PolicyError,
    SessionClosedError,
    TransportError,
)
from ._session import ConfidentialSession

__all__ = [
    "ConfidentialSession",
    "EnclavaError",
    "AttestationError",
    "PolicyError",
    "ModelError",
    "TransportError",
    "InputError",
    "SessionClosedError",
    "__version__",
]
