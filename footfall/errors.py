"""Errors a user can act on, and the guard for messages that come from elsewhere.

The CLI prints a FootfallError as one line and exits non-zero, without a traceback;
anything else escaping is a bug. Messages never carry a MAC address or an SSID.
"""

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_ADDRESS = re.compile(r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}\b|\b[0-9a-f]{12}\b")


def without_addresses(text: object) -> str:
    """A message from a library or a tool (scapy, libpcap, iw), with anything shaped
    like a MAC address replaced, before it reaches a log line or an error."""
    return _ADDRESS.sub("<address>", str(text))


class FootfallError(Exception):
    """A problem with the user's input, configuration or environment."""


class ConfigError(FootfallError):
    """The configuration file or a flag has an invalid value; the message names the key."""


class CaptureError(FootfallError):
    """A capture cannot be read at all (not a capture, unsupported link type, unreadable)."""


_ERRNO_IN_MESSAGE = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """A write that fails (disk full, quota, read-only file system, permissions) becomes
    one line naming the file and its folder: the operator learns where, not only why
    (Arrow's errors name neither)."""
    try:
        yield
    except FootfallError:
        raise
    except OSError as exc:
        raise FootfallError(f"cannot write {path}: {os_reason(exc)}") from None


def os_reason(exc: OSError) -> str:
    """ "No space left on device", from Python's errors and from Arrow's alike."""
    number = exc.errno
    if number is None and (found := _ERRNO_IN_MESSAGE.search(str(exc))):
        number = int(found.group(1))
    if number in (errno.ENOSPC, errno.EDQUOT):
        return f"{os.strerror(number)} (free some space, or point data_dir / secrets_dir elsewhere)"
    if number is not None:
        return exc.strerror or os.strerror(number)
    return " ".join(str(exc).split())
