"""The languages the pattern engine reads, one module each, by the name ``language_of`` gives them.

Python is read through its AST (:mod:`compat.staging.scan.python_ast`); ``PYTHON_FALLBACK`` is only for a
Python file that does not parse.
"""

from __future__ import annotations

from compat.staging.scan.language_rules import LanguageRules
from compat.staging.scan.languages.csharp import CSHARP
from compat.staging.scan.languages.go import GO
from compat.staging.scan.languages.java import JAVA
from compat.staging.scan.languages.javascript import JAVASCRIPT, TYPESCRIPT
from compat.staging.scan.languages.php import PHP
from compat.staging.scan.languages.python import PYTHON_FALLBACK
from compat.staging.scan.languages.ruby import RUBY
from compat.staging.scan.languages.shell import SHELL

__all__ = ["BY_NAME", "PYTHON_FALLBACK"]

BY_NAME: dict[str, LanguageRules] = {
    rules.name: rules for rules in (JAVASCRIPT, TYPESCRIPT, PHP, SHELL, GO, JAVA, CSHARP, RUBY)
}
