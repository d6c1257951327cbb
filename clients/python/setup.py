"""Vendors the generated gRPC stubs (repo gen/python/flux/apikeys) into the built package as flux.apikeys.

The generated modules import `from flux.apikeys.v1 import ...`. Copying their folder, untouched, under our
`flux` package gives them exactly that package root, so no import is rewritten. The copy exists only in
the build tree (wheel), in an sdist's release tree, or (for `pip install -e`) in the gitignored
src/flux/apikeys: the repository's only committed copy of the stubs is gen/.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
# Inside a repository checkout: the output of scripts/generate.sh.
STUBS_IN_REPO = HERE.parent.parent / "gen" / "python" / "flux" / "apikeys"
# Inside an sdist built by this file (see SdistWithStubs).
STUBS_IN_SDIST = HERE / "vendored" / "flux" / "apikeys"
# Only for `pip install -e`: an editable install imports src/ itself, so the stubs must sit there (gitignored).
STUBS_FOR_EDITABLE = HERE / "src" / "flux" / "apikeys"
STUB_SUFFIXES = (".py", ".pyi")


def stub_source() -> Path:
    for candidate in (STUBS_IN_SDIST, STUBS_IN_REPO):
        if (candidate / "v1").is_dir():
            return candidate
    raise SystemExit(
        f"flux: generated stubs not found in {STUBS_IN_REPO} (run scripts/generate.sh from the repo root)"
    )


def stub_files(root: Path) -> list[Path]:
    """The stub files relative to root: sources and type stubs, never caches."""
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and path.suffix in STUB_SUFFIXES and "__pycache__" not in path.parts
    )


def copy_stubs(destination: Path) -> list[str]:
    source = stub_source()
    written = []
    for relative in stub_files(source):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
        written.append(str(target))
    return written


class BuildPyWithStubs(build_py):
    """build_py that also places the stubs at <build_lib>/flux/apikeys (src/flux/apikeys when editable)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            shutil.rmtree(STUBS_FOR_EDITABLE, ignore_errors=True)  # drop stubs of protos since removed
            copy_stubs(STUBS_FOR_EDITABLE)
            self._stub_outputs: list[str] = []
            return
        self._stub_outputs = copy_stubs(Path(self.build_lib) / "flux" / "apikeys")
        if not self.dry_run:
            self.byte_compile([path for path in self._stub_outputs if path.endswith(".py")])

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return list(super().get_outputs(include_bytecode)) + list(getattr(self, "_stub_outputs", []))


class SdistWithStubs(sdist):
    """sdist that carries the stubs, so a wheel built from it needs no repository around it."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        copy_stubs(Path(base_dir) / "vendored" / "flux" / "apikeys")


setup(cmdclass={"build_py": BuildPyWithStubs, "sdist": SdistWithStubs})
