"""TUS 1.0.0 resumable uploads, our own client on our own :class:`~compat.v3.transport.Transport`.

tuspy's public uploader cannot do what the shim promises (it sends no timeouts, reads each chunk
into memory, retries with a fixed delay, has no progress callback and no termination), so the
client is ours, in three small modules:

* :mod:`~compat.v3.tus.protocol`: the headers, the ``Upload-Metadata`` encoding, the status classes;
* :mod:`~compat.v3.tus.endpoint`: :class:`TusEndpoint`, one request per protocol step (creation
  ``POST``, ``HEAD`` offset, one streamed ``PATCH``, ``DELETE`` termination, ``OPTIONS``) through the
  transport (pooled session, timeouts, auth, its retry rules);
* :mod:`~compat.v3.tus.uploader`: :class:`ResumableUploader`, the loop: resumes a stored upload
  (``HEAD``), starts afresh once when the server lost it, streams each chunk from a
  :class:`~compat.v3.source.ChunkSource` so memory does not grow with the file or the chunk,
  resumes from the server's offset after any failure with the transport's backoff and
  ``Retry-After`` rules (failures count until the offset moves forward), reports monotonic
  progress, and terminates the upload when cancelled. A source whose length is known only at
  its end is created with a deferred length, declared with the last PATCH; with ``on_chunk``,
  each run of bytes the server confirms is reported as a
  :class:`~compat.v3.receipts.ChunkReceipt`, hashed as it went out.

tuspy stays where its public contracts serve: the stores (:class:`~compat.store.Store`) implement its
``Storage`` interface and :class:`~compat.v3.source.SourceFingerprint` its ``Fingerprint``; and it
is the independent client the tests check the emulator with. Nothing here imports tuspy.
"""

from compat.v3.tus.endpoint import TusEndpoint
from compat.v3.tus.uploader import OpenCallback, ProgressCallback, ResumableUploader

__all__ = ["OpenCallback", "ProgressCallback", "ResumableUploader", "TusEndpoint"]
