"""Builds spikard for Python: libspikard (Go, c-shared) and the _native extension.

The build needs the Spikard repository this folder lives in (it is found by
walking up to its go.mod) and a Go toolchain (`go` on PATH, or SPIKARD_GO):

    pip install ./bindings/python          # or: pip install -e ./bindings/python

SPIKARD_LIBRARY=/path/libspikard.so uses a prebuilt library instead of running
go build; SPIKARD_REPO_ROOT points at the repository when this folder was
copied elsewhere. The wheel carries libspikard.so next to the extension, which
finds it through its $ORIGIN rpath, so `import spikard` works from anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
MODULE = "module github.com/spikard/spikard-go"


def repo_root() -> Path:
    env = os.environ.get("SPIKARD_REPO_ROOT")
    candidates = [Path(env)] if env else [HERE, *HERE.parents]
    for d in candidates:
        gomod = d / "go.mod"
        if gomod.is_file() and gomod.read_text(encoding="utf-8").startswith(MODULE):
            return d
    raise SystemExit(
        "spikard: cannot find the Spikard repository (its go.mod) above "
        f"{HERE}.\nBuild from a checkout (pip install ./bindings/python), or set "
        "SPIKARD_REPO_ROOT to the repository."
    )


class BuildExt(build_ext):
    """Builds libspikard with Go first, links _native against it, ships both."""

    def run(self) -> None:
        root = repo_root()
        lib = self._libspikard(root)
        for ext in self.extensions:
            ext.include_dirs.append(str(root / "include"))
            ext.depends.append(str(root / "include" / "spikard.h"))  # rebuild when the ABI changes
            ext.library_dirs.append(str(lib.parent))
        super().run()
        dest = Path(self.get_ext_fullpath("spikard._native")).parent
        dest.mkdir(parents=True, exist_ok=True)
        if lib.resolve() != (dest / "libspikard.so").resolve():
            shutil.copy2(lib, dest / "libspikard.so")

    def _libspikard(self, root: Path) -> Path:
        prebuilt = os.environ.get("SPIKARD_LIBRARY")
        if prebuilt:
            p = Path(prebuilt).resolve()
            if not p.is_file():
                raise SystemExit(f"spikard: SPIKARD_LIBRARY={prebuilt} does not exist")
            if p.name == "libspikard.so":
                return p
            out = Path(self.build_temp).resolve() / "libspikard" / "libspikard.so"
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, out)
            return out
        go = os.environ.get("SPIKARD_GO") or shutil.which("go")
        if not go:
            raise SystemExit(
                "spikard: building libspikard needs Go (>= the version in go.mod) on PATH, "
                "or SPIKARD_GO=/path/to/go, or SPIKARD_LIBRARY=/path/to/libspikard.so"
            )
        out = Path(self.build_temp).resolve() / "libspikard" / "libspikard.so"
        out.parent.mkdir(parents=True, exist_ok=True)
        version_script = root / "capi" / "libspikard.map"
        ldflags = "-s -w"
        if version_script.is_file():
            ldflags += f" -extldflags=-Wl,--version-script={version_script}"
        cmd = [go, "build", "-buildmode=c-shared", "-trimpath", "-ldflags", ldflags, "-o", str(out), "./capi"]
        print("spikard: building libspikard:", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=root, check=True)
        (out.parent / "libspikard.h").unlink(missing_ok=True)  # cgo's header is not the contract
        return out


setup(
    ext_modules=[
        Extension(
            "spikard._native",
            sources=["native/_native.c"],
            libraries=["spikard"],
            runtime_library_dirs=["$ORIGIN"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
