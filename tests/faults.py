"""Real faults for the tests: a read-only folder and a full disk, made by the kernel.

Both mount something over a folder in a private mount namespace (`unshare -rm`:
no root needed where user namespaces are enabled, and nothing outside the test's
process sees the mount): a read-only bind mount of the folder, or a small tmpfs.
Where namespaces are not available the same faults are made in-process instead, by
making the writes fail with the same errors, so the tests always run.
"""

from __future__ import annotations

import errno
import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from footfall_command import FOOTFALL, Run


@functools.cache
def namespaces_work() -> bool:
    if os.environ.get("FOOTFALL_TEST_FAULTS") == "in-process":  # to try the fallback where namespaces work
        return False
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt || exit 1"], check=False)
    return probe.returncode == 0


def _in_namespace(mount: str, args: list, cwd: Path, stdin: bytes | None = None) -> Run:
    command = " ".join(shlex.quote(str(a)) for a in [FOOTFALL, *args])
    env = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && exec {command}"],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def read_only_run(folder: Path, args: list, cwd: Path) -> Run:
    """`footfall ARGS` with `folder` mounted read-only (EROFS on every write under it)."""
    if namespaces_work():
        where = shlex.quote(str(folder))
        return _in_namespace(f"mount --bind {where} {where} && mount -o remount,bind,ro {where}", args, cwd)
    return _in_process(args, cwd, folder, errno.EROFS)


def disk_full_run(folder: Path, free_kib: int, args: list, cwd: Path, stdin: bytes | None = None) -> Run:
    """`footfall ARGS` with `folder` on a tmpfs that holds a copy of what it held and has
    only `free_kib` KiB left (a filler file takes the rest): ENOSPC once that is used.
    The folder itself is unchanged after."""
    if namespaces_work():
        where = shlex.quote(str(folder))
        seed = folder.with_name(f".{folder.name}.seed")
        filler = shlex.quote(str(folder / ".filler"))
        mount = (
            f"mount -t tmpfs -o size=64m tmpfs {where} && cp -a {shlex.quote(str(seed))}/. {where}/ && "
            f"{{ dd if=/dev/zero of={filler} bs=64k 2>/dev/null; truncate -s -{free_kib}K {filler}; }}"
        )
        shutil.copytree(folder, seed, symlinks=True)
        try:
            return _in_namespace(mount, args, cwd, stdin)
        finally:
            shutil.rmtree(seed)
    return _in_process(args, cwd, folder, errno.ENOSPC, stdin)


def _in_process(args: list, cwd: Path, folder: Path, error: int, stdin: bytes | None = None) -> Run:
    """The command in this process (Typer's test runner), every file opened for writing
    under `folder` failing with `error`, as the kernel would."""
    import builtins
    import contextlib
    import io

    from footfall import cli

    real_open, real_os_open = builtins.open, os.open

    def refuse(path: object) -> None:
        if Path(os.fsdecode(path)).resolve().is_relative_to(folder.resolve()):  # type: ignore[arg-type]
            raise OSError(error, os.strerror(error))

    def fake_open(file, mode="r", *rest, **kw):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, bytes, os.PathLike)) and any(m in mode for m in "wax+"):
            refuse(file)
        return real_open(file, mode, *rest, **kw)

    def fake_os_open(path, flags, *rest, **kw):  # type: ignore[no-untyped-def]
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *rest, **kw)

    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_argv, old_stdin = Path.cwd(), sys.argv, sys.stdin
    status = 0
    try:
        os.chdir(cwd)
        builtins.open, io.open, os.open = fake_open, fake_open, fake_os_open
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                sys.argv = ["footfall", *map(str, args)]
                if stdin is not None:
                    sys.stdin = _Stdin(stdin)
                cli.main()
            except SystemExit as exit_:
                status = int(exit_.code or 0)
    finally:
        builtins.open, io.open, os.open = real_open, real_open, real_os_open
        os.chdir(old_cwd)
        sys.argv, sys.stdin = old_argv, old_stdin
    return Run(status, out.getvalue(), err.getvalue())


class _Stdin:
    """Standard input holding these bytes, with a real descriptor (the stream reads one)."""

    def __init__(self, data: bytes) -> None:
        import tempfile

        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as this stdin)
        self._file.write(data)
        self._file.seek(0)
        self.buffer = self._file

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return False
