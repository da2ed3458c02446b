"""The gateway's access log: one line per request on the ``compat.gateway.access`` logger, text or JSON.

The line is written once the answer has been sent (or cut off). ``access_log="text"`` (the default)
keeps the classic line: ``client "METHOD /path" status bytes seconds``. ``access_log="json"`` writes one
JSON object a line, for log pipelines::

    {"time": "2026-11-29T18:03:29.123Z", "client": "10.0.0.7", "method": "PUT",
     "path": "/api/v3/speech-to-text/session/abc", "operation": "upload", "status": 200,
     "duration": 1.042, "bytes_in": 1048576, "bytes_out": 68}

What a line never holds: a header (so no token, no cookie, no webhook header), a query string (the
path is cut at ``?``), a request or answer body (so no V1 option value). The JSON object is also on
the log record as ``record.access`` (a dict) for handlers that format records themselves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TextIO

from compat.options import AccessLogFormat
from compat.redact import install_log_filter

__all__ = ["ACCESS_LOGGER", "AccessRecord", "json_lines_to", "timestamp", "write"]

ACCESS_LOGGER = "compat.gateway.access"

access_log = logging.getLogger(ACCESS_LOGGER)
install_log_filter(access_log)


@dataclass(frozen=True)
class AccessRecord:
    """One request as the access log tells it (see the module docstring for what is left out)."""

    time: str
    client: str
    method: str
    path: str
    operation: str
    status: int
    duration: float
    bytes_in: int
    bytes_out: int
    cut_off: bool = False


def timestamp(epoch: float) -> str:
    """``epoch`` as an ISO 8601 UTC time with milliseconds (``2026-11-29T18:03:29.123Z``)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def write(record: AccessRecord, form: AccessLogFormat) -> None:
    """Log ``record`` as one line in ``form``."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    if form == "json":
        fields = asdict(record)
        if not record.cut_off:
            del fields["cut_off"]
        access_log.info("%s", json.dumps(fields, separators=(", ", ": ")), extra={"access": fields})
        return
    access_log.info(
        '%s "%s %s" %d %d %.3f%s',
        record.client,
        record.method,
        record.path,
        record.status,
        record.bytes_out,
        record.duration,
        " (cut off)" if record.cut_off else "",
    )


def json_lines_to(stream: TextIO) -> None:
    """Send the access log's lines to ``stream`` as they are, one JSON object a line, and not to the
    root logger's handlers (whose prefix would make them no longer JSON): what the gateway command
    does with ``--access-log json``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
