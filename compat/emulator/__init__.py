"""A local, faithful Scriptix V3 for tests and demos (like stripe-mock or moto): ``compat.emulator``.

>>> from compat.emulator import Emulator
>>> with Emulator(processing_delay=0.2) as emu:                             # doctest: +SKIP
...     client = LegacyClient(api_key="any-token", base_url=emu.url, store=":memory:")

What it serves (each token is an account and sees only its own sessions and uploads; any non-empty
token is valid, or only ``tokens``, by default ``DEFAULT_V1_TOKENS`` in V1 mode; ``languages``
likewise restricts the languages, by default ``DEFAULT_LANGUAGES`` in V1 mode):

* ``/api/v3/speech-to-text/session``: create (``language`` required), list, get, ``/result``, delete;
* ``/api/v3/files/``: TUS 1.0.0 with creation, creation-with-upload, creation-defer-length,
  termination and expiration; ``GET /api/v3/files/{id}`` names the upload's session;
* the lifecycle ``new`` -> ``uploaded`` -> ``processing`` -> ``done`` (or ``failed`` for media it
  cannot read; see :mod:`compat.emulator.media`), deterministic transcripts, V1-style webhooks with
  the documented retry schedule;
* ``keep_source`` sessions keep their media: ``media_url`` on the session and the result points to
  ``/media/{key}/{filename}``, served without a token (like a storage URL), until the session is deleted;
* 410 for the V1-only calls (PUT upload, ``/align``, ``media_source``), or V1 behaviour with ``v1=True``;
* the legacy mode (``v1=True``) also serves the older generation, the **Zoom Media API v1/v2**
  (``/api/v1|v2/speech-to-text/session``: create, multipart ``upload`` or ``video_url``, the ``done``
  status with ``results``, captions for ``Accept: text/vtt``/``text/srt``, ``X-Zoom-S2T-Key`` or
  ``X-Zoom-S2T-Token``, callbacks, ``{"error", "error_message"}`` errors); its shapes and choices are
  in :mod:`compat.emulator.zoommedia_api`. Word times in legacy answers are in ``time_unit``
  (``"s"``/``"ms"``; default milliseconds on the Zoom Media routes, seconds in the Batch V1 result);
* injected faults (:class:`Faults`) and ``/_emulator/health``, ``/_emulator/state``, ``/_emulator/faults``.

Modules: ``server`` (Emulator, serve), ``app`` (the WSGI app and routes), ``sessions_api``,
``tus_api``, ``v1_api``, ``zoommedia_api``, ``media_api``, ``admin_api`` (endpoints), ``session_views``
(a caller's session, the V1 envelope), ``state`` (records and
the lock), ``lifecycle``,
``media``, ``transcript``, ``webhooks``, ``scheduler``, ``faults``, ``metadata``, ``options``,
``httputil``, ``pytest_plugin`` (the ``scriptix_emulator`` fixture).
"""

from compat.emulator.app import EmulatorApp, RequestRecord
from compat.emulator.faults import FAULT_NAMES, Faults
from compat.emulator.media import MediaInfo, analyse_media
from compat.emulator.metadata import encode_metadata, parse_metadata
from compat.emulator.options import ANY, DEFAULT_LANGUAGES, DEFAULT_V1_TOKENS, EmulatorOptions
from compat.emulator.server import Emulator, serve
from compat.emulator.state import SessionSnapshot, UploadSnapshot
from compat.emulator.webhooks import WebhookDelivery, WebhookTarget

__all__ = [
    "ANY",
    "DEFAULT_LANGUAGES",
    "DEFAULT_V1_TOKENS",
    "FAULT_NAMES",
    "Emulator",
    "EmulatorApp",
    "EmulatorOptions",
    "Faults",
    "MediaInfo",
    "RequestRecord",
    "SessionSnapshot",
    "UploadSnapshot",
    "WebhookDelivery",
    "WebhookTarget",
    "analyse_media",
    "encode_metadata",
    "parse_metadata",
    "serve",
]
