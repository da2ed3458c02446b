"""The migration toolkit: the observer of legacy calls (warnings, usage report, strict mode), scan, verify.

The shim never imports it: ``import compat`` registers :func:`compat.staging.notice.observe` with
:mod:`compat.hooks`, and the command line imports the sub-commands' code when they run.
"""
