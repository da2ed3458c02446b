"""Front doors: legacy HTTP requests -> translator calls -> legacy answers, one module per generation.

:mod:`~compat.frontdoor.batch_v1` serves the Batch API V1 calls, :mod:`~compat.frontdoor.zoommedia` the
Zoom Media API v1/v2 (its multipart ``upload`` part read as a stream by :mod:`~compat.frontdoor.multipart`);
:mod:`~compat.frontdoor.routes` picks the one a request's path names; :mod:`~compat.frontdoor.http` holds
what every generation shares (the request and answer types, headers, the caller's token, bodies).
The surfaces (``compat.install()``, the gateway) hand each legacy request to a front door and
report the call to the staging hook (:mod:`compat.hooks`) with the name the front door gives it.
"""
