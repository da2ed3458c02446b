"""``scriptix-compat doctor``: what the shim would do here, and whether it can.

Every setting and where it came from (each checked on its own, so one bad value is marked and
the others are still listed; the upstream is not contacted while a setting is bad), whether the
upstream answers and which TUS extensions it advertises, where the state store is, its schema
version and whether it is healthy (a PostgreSQL store is connected to, read only), and the most
recent legacy calls of the usage report. Nothing secret is printed: the token is shown as set or
not set, a store URL's password as ``<redacted>``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from compat.config import MEMORY_STORE, OptionCheck, Settings, StagingSettings, check_options
from compat.errors import ConfigurationError, ScriptixError
from compat.store import is_postgresql_url, latest_version, postgresql_store_class
from compat.store.schema import VERSION_KEY, version_before_versioning

__all__ = ["diagnose", "render_text"]


def _settings_section(checks: list[OptionCheck]) -> list[dict[str, Any]]:
    rows = []
    for check in checks:
        row = {"option": check.option, "value": check.value, "source": check.source}
        if check.problem is not None:
            row["problem"] = check.problem
        rows.append(row)
    return rows


def _upstream_section(settings: Settings) -> dict[str, Any]:
    from compat.v3.client import V3Client

    options = {name: value for name, value in settings if name not in ("store", "api_key")}
    options.update(max_retries=0, timeout=min(settings.timeout, 10.0))
    client = V3Client(api_key=settings.token(), store=MEMORY_STORE, **options)
    started = time.monotonic()
    try:
        capabilities = client.capabilities()
    except ScriptixError as exc:
        return {"url": settings.tus_endpoint, "reachable": exc.status_code is not None, "error": str(exc)}
    finally:
        client.close()
    return {
        "url": settings.tus_endpoint,
        "reachable": True,
        "seconds": round(time.monotonic() - started, 3),
        "tus_versions": capabilities.versions,
        "tus_extensions": capabilities.extensions,
        "tus_max_size": capabilities.max_size,
    }


def _store_section(path: str, value: str) -> dict[str, Any]:
    """The store at ``value`` (``path``: the same, as shown, its password redacted)."""
    if path == MEMORY_STORE:
        return {"path": path, "healthy": True, "note": "in memory: nothing survives the process"}
    if is_postgresql_url(value):
        return _postgresql_section(path, value)
    info: dict[str, Any] = {"path": path, "exists": os.path.exists(path)}
    if not info["exists"]:
        info.update(healthy=True, note="created on first use")
        return info
    try:
        mode = os.stat(path).st_mode & 0o777
        info["permissions"] = oct(mode)
        info["private"] = mode & 0o077 == 0
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            info["journal_mode"] = db.execute("PRAGMA journal_mode").fetchone()[0]
            info["integrity"] = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            info.update(_schema(_sqlite_version(db, tables)))
            info["pending_uploads"] = (
                db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] if "uploads" in tables else 0
            )
            info["sessions"] = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] if "sessions" in tables else 0
        info["healthy"] = info["integrity"] == "ok" and info["private"] and "schema_problem" not in info
    except (OSError, sqlite3.DatabaseError) as exc:
        info.update(healthy=False, error=str(exc))
    return info


def _sqlite_version(db: sqlite3.Connection, tables: set[str]) -> int:
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE name = ?", (VERSION_KEY,)).fetchone()
        if row is not None:
            return int(row[0])
    columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")} if "sessions" in tables else set()
    return version_before_versioning(tables, columns)


def _postgresql_section(path: str, url: str) -> dict[str, Any]:
    """Connect once (read only) to the store's database: reachable, and its schema version."""
    info: dict[str, Any] = {"path": path}
    try:
        version = postgresql_store_class().probe(url)
    except ConfigurationError as exc:
        info.update(healthy=False, reachable=False, error=str(exc).removeprefix("option 'store': "))
        return info
    info["reachable"] = True
    if version is None:
        info.update(healthy=True, note="no store in this database yet: created on first use")
        return info
    info.update(_schema(version))
    info["healthy"] = "schema_problem" not in info
    return info


