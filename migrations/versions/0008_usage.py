"""usage-based billing: meters, usage events (range-partitioned by time, deduplicated by a
separate id table), customers' external_id, plans' usage_charges

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-25 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

# Partitions live in their own schema: the models describe the partitioned parent only, and
# the periodic job (usage_ensure_partitions) creates monthly partitions ahead of time.
ENSURE_PARTITIONS = """
CREATE FUNCTION usage_ensure_partitions(as_of timestamptz, months_ahead int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  made int := 0;
  first_month timestamptz := date_trunc('month', as_of AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  low timestamptz;
  high timestamptz;
  name text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('billing:usage_partitions'));
  FOR i IN 0..months_ahead LOOP
    low := first_month + make_interval(months => i);
    high := low + interval '1 month';
    name := 'usage_events_' || to_char(low AT TIME ZONE 'UTC', 'YYYY_MM');
    CONTINUE WHEN to_regclass('usage_partitions.' || name) IS NOT NULL;
    -- Rows that reached the default partition for this month move into the new one, in
    -- this transaction: attaching a range the default still holds rows of would fail.
    EXECUTE format('CREATE TABLE usage_partitions.%I (LIKE usage_events INCLUDING DEFAULTS)', name);
    EXECUTE format('WITH moved AS (DELETE FROM usage_partitions.usage_events_default '
                   'WHERE "timestamp" >= %L AND "timestamp" < %L RETURNING *) '
                   'INSERT INTO usage_partitions.%I SELECT * FROM moved', low, high, name);
    EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION usage_partitions.%I FOR VALUES FROM (%L) TO (%L)',
                   name, low, high);
    made := made + 1;
  END LOOP;
  RETURN made;
END $$
"""


def upgrade() -> None:
    op.add_column('customers', sa.Column('external_id', sa.String(length=255), nullable=True))
    op.create_unique_constraint(op.f('uq_customers_tenant_id_external_id'), 'customers', ['tenant_id', 'external_id'])
    op.add_column('subscriptions', sa.Column('usage_billed_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('plans', sa.Column('usage_charges', postgresql.JSONB(astext_type=sa.Text()),
                                     server_default=sa.text("'[]'::jsonb"), nullable=False))

    op.create_table(
        'meters',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('code', sa.String(length=100), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('aggregation', sa.String(length=16), nullable=False),
        sa.Column('value_property', sa.String(length=100), nullable=True),
        sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("aggregation IN ('count', 'sum', 'max', 'unique_count', 'latest')",
                           name=op.f('ck_meters_aggregation_known')),
        sa.CheckConstraint("aggregation = 'count' OR value_property IS NOT NULL",
                           name=op.f('ck_meters_value_property_given')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_meters_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_meters')),
        sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_meters_tenant_id_code')),
    )
    op.create_table(
        'usage_event_ids',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_usage_event_ids_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_usage_event_ids')),
    )
    op.create_table(
        'usage_events',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('meter_id', sa.String(length=40), nullable=False),
        sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('value', sa.Numeric(), nullable=True),
        sa.Column('unique_value', sa.Text(), nullable=True),
        sa.Column('counted', sa.Boolean(), nullable=False),
        sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'meter_id', 'timestamp', 'id',
                                name=op.f('pk_usage_events')),
        postgresql_partition_by='RANGE ("timestamp")',
    )
    op.execute("CREATE SCHEMA usage_partitions")
    op.execute("CREATE TABLE usage_partitions.usage_events_default PARTITION OF usage_events DEFAULT")
    op.execute(ENSURE_PARTITIONS)
    op.execute("SELECT usage_ensure_partitions(now(), 2)")


def downgrade() -> None:
    op.execute("DROP FUNCTION usage_ensure_partitions(timestamptz, int)")
    op.drop_table('usage_events')
    op.execute("DROP SCHEMA usage_partitions CASCADE")
    op.drop_table('usage_event_ids')
    op.drop_table('meters')
    op.drop_column('plans', 'usage_charges')
    op.drop_column('subscriptions', 'usage_billed_until')
    op.drop_constraint(op.f('uq_customers_tenant_id_external_id'), 'customers', type_='unique')
    op.drop_column('customers', 'external_id')
