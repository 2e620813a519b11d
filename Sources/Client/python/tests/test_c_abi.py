"""The C ABI (enclava_client.h) refuses what a careless or hostile caller passes, with a stable code and a sentence."""

from __future__ import annotations

import ctypes

import pytest

from enclava import _native


def open_session(endpoint, policy_json, policy_path, timeout):
    lib = _native.library()
    handle = ctypes.c_void_p()
    error = ctypes.POINTER(_native.CError)()
    status = lib.enclava_session_open(endpoint, policy_json, policy_path, None, None, timeout, ctypes.byref(handle),
                                      ctypes.byref(error))
    try:
        message = error.contents.message.decode() if error else ""
        reason = error.contents.reason.decode() if error and error.contents.reason else None
        code = error.contents.code if error else 0
    finally:
        lib.enclava_error_free(error)
    return status, code, reason, message, handle.value


def test_the_abi_version_is_the_headers():
    assert _native.library().enclava_client_abi_version() == _native.ABI_VERSION == 1


@pytest.mark.parametrize("endpoint, policy_json, policy_path, timeout, words", [
    (None, b"{}", None, 10.0, "endpoint and session_out must not be NULL"),
    (b"127.0.0.1:1", None, None, 10.0, "exactly one of policy_json and policy_path"),
    (b"127.0.0.1:1", b"{}", b"/p.json", 10.0, "exactly one of policy_json and policy_path"),
    (b"127.0.0.1:1", b"{}", None, 0.0, "timeout_seconds must be > 0"),
    (b"127.0.0.1:1", b"{}", None, float("nan"), "timeout_seconds must be > 0"),
    (b"127.0.0.1:1", b"{}", None, 1e12, "timeout_seconds must be > 0"),
    (b"not an endpoint", b"{}", None, 10.0, "not an endpoint"),
])
def test_open_refuses_bad_arguments_before_connecting(endpoint, policy_json, policy_path, timeout, words):
    status, code, reason, message, handle = open_session(endpoint, policy_json, policy_path, timeout)
    assert (status, code) == (1, 1), message  # ENCLAVA_ERROR_INVALID_ARGUMENT
    assert words in message
    assert handle is None


def test_a_policy_that_is_not_json_is_a_policy_error():
    status, code, reason, message, _ = open_session(b"127.0.0.1:1", b"[1, 2", None, 10.0)
    assert (status, code, reason) == (3, 3, "INVALID_POLICY")  # ENCLAVA_ERROR_POLICY


def test_free_functions_accept_null():
    lib = _native.library()
    lib.enclava_session_close(None)
    lib.enclava_tensors_free(None, 0)
    lib.enclava_string_free(None)
    lib.enclava_error_free(None)


def infer(handle, tensors):
    lib = _native.library()
    array = (_native.CTensor * max(1, len(tensors)))(*tensors)
    outputs = ctypes.POINTER(_native.CTensor)()
    count = ctypes.c_size_t()
    error = ctypes.POINTER(_native.CError)()
    status = lib.enclava_session_infer(handle, b"fraud-detector", array, len(tensors), ctypes.byref(outputs),
                                       ctypes.byref(count), ctypes.byref(error))
    message = error.contents.message.decode() if error else ""
    lib.enclava_error_free(error)
    if status == 0:
        lib.enclava_tensors_free(outputs, count.value)
    return status, message


def test_infer_refuses_a_null_session():
    status, message = infer(None, [])
    assert status == 1 and "session is NULL" in message


def test_infer_refuses_inconsistent_tensors_before_sending(platform, fraud_bridge, client_env):
    from enclava import ConfidentialSession
    shape = (ctypes.c_int64 * 2)(1, 8)
    data = (ctypes.c_float * 8)()
    with ConfidentialSession(endpoint=fraud_bridge.endpoint, policy=str(platform.policies["fraud"])) as session:
        handle = session._handle
        short = _native.CTensor(b"features", 1, shape, 2, ctypes.cast(data, ctypes.c_void_p), 31)
        assert infer(handle, [short]) == (1, "input `features` (float32, shape [1, 8]) needs 32 bytes, but data_length is 31")
        null_data = _native.CTensor(b"features", 1, shape, 2, None, 32)
        assert infer(handle, [null_data]) == (1, "input `features` has NULL data")
        bad_dtype = _native.CTensor(b"features", 11, shape, 2, ctypes.cast(data, ctypes.c_void_p), 32)
        assert infer(handle, [bad_dtype])[1].startswith("input `features` has dtype 11")
        twice = _native.CTensor(b"features", 1, shape, 2, ctypes.cast(data, ctypes.c_void_p), 32)
        assert infer(handle, [twice, twice]) == (1, "input `features` is given twice")
        huge = (ctypes.c_int64 * 2)(1 << 40, 1 << 40)
        overflow = _native.CTensor(b"features", 1, huge, 2, ctypes.cast(data, ctypes.c_void_p), 32)
        status, message = infer(handle, [overflow])
        assert status == 1 and "more than" in message
        # The session still works: nothing was sent for the refused calls.
        good = _native.CTensor(b"features", 1, shape, 2, ctypes.cast(data, ctypes.c_void_p), 32)
        assert infer(handle, [good]) == (0, "")
