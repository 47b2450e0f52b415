"""The human-authored rules: the playbook's YAML schema, loader, checks, versions and cases.

Pure modules: ``model`` (the schema), ``syntax`` / ``context`` / ``expressions`` (the
expression language), ``loader`` (YAML → model with positions), ``semantics`` (checks
against the catalog), ``rules`` (eligibility and consent as polars expressions),
``diffing`` and ``cases``. ``repository`` and ``service`` store and version playbooks.
"""
