"""NumPy arrays ↔ enclava_tensor, without an enclave: byte order, layout and the dtypes the enclave takes."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from enclava import InputError
from enclava._tensors import from_c, to_c


def c_bytes(tensor) -> bytes:
    return ctypes.string_at(tensor.data, tensor.data_length)


def test_big_endian_and_strided_arrays_are_sent_little_endian_and_contiguous():
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    big = values.astype(">f4")[:, ::2]  # big-endian, non-contiguous
    array, keep = to_c({"x": big})
    assert (array[0].dtype, array[0].rank, list(array[0].shape[:2])) == (1, 2, [3, 2])
    assert c_bytes(array[0]) == values[:, ::2].astype("<f4").tobytes()
    back = from_c(array, 1)["x"]
    np.testing.assert_array_equal(back, values[:, ::2])
    back[0, 0] = 99  # the copy is the caller's, writable
    del keep


@pytest.mark.parametrize("dtype, code", [(np.float32, 1), (np.int32, 6), (np.int64, 7), (np.bool_, 9)])
def test_the_four_dtypes_round_trip(dtype, code):
    values = (np.arange(6) % 2).astype(dtype).reshape(2, 3)
    array, keep = to_c({"x": values})
    assert array[0].dtype == code and array[0].data_length == values.nbytes
    result = from_c(array, 1)["x"]
    assert result.dtype == values.dtype
    np.testing.assert_array_equal(result, values)


@pytest.mark.parametrize("value, words", [
    (np.zeros(3), "float64"),
    (np.zeros(3, dtype=np.uint8), "uint8"),
    (np.zeros(3, dtype=np.float16), "float16"),
    (np.array(["a"]), "<U1"),
])
def test_other_dtypes_are_refused_with_their_name(value, words):
    with pytest.raises(InputError) as raised:
        to_c({"x": value})
    assert words in str(raised.value)


def test_empty_and_scalar_arrays():
    array, keep = to_c({"empty": np.zeros((0, 8), dtype=np.float32), "scalar": np.float32(2.5)})
    assert array[0].data_length == 0 and array[0].rank == 2
    assert array[1].rank == 0 and c_bytes(array[1]) == np.float32(2.5).tobytes()
    result = from_c(array, 2)
    assert result["empty"].shape == (0, 8) and result["scalar"].shape == () and result["scalar"] == 2.5
