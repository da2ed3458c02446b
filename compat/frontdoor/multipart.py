"""One file part of a ``multipart/form-data`` body, read as a stream while the body arrives.

The Zoom Media upload sends its media as the file part ``upload`` of a multipart body. Werkzeug's form
parser would spool such a part to a temporary file before anyone could read it; :class:`FilePart`
feeds the body, 64 KiB at a time, to Werkzeug's sans-I/O :class:`~werkzeug.sansio.multipart.MultipartDecoder`
and hands the part's bytes on as they are decoded, so that the TUS upload starts with the first bytes
and memory holds one block (plus at most 64 KiB of part headers) whatever the size of the media.

Errors are V1-style refusals (:func:`compat.v1.validation.refuse`): 422 for a body that is not valid
multipart (or has no such file part, too many parts, part headers too large), 400 for a body that ends
before its closing boundary or a part that is empty. A body cut off while the part is being read
raises from :meth:`FilePart.readinto`: the part never looks complete when the body was not. An error of
the body stream itself (the server's, for a client that is too slow or gone) is raised as it is.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, File, MultipartDecoder

from compat.errors import ScriptixError
from compat.filenames import is_plain_filename
from compat.v1.validation import refuse

__all__ = ["INCOMPLETE", "MAX_PARTS", "FilePart"]

INCOMPLETE = "Invalid data: the upload body is incomplete"
MAX_PARTS = 32
_READ = 64 * 1024
_MAX_PART_HEADERS = 64 * 1024  # what the decoder may buffer beyond one read (part headers)


class FilePart(io.RawIOBase):
    """The file part ``name`` of the multipart body ``source`` (whose boundary is ``boundary``).

    :meth:`open` reads the body up to that part's first bytes: then :attr:`filename` (without any
    directory) and :attr:`content_type` (as declared, or ``None``) are known. Reading gives the part's
    bytes as they arrive; its end is given only once the whole body has arrived (the rest is read and
    dropped, its form checked), so that a body cut off anywhere is an error, never a shorter file.
    Other parts, and a second part of the same name, are read and dropped.
    """

    def __init__(self, source: IO[bytes], boundary: bytes, name: str) -> None:
        super().__init__()
        self._source = source
        self._name = name
        self._decoder = MultipartDecoder(boundary, _READ + _MAX_PART_HEADERS, max_parts=MAX_PARTS)
        self._pending = memoryview(b"")
        self._state = "new"  # new -> in_part -> after_part -> done
        self._body_ended = False
        self._spill = b""  # what a stream gave beyond the block asked for, fed to the decoder next
        self.filename: str = name
        self.content_type: str | None = None
        self.size = 0
        """Bytes of the part decoded so far."""
        self.refusal: ScriptixError | None = None
        """The refusal this part raised, if any: whoever read it (an upload) may have wrapped it in its own error."""

    def readable(self) -> bool:
        return True

    def open(self) -> None:
        """Find the part and its first bytes; 422 when the body has no such file part, 400 when it is empty."""
        if self._state != "new":
            return
        while True:
            event = self._next_event()
            if isinstance(event, File) and event.name == self._name:
                self.filename = _plain_name(event.filename, self._name)
                self.content_type = event.headers.get("content-type") or None
                break
            if isinstance(event, Epilogue):
                self._state = "done"
                raise refuse(422, f"Body Invalid: the multipart body has no file part named {self._name!r}")
        self._state = "in_part"
        self._fill()
        if self.size == 0:
            raise refuse(400, f"Invalid data: the file part {self._name!r} is empty")

    def readinto(self, buffer: Any) -> int:
        self.open()
        view = memoryview(buffer).cast("B")
        while not self._pending:
            if self._state == "in_part":
                self._fill()
            elif self._state == "after_part":
                self._drain()
            else:
                return 0
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    # the decoder ---------------------------------------------------------------------------------

    def _fill(self) -> None:
        """Decode until the part has bytes to give, or has ended."""
        while self._state == "in_part" and not self._pending:
            event = self._next_event()
            if isinstance(event, Data):
                if event.data:
                    self._pending = memoryview(bytes(event.data))
                    self.size += len(event.data)
                if not event.more_data:
                    self._state = "after_part"
            elif isinstance(event, Epilogue):  # the decoder always ends a part with its last Data
                self._state = "done"

    def _drain(self) -> None:
        """Read the rest of the body to its closing boundary, dropping what follows the part."""
        while self._state == "after_part":
            if isinstance(self._next_event(), Epilogue):
                self._state = "done"

    def _next_event(self) -> Any:
        """The decoder's next event, feeding it the body as it needs; the refusals of the module docstring."""
        try:
            return self._decode()
        except ScriptixError as exc:
            self.refusal = exc
            raise

    def _decode(self) -> Any:
        try:
            while True:
                event = self._decoder.next_event()
                if event is not NEED_DATA:
                    return event
                if self._body_ended:
                    raise refuse(400, INCOMPLETE)
                block = self._read_block()
                self._body_ended = not block
                self._decoder.receive_data(block or None)  # None: the body has ended
        except RequestEntityTooLarge:
            raise refuse(422, "Body Invalid: the multipart body has too many parts or too large part headers") from None
        except ValueError as exc:  # no Content-Disposition; or the body ended before its closing boundary
            if self._body_ended:
                raise refuse(400, INCOMPLETE) from None
            raise refuse(422, f"Body Invalid: the multipart body is malformed ({exc})") from None

    def _read_block(self) -> bytes:
        """At most one block of the body (the decoder buffers what it is fed: a larger block is split)."""
        if not self._spill:
            reader = getattr(self._source, "read1", None)
            try:
                block = reader(_READ) if callable(reader) else self._source.read(_READ)
            except ClientDisconnected as exc:  # Werkzeug's server: the client went away
                raise refuse(400, INCOMPLETE) from exc
            # Any other failure of the body stream (a server's own error for a client too slow, gone or
            # over the size limit) is raised as it is: whoever serves the request answers it.
            self._spill = bytes(block) if block else b""
        block, self._spill = self._spill[:_READ], self._spill[_READ:]
        return block


def _plain_name(filename: str | None, default: str) -> str:
    """A part's file name without any directory (browsers once sent ``C:\\…``); 422 when unusable."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    if name and not is_plain_filename(name):
        raise refuse(422, f"Body Invalid: the {default}'s file name must be a plain file name")
    return name or default
