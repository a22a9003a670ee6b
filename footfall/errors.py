"""Errors a user can act on, and the guard for messages that come from elsewhere.

The CLI prints a FootfallError as one line and exits non-zero, without a traceback;
anything else escaping is a bug. Messages never carry a MAC address or an SSID.
"""

import re

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
