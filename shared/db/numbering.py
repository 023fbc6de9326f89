"""The next number of a gap-free sequence, as the first CTEs of the statement that writes
the numbered row: from the tenant's legal sequence ($1, when $3 is NULL) or from test clock
$3's own. The counter row stays locked to the commit, so it is taken last (lock order:
docs/ARCHITECTURE.md); a deleted test clock yields no number and the statement writes nothing."""


def next_number(counter: str) -> str:
    """`WITH legal AS (...), simulated AS (...), numbered AS (SELECT number ...), ` for the
    counter column `counter` of tenants and test_clocks; the caller continues the WITH."""
    return f"""WITH legal AS (
  UPDATE tenants SET {counter} = {counter} + 1
  WHERE id = $1 AND $3::text IS NULL
  RETURNING {counter} - 1 AS number
), simulated AS (
  UPDATE test_clocks SET {counter} = {counter} + 1
  WHERE tenant_id = $1 AND id = $3::text
  RETURNING {counter} - 1 AS number
), numbered AS (
  SELECT number FROM legal UNION ALL SELECT number FROM simulated
), """
