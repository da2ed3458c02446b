"""A legacy call made from a module run with ``python -m`` (run as ``python -m bench.mainprobe URL``).

``compat``'s staging notice hands the caller's module globals to ``warnings.warn_explicit``; for a
module run with ``-m`` its loader cannot give the source of ``__main__`` and Python raises
``ImportError`` from inside the warning. Prints one JSON line: ``{"ok": bool, "error": str | null}``.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    """One ``LegacyClient.create_session`` with default settings (warnings on)."""
    from compat import LegacyClient

    client = LegacyClient(api_key="bench-token", base_url=sys.argv[1], store=":memory:")
    try:
        client.create_session("en")
    except ImportError as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 0
    finally:
        client.close()
    print(json.dumps({"ok": True, "error": None}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
