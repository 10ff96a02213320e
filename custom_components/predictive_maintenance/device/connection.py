"""Safety checks around aioesphomeapi connections that a device closed mid-handshake.

aioesphomeapi 29.x (pinned by HA 2025.4) marks a connection as connected even when a
DisconnectRequest in the same read as the handshake's last answer already tore it down
(a device rebooting while a client connects). Its frame helper is gone, and anything
that sends on it (a request, a keepalive ping, a polite disconnect) crashes the
interpreter. Newer versions raise instead, so these helpers are no-ops there.
"""

from __future__ import annotations

from typing import Final

from aioesphomeapi.client import APIClient
from aioesphomeapi.core import APIConnectionError

_MISSING: Final = object()


def api_connection_alive(client: APIClient) -> bool:
    """Return False if the connection was torn down while its handshake finished.

    Attributes this check does not find count as alive, so it never blocks a version
    that changed them.
    """
    connection = getattr(client, "_connection", _MISSING)
    if connection is None:
        return False
    return getattr(connection, "_frame_helper", _MISSING) is not None


def release_torn_down_connection(client: APIClient) -> None:
    """Finish closing a torn-down connection without sending anything on it.

    The connection's fatal-error path only releases what is left (its keepalive timer
    would otherwise send a ping on the missing frame helper later) and reports the close
    to whoever started it, so ReconnectLogic schedules a new attempt. It is idempotent.
    """
    connection = getattr(client, "_connection", None)
    report = getattr(connection, "report_fatal_error", None)
    if report is not None:
        report(APIConnectionError("The device closed the connection during the handshake"))
