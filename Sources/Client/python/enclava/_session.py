"""The attested, encrypted session: :class:`ConfidentialSession`."""

from __future__ import annotations

import ctypes
import json
import os
import threading
import weakref
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from . import _config, _native, _tensors
from ._errors import InputError, SessionClosedError

InferenceData = Union[np.ndarray, Mapping[str, Any], str, Sequence[str]]
InferenceResult = Union[np.ndarray, Dict[str, np.ndarray]]


def _close_handle(lib: ctypes.CDLL, handle: int) -> None:
    lib.enclava_session_close(handle)


class ConfidentialSession:
    """An attested, encrypted session with the enclave behind a host bridge.

    Opening it connects to the bridge, verifies the enclave's evidence against the policy (signature, certificate
    chain, measurement, manifest digest, TCB, and the binding of the enclave's key to a fresh nonce) and sets up the
    encryption to the key that evidence binds; nothing is sent to the enclave before that succeeds. Every request is
    then encrypted in transit and decrypted only inside the TEE, and every result is encrypted before it leaves it.

    With no arguments it reads ``ENCLAVA_ENDPOINT`` and ``ENCLAVA_POLICY`` (then ``~/.enclava/config.toml``)::

        with ConfidentialSession() as session:
            result = session.run_inference(model="fraud-detector", data=features)

    One session may be shared by many threads: calls are serialized in the enclave's sequence order. It closes in
    ``__exit__``, in :meth:`close`, or when it is garbage collected.

    Args:
        endpoint: the host bridge, ``HOST:PORT`` or ``unix:PATH``.
        policy: the policy from ``enclava policy create``: a path, or the policy as a dict.
        timeout: seconds each call may take (default 60).
        sim_home: for policies that allow simulation without pinning a simulated root: the simulated platform's
            folder (default ``$ENCLAVA_HOME``, then ``~/.enclava``).
        model: optionally, the model you will use: checked at once against the one the enclave serves.

    Raises:
        AttestationError: the enclave's evidence does not satisfy the policy.
        PolicyError: the policy cannot be read or is invalid.
        TransportError: the bridge cannot be reached or a call failed.
        ModelError: ``model`` is given and the enclave does not serve it.
        EnclavaError: no endpoint or policy was found.
    """

    def __init__(self, endpoint: Optional[str] = None, policy: Optional[_config.PolicyArgument] = None,
                 timeout: Optional[float] = None, *, sim_home: Optional[str] = None,
                 model: Optional[str] = None) -> None:
        self._handle: Optional[int] = None
        self._lock = threading.Condition()
        self._active_calls = 0
        self._closing = False
        settings = _config.resolve(endpoint, policy, timeout)
        lib = _native.library()
        sim_home = sim_home or os.environ.get("ENCLAVA_HOME") or None
        handle = ctypes.c_void_p()
        error = ctypes.POINTER(_native.CError)()
        status = lib.enclava_session_open(
            settings.endpoint.encode(), _encode(settings.policy_json), _encode(settings.policy_path), _encode(sim_home),
            _encode(model), settings.timeout, ctypes.byref(handle), ctypes.byref(error))
        _native.raise_if_failed(lib, status, error)
        self._lib = lib
        self._handle = handle.value
        self._finalizer = weakref.finalize(self, _close_handle, lib, handle.value)
        self.endpoint = settings.endpoint
        self.timeout = settings.timeout
        self._attestation = self._read_attestation(self._handle)

    @property
    def attestation(self) -> Dict[str, Any]:
        """What the enclave proved, verified against the policy: ``platform`` (e.g. ``"sev-snp"``), ``simulated``
        (True: no hardware protects this enclave), ``measurement`` and ``manifest_digest`` (hex), ``tcb`` (SEV-SNP
        levels or Intel's TCB status), ``root_fingerprint``, ``model`` and ``backend`` (as the enclave reported them),
        ``memory_unlocked`` (True once a result said the enclave's secrets may be in unlocked memory: development
        only) and ``claims`` (every claim, for display)."""
        try:
            self._attestation = self._call(lambda handle: self._read_attestation(handle))
        except SessionClosedError:
            pass  # a closed session keeps the claims it verified
        return json.loads(json.dumps(self._attestation))

    @property
    def closed(self) -> bool:
        """Whether the session is closed."""
        return self._handle is None

    def run_inference(self, model: str, data: InferenceData) -> InferenceResult:
        """Runs ``model`` inside the enclave on ``data``; the data is encrypted to the verified enclave.

        Args:
            model: the model's name (the served image's ``[image] name``, e.g. ``"fraud-detector"``).
            data: a NumPy array (a single-input model), a dict of input name → array (float32, int64, int32, bool),
                or a string / list of strings (text pipelines such as sentence embeddings).

        Returns:
            A NumPy array when the model has one output, else a dict of output name → array.

        Raises:
            ModelError: the model refused the input (``reason`` and ``message`` are the enclave's, naming the input),
                or the enclave does not serve ``model``.
            InputError: data this package cannot send (e.g. a float64 array: convert it with ``.astype(np.float32)``).
            TransportError: a call failed or timed out.
            SessionClosedError: the session is closed.
        """
        if not isinstance(model, str) or not model:
            raise InputError("model must be the model's name (the served image's [image] name), e.g. model=\"fraud-detector\"")
        if isinstance(data, str) or (isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data)):
            texts = [data] if isinstance(data, str) else list(data)
            outputs = self._call(lambda handle: self._infer_texts(handle, model, texts))
        elif isinstance(data, Mapping):
            if not data:
                raise InputError("data is an empty dict; give the model's inputs by name")
            outputs = self._call(lambda handle: self._infer(handle, model, dict(data), single=False))
        elif isinstance(data, np.ndarray):
            outputs = self._call(lambda handle: self._infer(handle, model, {"": data}, single=True))
        else:
            raise InputError(f"data must be a NumPy array, a dict of name → array, or a string or list of strings; "
                             f"got {type(data).__name__}")
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        return outputs

    def close(self) -> None:
        """Ends the session and closes its connection, after the calls in flight finish. Idempotent."""
        with self._lock:
            if self._handle is None or self._closing:
                return
            self._closing = True
            while self._active_calls:
                self._lock.wait()
            self._handle = None
        self._finalizer()

    def __enter__(self) -> "ConfidentialSession":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._attestation.get('platform')} model={self._attestation.get('model')!r}"
        return f"<ConfidentialSession {self.endpoint} {state}>"

    # MARK: calls

    def _call(self, body):
        with self._lock:
            if self._handle is None or self._closing:
                raise SessionClosedError("the session is closed; open a new ConfidentialSession", code=6,
                                         reason="SESSION_CLOSED")
            self._active_calls += 1
            handle = self._handle
        try:
            return body(handle)
        finally:
            with self._lock:
                self._active_calls -= 1
                self._lock.notify_all()

    def _infer(self, handle: int, model: str, inputs: Dict[str, Any], single: bool) -> Dict[str, np.ndarray]:
        array, keep = _tensors.to_c(inputs if not single else {"input": inputs[""]})
        if single:
            array[0].name = None  # one unnamed input: the client sends it under the model's only input name
        outputs = ctypes.POINTER(_native.CTensor)()
        count = ctypes.c_size_t()
        error = ctypes.POINTER(_native.CError)()
        status = self._lib.enclava_session_infer(handle, model.encode(), array, len(array), ctypes.byref(outputs),
                                                 ctypes.byref(count), ctypes.byref(error))
        del keep
        return self._outputs(status, error, outputs, count.value)

    def _infer_texts(self, handle: int, model: str, texts: Sequence[str]) -> Dict[str, np.ndarray]:
        encoded = [text.encode("utf-8") for text in texts]
        array = (ctypes.c_char_p * max(1, len(encoded)))(*encoded)
        outputs = ctypes.POINTER(_native.CTensor)()
        count = ctypes.c_size_t()
        error = ctypes.POINTER(_native.CError)()
        status = self._lib.enclava_session_infer_texts(handle, model.encode(), array, len(encoded), ctypes.byref(outputs),
                                                       ctypes.byref(count), ctypes.byref(error))
        return self._outputs(status, error, outputs, count.value)

    def _outputs(self, status: int, error, outputs, count: int) -> Dict[str, np.ndarray]:
        _native.raise_if_failed(self._lib, status, error)
        try:
            return _tensors.from_c(outputs, count)
        finally:
            self._lib.enclava_tensors_free(outputs, count)

    def _read_attestation(self, handle: int) -> Dict[str, Any]:
        text = ctypes.c_void_p()
        error = ctypes.POINTER(_native.CError)()
        status = self._lib.enclava_session_attestation_json(handle, ctypes.byref(text), ctypes.byref(error))
        _native.raise_if_failed(self._lib, status, error)
        try:
            return json.loads(ctypes.string_at(text.value).decode("utf-8"))
        finally:
            self._lib.enclava_string_free(text)


def _encode(value: Optional[str]) -> Optional[bytes]:
    return value.encode("utf-8") if value is not None else None
