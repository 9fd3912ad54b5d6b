"""The cffi build of ``polo_fast._polo_sign``: cdef and sources in one module.

Every C route is one header and one source in ``csrc/``, listed in :data:`HEADERS` and
:data:`SOURCES`; a second route (the Spot API's, say) is added by appending one entry to
each. The cdef is the block between ``/* cdef-begin */`` and ``/* cdef-end */`` of each
header, with every ``#define`` value and every array length named by a constant replaced by
``...``, so the C compiler, not Python, supplies the numbers (Python reads them from
``lib``). ``setup.py`` names ``polo_fast/_ffi_build.py:ffi`` in ``cffi_modules``;
``python polo_fast/_ffi_build.py`` compiles the module in place.

Environment switches:
    POLO_FAST_CFLAGS: extra compiler flags, split on spaces (e.g. ``-fsanitize=address``).
    POLO_FAST_USE_EVP=1: compile the EVP_MD_CTX route instead of the SHA512_CTX / SHA256_CTX
        ones (both C routes read ``POLO_SIGN_USE_EVP``).
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

#: The C API headers, each with a cdef block; one entry per signing route.
HEADERS: tuple[str, ...] = ("polo_sign.h", "polo_spot.h")
#: The C sources compiled into the module; one entry per signing route.
SOURCES: tuple[str, ...] = ("polo_sign.c", "polo_spot.c")


def cdef_of(header: str) -> str:
    """The cdef block of ``csrc/<header>``, with the compiler supplying every constant.

    Raises:
        RuntimeError: the header has no ``cdef-begin``/``cdef-end`` block.
    """
    text = (_CSRC / header).read_text(encoding="utf-8")
    m = re.search(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", text, re.S)
    if m is None:  # pragma: no cover - a broken checkout
        raise RuntimeError(f"csrc/{header} has no cdef-begin/cdef-end block")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    body = re.sub(r"^(#define\s+\w+)\s+\S+.*$", r"\1 ...", body, flags=re.M)
    return re.sub(r"\[[A-Z_][A-Z0-9_]*\]", "[...]", body)  # char hex[POLO_SIGN_HEX_LEN]


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
_preamble = "".join(f'#include "{h}"\n' for h in HEADERS)
if os.environ.get("POLO_FAST_RELEASE_GIL") != "1":
    _preamble += _KEEP_GIL

ffi = FFI()
ffi.cdef("\n".join(cdef_of(h) for h in HEADERS))
ffi.set_source(
    "polo_fast._polo_sign",
    _preamble,
    sources=[os.path.relpath(_CSRC / s) for s in SOURCES],
    include_dirs=[os.path.relpath(_CSRC)],
    libraries=["crypto"],
    define_macros=_macros,
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", *_extra],
    py_limited_api=True,
)

if __name__ == "__main__":
    os.chdir(_ROOT)
    ffi.compile(verbose="-v" in sys.argv)
