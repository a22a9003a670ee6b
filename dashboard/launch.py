"""`footfall dashboard`: serves the app with Streamlit, on this machine only unless told.

The command replaces itself with `python -m streamlit run app.py` (so Ctrl+C and a
service manager's signals reach the server directly) and hands the app the data
folder, the secrets folder and the configuration file through the environment. Streamlit's usage
statistics are off, and so is its first-run e-mail prompt; a browser tab opens only
where there is a display to open it on.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

from footfall.config import CONFIG_ENV, Settings
from footfall.dashboard.view import DATA_ENV, SECRETS_ENV
from footfall.errors import FootfallError

APP = Path(__file__).with_name("app.py")


def has_display() -> bool:
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def streamlit_command(host: str, port: int, open_browser: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "false" if open_browser else "true",
        "--server.showEmailPrompt",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def environment(settings: Settings) -> dict[str, str]:
    """The app reads the very configuration and data folder given to the command."""
    env = dict(os.environ)
    env[DATA_ENV] = str(settings.data_dir)
    env[SECRETS_ENV] = str(settings.secrets_dir)
    if settings.source is not None:
        env[CONFIG_ENV] = str(settings.source.resolve())
    else:
        env.pop(CONFIG_ENV, None)
    return env


def check_port(host: str, port: int) -> None:
    """A clear error before Streamlit starts, rather than its own after."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise FootfallError(f"--host: cannot listen on {host!r} (not an address of this machine)") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise FootfallError(f"--port: {port} is already in use on {host} (try another with --port)") from None
            raise FootfallError(f"--host: cannot listen on {host}:{port} ({exc.strerror})") from None


def serve(settings: Settings, host: str, port: int, open_browser: bool | None) -> None:
    check_port(host, port)
    if open_browser is None:
        open_browser = has_display()
    print(f"footfall dashboard: http://{host}:{port} (data: {settings.data_dir}); Ctrl+C stops it", flush=True)
    if not settings.data_dir.is_dir():  # the audit's and the run's words; the pages say how to get data
        print(
            f"footfall: note: no data folder at {settings.data_dir}: nothing to show (see --data); "
            "the dashboard opens on how to get some",
            file=sys.stderr,
            flush=True,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"footfall: note: listening on {host}: anyone who can reach it sees the aggregates", flush=True)
    sys.stderr.flush()
    command = streamlit_command(host, port, open_browser)
    os.execve(command[0], command, environment(settings))
