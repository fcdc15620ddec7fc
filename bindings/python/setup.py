"""Build hooks (the metadata is in pyproject.toml).

- build_py copies the shared library into sessionstore/_lib/ of the build, from $SESSIONSTORE_LIB, else
  the checkout's ../../target/release (run `make -C ../.. lib` first), else sessionstore/_lib/, so that
  `pip install ./bindings/python` and the wheel work with no environment variable. Without a library
  the build fails, naming where it looked.
- the wheel is tagged py3-none-<platform>: pure Python (ctypes), but it carries a native library.
"""

import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore

HERE = Path(__file__).resolve().parent
LIB_FILE = {"darwin": "libsessionstore.dylib", "win32": "sessionstore.dll"}.get(sys.platform, "libsessionstore.so")


def find_library() -> Path:
    env = os.environ.get("SESSIONSTORE_LIB")
    candidates = [Path(env)] if env else []
    candidates += [HERE.parent.parent / "target" / "release" / LIB_FILE, HERE / "sessionstore" / "_lib" / LIB_FILE]
    for c in candidates:
        if c.is_file():
            return c
    raise SystemExit(
        "sessionstore: no native library to bundle; looked at " + ", ".join(map(str, candidates))
        + ". Run `make lib` at the repository root first, or set SESSIONSTORE_LIB."
    )


class BuildPyWithLib(build_py):
    def run(self) -> None:
        super().run()
        src = find_library()
        dest = Path(self.build_lib) / "sessionstore" / "_lib" / LIB_FILE
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        os.chmod(dest, 0o755)


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLib, "bdist_wheel": PlatformWheel})
