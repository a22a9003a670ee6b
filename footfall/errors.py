"""Errors a user can act on.

The CLI prints a FootfallError as one line and exits non-zero, without a traceback;
anything else escaping is a bug. Messages never carry a MAC address or an SSID.
"""


class FootfallError(Exception):
    """A problem with the user's input, configuration or environment."""


class ConfigError(FootfallError):
    """The configuration file or a flag has an invalid value; the message names the key."""


class CaptureError(FootfallError):
    """A capture cannot be read at all (not a capture, unsupported link type, unreadable)."""