def _schema(version: int) -> dict[str, Any]:
    """The schema version, and what this release does with it."""
    latest = latest_version()
    info: dict[str, Any] = {"schema_version": version}
    if version < latest:
        info["schema_note"] = f"this release migrates it to version {latest} when it opens the store"
    elif version > latest:
        info["schema_problem"] = (
            f"made by a newer release (this one knows version {latest}): refused, never downgraded; upgrade"
            " scriptix-compat"
        )
    return info


def _recent_calls(limit: int) -> dict[str, Any]:
    path = StagingSettings.resolve().report
    if not path:
        return {"report": None, "note": "set SCRIPTIX_COMPAT_REPORT=path.json to record legacy calls"}
    try:
        calls = json.loads(Path(path).read_text(encoding="utf-8")).get("calls", [])
    except FileNotFoundError:
        return {"report": path, "calls": [], "note": "no legacy call recorded yet"}
    except (OSError, ValueError) as exc:
        return {"report": path, "error": f"unreadable: {exc}"}
    recent = sorted(calls, key=lambda c: c.get("last_seen", ""), reverse=True)[:limit]
    return {"report": path, "total_sites": len(calls), "calls": recent}


def _store_value(options: dict[str, Any]) -> str:
    """The store option as given, password included (to connect with; never shown)."""
    raw, source = Settings.given("store", options, os.environ)
    return Settings().store if raw is None else str(Settings.check("store", raw, source))


def diagnose(*, check_upstream: bool = True, recent: int = 10, **options: Any) -> dict[str, Any]:
    """Everything ``doctor`` reports, as a JSON-ready dict; ``problems`` lists the bad settings."""
    checks = check_options(**options)
    problems = [check.problem for check in checks if check.problem is not None]
    upstream: dict[str, Any] = {"skipped": True}
    if problems:
        upstream["note"] = "not checked: fix the settings marked BAD first"
    elif check_upstream:
        upstream = _upstream_section(Settings.resolve(**options))
    store = next(check for check in checks if check.option == "store")
    return {
        "settings": _settings_section(checks),
        "problems": problems,
        "upstream": upstream,
        "store": (
            _store_section(store.value, _store_value(options))
            if store.problem is None
            else {"path": store.value, "healthy": False}
        ),
        "legacy_calls": _recent_calls(recent),
    }


def render_text(report: dict[str, Any]) -> str:
    """The doctor's report for a terminal."""
    lines = ["Settings (value, and where it came from):"]
    for row in report["settings"]:
        lines.append(f"  {row['option']:<22} {row['value']!s:<48} {row['source']}")
        if "problem" in row:
            lines.append(f"  {'':<22} ^ BAD: {row['problem']}")
    problems = report.get("problems") or []
    if problems:
        lines.append(f"  {len(problems)} bad setting(s): fix before anything else")
    upstream = report["upstream"]
    lines.append("")
    if upstream.get("skipped"):
        lines.append(f"Upstream: {upstream.get('note', 'not checked')}")
    elif upstream.get("reachable") and "error" not in upstream:
        lines.append(f"Upstream: {upstream['url']} answered in {upstream['seconds']} s")
        lines.append(f"  TUS versions:   {', '.join(upstream['tus_versions']) or '-'}")
        lines.append(f"  TUS extensions: {', '.join(upstream['tus_extensions']) or '-'}")
        lines.append(f"  TUS max size:   {upstream['tus_max_size'] or 'not advertised'}")
    else:
        lines.append(f"Upstream: {upstream['url']} PROBLEM: {upstream.get('error')}")
    store = report["store"]
    lines.append("")
    lines.append(f"Store: {store['path']} ({'healthy' if store.get('healthy') else 'PROBLEM'})")
    for key in (
        "note",
        "schema_version",
        "schema_note",
        "schema_problem",
        "permissions",
        "journal_mode",
        "integrity",
        "pending_uploads",
        "sessions",
        "error",
    ):
        if key in store:
            lines.append(f"  {key}: {store[key]}")
    calls = report["legacy_calls"]
    lines.append("")
    lines.append(f"Legacy calls: {calls.get('report') or 'not recorded'}")
    if "note" in calls:
        lines.append(f"  {calls['note']}")
    for call in calls.get("calls", []):
        lines.append(
            f"  {call['operation']:<15} {call['file']}:{call['line']} ({call['function']}) x{call['count']}"
            f"  last {call['last_seen']}"
        )
    return "\n".join(lines) + "\n"
