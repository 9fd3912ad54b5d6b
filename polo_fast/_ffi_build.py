"""The cffi build of ``polo_fast._polo_sign``: cdef and sources in one module.

The cdef is the block between ``/* cdef-begin */`` and ``/* cdef-end */`` of
``csrc/polo_sign.h``, with every ``#define`` value replaced by ``...`` so the C compiler, not
Python, supplies the numbers. ``setup.py`` names ``polo_fast/_ffi_build.py:ffi`` in
``cffi_modules``; ``python polo_fast/_ffi_build.py`` compiles the module in place.

Environment switches:
    POLO_FAST_CFLAGS: extra compiler flags, split on spaces (e.g. ``-fsanitize=address``).
    POLO_FAST_USE_EVP=1: compile the EVP_MD_CTX route instead of the SHA512_CTX one.
    POLO_FAST_RELEASE_GIL=1: release the GIL around each C call (cffi's default). By default
        the calls keep it: they take well under a microsecond for order-sized bodies, less
        than dropping and re-taking the GIL costs (measured: benchmarks/README.md).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from cffi import FFI

_ROOT = Path(__file__).resolve().parent.parent
_CSRC = _ROOT / "csrc"


def _cdef() -> str:
    header = (_CSRC / "polo_sign.h").read_text(encoding="utf-8")
    m = re.search(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", header, re.S)
    if m is None:  # pragma: no cover - a broken checkout
        raise RuntimeError("csrc/polo_sign.h has no cdef-begin/cdef-end block")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return re.sub(r"^(#define\s+\w+)\s+\S+.*$", r"\1 ...", body, flags=re.M)


_extra = os.environ.get("POLO_FAST_CFLAGS", "").split()
_macros = [("POLO_SIGN_USE_EVP", "1")] if os.environ.get("POLO_FAST_USE_EVP") == "1" else []

# cffi wraps every call in Py_BEGIN/END_ALLOW_THREADS; redefined as plain blocks here (the
# wrappers come after this preamble), the calls keep the GIL.
_KEEP_GIL = """
#undef Py_BEGIN_ALLOW_THREADS
#undef Py_END_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#define Py_END_ALLOW_THREADS }
"""
_preamble = '#include "polo_sign.h"\n'
if os.environ.get("POLO_FAST_RELEASE_GIL") != "1":
    _preamble += _KEEP_GIL

ffi = FFI()
ffi.cdef(_cdef())
ffi.set_source(
    "polo_fast._polo_sign",
    _preamble,
    sources=[os.path.relpath(_CSRC / "polo_sign.c")],
    include_dirs=[os.path.relpath(_CSRC)],
    libraries=["crypto"],
    define_macros=_macros,
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", *_extra],
    py_limited_api=True,
)

if __name__ == "__main__":
    os.chdir(_ROOT)
    ffi.compile(verbose="-v" in sys.argv)
