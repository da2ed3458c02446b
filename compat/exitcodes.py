"""The exit codes of ``scriptix-compat``, one list for every sub-command.

* 0 ``EXIT_OK``: done.
* 1 ``EXIT_ERROR``: an API or input error (the message is on stderr), a failed job, findings with
  ``--fail-on-findings``, a ``verify`` mismatch, a ``doctor`` problem, an address already in use.
* 2 ``EXIT_USAGE``: bad usage (a bad option or combination of options); nothing was sent.
* 3 ``EXIT_NOT_DONE``: the job is not done yet and keeps running: ``--wait`` gave up, or ``result``
  was asked for captions or text of a job that has not finished. The session id is printed.
* 130 ``EXIT_INTERRUPTED``: Ctrl-C; ``transcribe`` says how to continue.
"""

from __future__ import annotations

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_NOT_DONE", "EXIT_OK", "EXIT_USAGE", "EXIT_WAIT_TIMEOUT"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_DONE = 3
EXIT_WAIT_TIMEOUT = EXIT_NOT_DONE
EXIT_INTERRUPTED = 130
