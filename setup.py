"""Only the C extension and a clean build live here; everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class CleanBuildPy(build_py):
    """An in-tree build/ keeps the files of earlier versions (a renamed pipeline step
    would be installed beside its successor): start from an empty package folder."""

    def run(self) -> None:
        shutil.rmtree(Path(self.build_lib) / "footfall", ignore_errors=True)
        super().run()


setup(
    cmdclass={"build_py": CleanBuildPy},
    ext_modules=[
        Extension(
            "footfall.collector._probes",
            sources=["collector/_probes.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ],
)
