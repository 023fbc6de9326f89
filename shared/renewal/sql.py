"""The engine's SQL. Set-based: every write takes whole arrays (unnest), one statement
per batch, never one round trip per subscription. Invoices are written by
shared.db.invoice_writer."""

from shared.db.status_sql import BILLABLE_SQL, DUNNABLE_SQL, grace_expired_sql, overdue_sql

_COLUMNS = """
    s.tenant_id, s.id, s.customer_id, s.test_clock_id, s.plan_id, s.status, s.billing_cycle_anchor, s.cycle,
    s.current_period_start, s.current_period_end, s.cancel_at_period_end,
    p.amount, p.currency, p.interval, p.interval_count, p.name AS plan_name, p.code AS plan_code,
    p.usage_charges, s.usage_billed_until,
    t.days_until_due, t.grace_period_days,
    s.default_tax_rates AS subscription_tax_rates, p.default_tax_rates AS plan_tax_rates,
    c.default_tax_rates AS customer_tax_rates, t.default_tax_rates AS tenant_tax_rates, c.tax_exempt,
    (SELECT min(i.due_at) FROM invoices i
      WHERE i.tenant_id = s.tenant_id AND i.subscription_id = s.id
        AND i.status = 'open' AND i.amount_due > i.amount_paid) AS oldest_unpaid_due,
    (SELECT max(i.created_at) FROM invoices i
      WHERE i.tenant_id = s.tenant_id AND i.subscription_id = s.id AND i.status = 'open') AS last_open_invoice_at
"""

_FROM = """
FROM subscriptions s
JOIN plans p ON p.tenant_id = s.tenant_id AND p.id = s.plan_id
JOIN tenants t ON t.id = s.tenant_id
JOIN customers c ON c.tenant_id = s.tenant_id AND c.id = s.customer_id
"""

# Who is renewed: real time (no test clock) or exactly one test clock; optionally one tenant.
# $1 = as-of time, $2 = tenant id or NULL, $3 = test clock id, $4 = batch size; the claims
# also take $5 = ids this run skipped (their invoice could not be written), never claimed again.
# The clock predicate is literal SQL, not "$3 IS NULL OR ...": prepared statements go to a
# generic plan after five runs, and a generic plan could not use the partial indexes
# (it would scan and sort every subscription for every batch).
_REAL_TIME = """
  AND ($2::text IS NULL OR s.tenant_id = $2)
  AND s.test_clock_id IS NULL AND $3::text IS NULL
"""
_TEST_CLOCK = """
  AND ($2::text IS NULL OR s.tenant_id = $2)
  AND s.test_clock_id = $3
"""


# Subscriptions whose period has ended. FOR UPDATE ... SKIP LOCKED: concurrent runs take
# disjoint batches, and a row another run has just advanced is re-checked after the lock.
def claim_due(scope: str) -> str:
    return f"""
SELECT {_COLUMNS} {_FROM}
WHERE s.status IN {BILLABLE_SQL} AND s.current_period_end <= $1 {scope}
  AND s.id <> ALL($5::text[])
ORDER BY s.current_period_end
LIMIT $4
FOR UPDATE OF s SKIP LOCKED
"""


# Subscriptions inside their period that have a dunning step due: an active one with an
# overdue invoice (-> past_due), or any whose oldest unpaid invoice is past the grace
# period, found from the unpaid-invoice index. Planned right after the run moved every
# period it renewed: the run refreshes those statistics first (shared.renewal.statistics),
# or the planner expects one subscription inside its period. The CTE takes invoices due up to
# and including $1: with grace 0 the grace runs out at the due date itself.
def _dunning(scope: str, columns: str) -> str:
    return f"""
WITH overdue AS (
  SELECT i.tenant_id, i.subscription_id, min(i.due_at) AS oldest
  FROM invoices i
  WHERE i.status = 'open' AND i.amount_due > i.amount_paid AND i.subscription_id IS NOT NULL
    AND i.due_at <= $1 AND ($2::text IS NULL OR i.tenant_id = $2)
  GROUP BY i.tenant_id, i.subscription_id
)
SELECT {columns}
FROM overdue o
JOIN subscriptions s ON s.tenant_id = o.tenant_id AND s.id = o.subscription_id
JOIN plans p ON p.tenant_id = s.tenant_id AND p.id = s.plan_id
JOIN tenants t ON t.id = s.tenant_id
JOIN customers c ON c.tenant_id = s.tenant_id AND c.id = s.customer_id
WHERE s.status IN {DUNNABLE_SQL} AND s.current_period_end > $1 {scope}
  AND ((s.status = 'active' AND {overdue_sql("o.oldest", "$1")})
       OR {grace_expired_sql("o.oldest", "t.grace_period_days", "$1")})
"""


