"""The build and binding layer: routes listed once, C's constants supplied by the compiler."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("cffi")


def test_routes_are_listed_once_and_constants_left_to_the_compiler() -> None:
    from polo_fast import _ffi_build

    assert "polo_sign.h" in _ffi_build.HEADERS and "polo_sign.c" in _ffi_build.SOURCES
    assert len(_ffi_build.HEADERS) == len(_ffi_build.SOURCES)
    for header in _ffi_build.HEADERS:
        cdef = _ffi_build.cdef_of(header)
        assert re.findall(r"^#define\s+\w+\s+(\S+)", cdef, re.M) == ["..."] * len(
            re.findall(r"^#define", cdef, re.M)
        )
        assert not re.search(r"\[[0-9]+\]", cdef), "an array length repeated in the cdef"
