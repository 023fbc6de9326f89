"""Use cases: load rows through the tenant's repository, decide in shared.domain, write, commit.

They take plain keyword commands and return rows or domain values; the HTTP mapping
lives in functions/."""