def claim_dunning(scope: str) -> str:
    return _dunning(scope, _COLUMNS) + "  AND s.id <> ALL($5::text[])\nLIMIT $4\nFOR UPDATE OF s SKIP LOCKED\n"


# Before a run: how much is due, and since when (the renewal lag). Parameters $1-$3.
def due_summary(scope: str) -> str:
    return f"""
SELECT count(*) AS due, min(s.current_period_end) AS oldest FROM subscriptions s
WHERE s.status IN {BILLABLE_SQL} AND s.current_period_end <= $1 {scope}
"""


# Is anything of the scope still to do as of $1, including rows the claims skipped because
# another transaction held them? Plain reads: they see locked rows and never wait.
def left_to_do(scope: str) -> str:
    return f"""
SELECT (SELECT count(*) FROM subscriptions s
        WHERE s.status IN {BILLABLE_SQL} AND s.current_period_end <= $1 {scope})
     + (SELECT count(*) FROM ({_dunning(scope, "s.id")}) d) AS left
"""


LEFT_TO_DO = {kind: left_to_do(scope) for kind, scope in (("real_time", _REAL_TIME), ("test_clock", _TEST_CLOCK))}

STATEMENTS = {
    kind: (claim_due(scope), claim_dunning(scope), due_summary(scope))
    for kind, scope in (("real_time", _REAL_TIME), ("test_clock", _TEST_CLOCK))
}

PENDING_ITEMS = """
SELECT ii.tenant_id, ii.subscription_id, ii.id, ii.description, ii.amount,
       ii.period_start, ii.period_end, ii.plan_id, ii.proration, ii.created_at
FROM invoice_items ii
JOIN unnest($1::text[], $2::text[]) AS v(tenant_id, subscription_id)
  ON ii.tenant_id = v.tenant_id AND ii.subscription_id = v.subscription_id
WHERE ii.invoice_id IS NULL
ORDER BY ii.tenant_id, ii.subscription_id, ii.id
"""

# The batch's tax rates ($1, $2: tenant and rate ids) and running discounts with their
# coupons ($1, $2: tenant and subscription ids): one query each per batch.
TAX_RATES = """
SELECT r.tenant_id, r.id, r.percentage, r.inclusive FROM tax_rates r
JOIN unnest($1::text[], $2::text[]) AS v(tenant_id, id) ON r.tenant_id = v.tenant_id AND r.id = v.id
"""

RUNNING_DISCOUNTS = """
SELECT d.tenant_id, d.subscription_id, d.id, d.coupon_id, d.periods_left,
       c.percent_off, c.amount_off, c.currency, c.applies_to_plans
FROM discounts d
JOIN unnest($1::text[], $2::text[]) AS v(tenant_id, subscription_id)
  ON d.tenant_id = v.tenant_id AND d.subscription_id = v.subscription_id
JOIN coupons c ON c.tenant_id = d.tenant_id AND c.id = d.coupon_id
WHERE d.ended_at IS NULL
"""

# What the batch's invoices used up of their discounts; one that is used up ends.
UPDATE_DISCOUNTS = """
UPDATE discounts d SET periods_left = v.periods_left,
                       ended_at = CASE WHEN v.periods_left = 0 THEN v.ended_at END
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) AS v(tenant_id, id, periods_left, ended_at)
WHERE d.tenant_id = v.tenant_id AND d.id = v.id
"""

