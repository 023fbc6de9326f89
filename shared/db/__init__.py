"""PostgreSQL access: tables, engine, migrations, the tenant-scoped repository and the unit of work."""
