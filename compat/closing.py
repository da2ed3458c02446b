"""The context manager of everything the shim opens: ``with`` gives the object, its end calls ``close()``."""

from __future__ import annotations

from typing_extensions import Self

__all__ = ["Closing"]


class Closing:
    """A base that makes an object with a ``close()`` a context manager: ``with obj as same:`` closes
    ``obj`` at the end of the block, whatever ended it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError
