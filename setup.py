"""Build glue pyproject.toml cannot express: the cffi module and the abi3 wheel tag.

``cffi_modules`` compiles ``polo_fast._polo_sign`` (csrc/polo_sign.c on libcrypto) from
``polo_fast/_ffi_build.py``; the ``bdist_wheel`` subclass tags wheels ``cp310-abi3`` (the
module uses only the limited API), so one wheel per platform serves every CPython >= 3.10.
"""

from __future__ import annotations

import platform
import sysconfig

from setuptools import setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef,import-untyped,unused-ignore]


def _limited_api() -> bool:
    # Free-threaded CPython has no limited API; PyPy wheels are not abi3.
    return platform.python_implementation() == "CPython" and not sysconfig.get_config_var(
        "Py_GIL_DISABLED"
    )


class BDistWheel(bdist_wheel):  # type: ignore[misc]
    """Tag wheels ``cp310-abi3`` where the limited API applies."""

    def finalize_options(self) -> None:
        if _limited_api():
            self.py_limited_api = "cp310"
        super().finalize_options()


setup(
    cffi_modules=["polo_fast/_ffi_build.py:ffi"],
    cmdclass={"bdist_wheel": BDistWheel},
    zip_safe=False,
)