# Invoices, their lines and numbering are written by shared.db.invoice_writer (one writer
# for requests and renewal runs, with the one lock order).

UPDATE_SUBSCRIPTIONS = """
UPDATE subscriptions s
SET status = v.status, billing_cycle_anchor = v.anchor, cycle = v.cycle, current_period_start = v.period_start,
    current_period_end = v.period_end, cancel_at_period_end = v.cancel_at_period_end,
    ended_at = v.ended_at,
    canceled_at = CASE WHEN v.status = 'canceled' THEN coalesce(s.canceled_at, v.ended_at) ELSE s.canceled_at END
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::timestamptz[],
            $7::bool[], $8::timestamptz[], $9::timestamptz[])
  AS v(tenant_id, id, status, cycle, period_start, period_end, cancel_at_period_end, ended_at, anchor)
WHERE s.tenant_id = v.tenant_id AND s.id = v.id
"""

MARK_UNCOLLECTIBLE = """
UPDATE invoices i SET status = 'uncollectible', marked_uncollectible_at = greatest(v.at, i.created_at)
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS v(tenant_id, subscription_id, at)
WHERE i.tenant_id = v.tenant_id AND i.subscription_id = v.subscription_id AND i.status = 'open'
RETURNING i.tenant_id, i.id, i.test_clock_id, i.marked_uncollectible_at
"""

# Notices, emitted once per object (shared.db.tables.EventNotice): $1 = as-of time, $2 =
# tenant or NULL, $3 = test clock (scope as above), $4 = batch size. Each claims its rows
# (SKIP LOCKED: a row held elsewhere waits for a later run), records the notice and returns
# only the rows whose notice is new, with the business time it is dated.
TRIAL_WILL_END_DAYS = 3  # Stripe's rule: the notice comes 3 days before the trial ends


def _notice(table: str, type_: str, where: str, at: str, order: str, scope: str) -> str:
    return f"""
WITH due AS (
  SELECT x.tenant_id, x.id, x.test_clock_id, {at} AS at FROM {table} x
  WHERE {where} {scope}
    AND NOT EXISTS (SELECT 1 FROM event_notices n
                    WHERE n.tenant_id = x.tenant_id AND n.type = '{type_}' AND n.object_id = x.id)
  ORDER BY {order}
  LIMIT $4
  FOR UPDATE OF x SKIP LOCKED
), noticed AS (
  INSERT INTO event_notices (tenant_id, type, object_id)
  SELECT tenant_id, '{type_}', id FROM due
  ON CONFLICT DO NOTHING
  RETURNING tenant_id, object_id
)
SELECT d.tenant_id, d.id, d.test_clock_id, d.at FROM due d
JOIN noticed n ON n.tenant_id = d.tenant_id AND n.object_id = d.id
ORDER BY d.at, d.id
"""


_NOTICE_SCOPE = {
    "real_time": _REAL_TIME.replace("s.", "x."),
    "test_clock": _TEST_CLOCK.replace("s.", "x."),
}
_TRIAL_NOTICE = f"x.trial_end - make_interval(days => {TRIAL_WILL_END_DAYS})"

NOTICES = {
    kind: {
        "subscription.trial_will_end": _notice(
            "subscriptions",
            "subscription.trial_will_end",
            f"x.status = 'trialing' AND x.trial_end IS NOT NULL AND {_TRIAL_NOTICE} <= $1",
            f"greatest({_TRIAL_NOTICE}, x.created_at)",
            "x.trial_end",
            scope,
        ),
        # The moment the dunning rule (shared.domain.subscriptions.is_overdue) says so.
        "invoice.payment_overdue": _notice(
            "invoices",
            "invoice.payment_overdue",
            f"x.status = 'open' AND x.amount_due > x.amount_paid AND {overdue_sql('x.due_at', '$1')}",
            "x.due_at",
            "x.due_at",
            scope,
        ),
    }
    for kind, scope in _NOTICE_SCOPE.items()
}
