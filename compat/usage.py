"""The legacy-usage report (``SCRIPTIX_COMPAT_REPORT``): see :mod:`compat.staging.usage`.

>>> import compat.usage
>>> compat.usage.report("legacy-usage.json")     # doctest: +SKIP
{'calls': [{'operation': 'upload', 'file': 'app/jobs.py', 'line': 42, ...}]}
"""

from compat.staging.usage import enable, merge_into, pending, record, record_client, report

__all__ = ["enable", "merge_into", "pending", "record", "record_client", "report"]
