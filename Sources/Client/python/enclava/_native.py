"""ctypes declarations of ``enclava_client.h`` and the loaded ``libEnclavaClientC.so``."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Optional

from ._errors import EnclavaError, error_for

ABI_VERSION = 1
LIBRARY_NAME = "libEnclavaClientC.so"


class CError(ctypes.Structure):
    """``enclava_error``."""

    _fields_ = [("code", ctypes.c_int32), ("reason", ctypes.c_char_p), ("message", ctypes.c_char_p)]


class CTensor(ctypes.Structure):
    """``enclava_tensor``."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("rank", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("data_length", ctypes.c_size_t),
    ]


_ErrorOut = ctypes.POINTER(ctypes.POINTER(CError))
_TensorsOut = ctypes.POINTER(ctypes.POINTER(CTensor))

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def _declare(lib: ctypes.CDLL) -> None:
    lib.enclava_client_abi_version.argtypes = []
    lib.enclava_client_abi_version.restype = ctypes.c_int32
    lib.enclava_session_open.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_double,
        ctypes.POINTER(ctypes.c_void_p), _ErrorOut]
    lib.enclava_session_open.restype = ctypes.c_int32
    lib.enclava_session_close.argtypes = [ctypes.c_void_p]
    lib.enclava_session_close.restype = None
    lib.enclava_session_infer.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(CTensor), ctypes.c_size_t, _TensorsOut,
        ctypes.POINTER(ctypes.c_size_t), _ErrorOut]
    lib.enclava_session_infer.restype = ctypes.c_int32
    lib.enclava_session_infer_texts.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, _TensorsOut,
        ctypes.POINTER(ctypes.c_size_t), _ErrorOut]
    lib.enclava_session_infer_texts.restype = ctypes.c_int32
    lib.enclava_session_attestation_json.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), _ErrorOut]
    lib.enclava_session_attestation_json.restype = ctypes.c_int32
    lib.enclava_tensors_free.argtypes = [ctypes.POINTER(CTensor), ctypes.c_size_t]
    lib.enclava_tensors_free.restype = None
    lib.enclava_string_free.argtypes = [ctypes.c_void_p]
    lib.enclava_string_free.restype = None
    lib.enclava_error_free.argtypes = [ctypes.POINTER(CError)]
    lib.enclava_error_free.restype = None


def library() -> ctypes.CDLL:
    """The C ABI, loaded once: ``$ENCLAVA_CLIENT_LIBRARY`` if set, else the library installed beside this module."""
    global _library
    with _lock:
        if _library is None:
            path = os.environ.get("ENCLAVA_CLIENT_LIBRARY") or str(Path(__file__).resolve().parent / LIBRARY_NAME)
            try:
                lib = ctypes.CDLL(path)  # CDLL releases the GIL during calls: threads run concurrently
            except OSError as error:
                raise EnclavaError(
                    f"cannot load the Enclava client library {path} ({error}); reinstall the package with "
                    "`pip install ./Sources/Client/python` (it builds the library) or set ENCLAVA_CLIENT_LIBRARY",
                    reason="LIBRARY_NOT_LOADED") from None
            _declare(lib)
            version = lib.enclava_client_abi_version()
            if version != ABI_VERSION:
                raise EnclavaError(
                    f"{path} has C ABI version {version}, this package needs {ABI_VERSION}; reinstall the package",
                    reason="ABI_MISMATCH")
            _library = lib
        return _library


def raise_if_failed(lib: ctypes.CDLL, status: int, error: "ctypes.POINTER(CError)") -> None:
    """Raises the exception for a failed call (and frees the C error)."""
    if status == 0:
        return
    if not error:
        raise error_for(status, None, f"the Enclava client failed with status {status}")
    try:
        reason = error.contents.reason.decode("utf-8", "replace") if error.contents.reason else None
        message = error.contents.message.decode("utf-8", "replace") if error.contents.message else ""
        code = error.contents.code
    finally:
        lib.enclava_error_free(error)
    raise error_for(code, reason, message)
