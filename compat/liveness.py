"""Whether the process that holds an upload claim is still alive, when it runs on this machine.

A claim's holder id names its process: ``{machine}/{pid}/{start}/{random}``. ``machine`` is a
hash of the kernel's boot id and this process's PID namespace, so two ids with the same
``machine`` name processes that see one another's PIDs; ``start`` is the process's start time
(clock ticks since boot, ``/proc/{pid}/stat`` field 22), so a PID reused by another process is
not mistaken for the holder. A caller whose ``machine`` matches the holder's can tell at once
whether the holder is gone (:func:`holder_alive`); any other caller (another host, another
container, a system without ``/proc``, a holder id of an older release) cannot, and waits for the
holder's lease to tell it (see :mod:`compat.sessions`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

__all__ = ["holder_alive", "new_holder_id", "process_start"]

_PROC = Path("/proc")


@lru_cache(maxsize=1)
def _machine() -> str | None:
    """This PID namespace on this boot of this kernel, or None where it cannot be told (no /proc)."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink(_PROC / "self/ns/pid")
    except OSError:
        return None
    return hashlib.blake2b(f"{boot}|{namespace}".encode(), digest_size=8).hexdigest()


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # state; a killed child not yet reaped is a zombie
        return None
    return fields[19]  # field 22 of the line: starttime


def new_holder_id() -> str:
    """A fresh holder id for a claim taken by this process (see the module docstring)."""
    machine = _machine() or "unknown"
    start = process_start(os.getpid()) or "0"
    return f"{machine}/{os.getpid()}/{start}/{secrets.token_hex(8)}"


def holder_alive(holder: str) -> bool | None:
    """True or False when the holder's process runs on this machine (same boot, same PID namespace)
    and is alive or gone; None when this process cannot tell (the lease tells)."""
    parts = holder.split("/")
    machine = _machine()
    if len(parts) != 4 or machine is None or parts[0] != machine or not parts[1].isdigit():
        return None
    return process_start(int(parts[1])) == parts[2]
