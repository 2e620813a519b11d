"""enclava_client.h is the library's ABI: a C program built against the header links, and agrees with ctypes."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from enclava import _native

from conftest import PACKAGE_ROOT

PROGRAM = r"""
#include <stdio.h>
#include "enclava_client.h"

int main(void) {
    enclava_session *session = NULL;
    enclava_error *error = NULL;
    int32_t status = enclava_session_open("127.0.0.1:1", "{\"allowed_platforms\": 7}", NULL, NULL, NULL, 5.0,
                                          &session, &error);
    printf("%d %d %d %s %zu %zu\n", enclava_client_abi_version(), status, error ? error->code : -1,
           error && error->reason ? error->reason : "-", sizeof(enclava_tensor), sizeof(enclava_error));
    enclava_error_free(error);
    return session == NULL && status == ENCLAVA_ERROR_POLICY ? 0 : 1;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
def test_a_c_program_built_against_the_header_links_and_agrees_with_ctypes():
    library = Path(_native.library()._name).resolve()
    folder = tempfile.mkdtemp(prefix="enclava-c-abi-")
    try:
        source = Path(folder) / "main.c"
        source.write_text(PROGRAM)
        binary = Path(folder) / "main"
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", str(PACKAGE_ROOT / "CShims/CEnclavaClient/include"),
                        str(source), str(library), f"-Wl,-rpath,{library.parent}", "-o", str(binary)], check=True)
        run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        version, status, code, reason, tensor_size, error_size = run.stdout.split()
        assert (int(version), int(status), int(code), reason) == (1, 3, 3, "INVALID_POLICY")
        assert int(tensor_size) == ctypes.sizeof(_native.CTensor)
        assert int(error_size) == ctypes.sizeof(_native.CError)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
