"""Redaction: no secret a repository holds reaches the model.

``rules`` is the rule model (gitleaks-shaped, RE2 patterns, allowlists); ``rule_files`` reads
and checks rule files (the package's ``secrets.toml`` and a repository's own); ``compiled``
loads the package's rules as ``make schema`` compiled them (``secrets.compiled.marshal``);
``windows`` finds where each rule must run (one keyword pass); ``engine`` runs them there
(``Ruleset``, ``redact``). Stands on the ground floor only.
"""
