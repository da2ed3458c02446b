"""The package version (setuptools reads it for the wheel and the sdist)."""

__version__ = "0.1.0"
