"""NumPy arrays ↔ the C ABI's ``enclava_tensor``."""

from __future__ import annotations

import ctypes
from typing import Dict, List, Mapping, Tuple

import numpy as np

from ._errors import InputError
from ._native import CTensor

# NumPy dtype → enclava_dtype, and back (little-endian on the wire).
_CODES = {np.dtype(np.float32): 1, np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.bool_): 9}
_DTYPES = {1: np.dtype("<f4"), 6: np.dtype("<i4"), 7: np.dtype("<i8"), 9: np.dtype(np.bool_)}


def to_c(inputs: Mapping[str, object]) -> Tuple["ctypes.Array[CTensor]", List[object]]:
    """The inputs as an ``enclava_tensor`` array, and the objects that must stay alive while it is used.

    Raises:
        InputError: an input that is not an array of float32, int64, int32 or bool.
    """
    array = (CTensor * len(inputs))()
    keep: List[object] = [array]
    for index, (name, value) in enumerate(inputs.items()):
        if not isinstance(name, str) or not name:
            raise InputError(f"input names must be non-empty strings, got {name!r}")
        tensor = np.asarray(value) if not isinstance(value, np.ndarray) else value
        code = _CODES.get(tensor.dtype.newbyteorder("=")) if tensor.dtype.kind in "fiub" else None
        if code is None:
            hint = " (convert with .astype(numpy.float32))" if tensor.dtype.kind == "f" else ""
            raise InputError(f"input `{name}` has dtype {tensor.dtype}; the enclave takes float32, int64, int32 or bool{hint}")
        tensor = np.asarray(tensor, dtype=_DTYPES[code])  # little-endian (keeps 0-d arrays 0-d)
        if not tensor.flags.c_contiguous:
            tensor = tensor.copy(order="C")
        shape = (ctypes.c_int64 * max(1, tensor.ndim))(*tensor.shape)
        encoded = name.encode("utf-8")
        keep += [tensor, shape, encoded]
        array[index] = CTensor(encoded, code, ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)), tensor.ndim,
                               tensor.ctypes.data if tensor.size else None, tensor.nbytes)
    return array, keep


def from_c(tensors: "ctypes.POINTER(CTensor)", count: int) -> Dict[str, np.ndarray]:
    """Copies ``count`` output tensors into NumPy arrays (the caller frees the C array)."""
    result: Dict[str, np.ndarray] = {}
    for index in range(count):
        tensor = tensors[index]
        dtype = _DTYPES[tensor.dtype]
        shape = tuple(tensor.shape[dim] for dim in range(tensor.rank))
        data = bytearray(ctypes.string_at(tensor.data, tensor.data_length)) if tensor.data_length else bytearray()
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        result[tensor.name.decode("utf-8")] = array.astype(array.dtype.newbyteorder("="), copy=False)
    return result
