"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 22:31:57.396689
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('days_until_due', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('grace_period_days', sa.Integer(), server_default=sa.text('30'), nullable=False),
    sa.Column('next_invoice_number', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('days_until_due BETWEEN 0 AND 365', name=op.f('ck_tenants_days_until_due_range')),
    sa.CheckConstraint('grace_period_days BETWEEN 0 AND 365', name=op.f('ck_tenants_grace_period_days_range')),
    sa.CheckConstraint('next_invoice_number >= 1', name=op.f('ck_tenants_next_invoice_number_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants'))
    )
    op.create_table('api_keys',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('customers',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customers')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_customers_tenant_id_email'))
    )
    op.create_table('plans',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('trial_period_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_plans_currency_format')),
    sa.CheckConstraint("interval IN ('day', 'week', 'month', 'year')", name=op.f('ck_plans_interval_known')),
    sa.CheckConstraint('amount BETWEEN 0 AND 1000000000000000', name=op.f('ck_plans_amount_range')),
    sa.CheckConstraint('interval_count >= 1', name=op.f('ck_plans_interval_count_positive')),
    sa.CheckConstraint('trial_period_days >= 0', name=op.f('ck_plans_trial_period_days_nonnegative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plans_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plans')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_plans_tenant_id_code'))
    )
    op.create_table('subscriptions',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('billing_cycle_anchor', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cycle', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trial_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('trialing', 'active', 'past_due', 'paused', 'canceled')", name=op.f('ck_subscriptions_status_known')),
    sa.CheckConstraint('current_period_end > current_period_start', name=op.f('ck_subscriptions_period_nonempty')),
    sa.CheckConstraint('cycle >= 0', name=op.f('ck_subscriptions_cycle_nonnegative')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_subscriptions_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'plan_id'], ['plans.tenant_id', 'plans.id'], name=op.f('fk_subscriptions_tenant_id_plan_id_plans')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_subscriptions'))
    )
    op.create_index(op.f('ix_subscriptions_tenant_id_customer_id_id'), 'subscriptions', ['tenant_id', 'customer_id', 'id'], unique=False)
    op.create_index(op.f('ix_subscriptions_tenant_id_status_id'), 'subscriptions', ['tenant_id', 'status', 'id'], unique=False)
    op.create_table('invoices',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('billing_reason', sa.String(length=24), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('amount_due', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marked_uncollectible_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("billing_reason IN ('subscription_create', 'subscription_cycle', 'subscription_update')", name=op.f('ck_invoices_billing_reason_known')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_invoices_currency_format')),
    sa.CheckConstraint("status <> 'paid' OR amount_paid = amount_due", name=op.f('ck_invoices_paid_in_full')),
    sa.CheckConstraint("status IN ('draft', 'open', 'paid', 'void', 'uncollectible')", name=op.f('ck_invoices_status_known')),
    sa.CheckConstraint('amount_due = GREATEST(total, 0)', name=op.f('ck_invoices_amount_due_from_total')),
    sa.CheckConstraint('amount_due BETWEEN 0 AND 1000000000000000', name=op.f('ck_invoices_amount_due_range')),
    sa.CheckConstraint('amount_paid <= amount_due', name=op.f('ck_invoices_not_overpaid')),
    sa.CheckConstraint('amount_paid BETWEEN 0 AND 1000000000000000', name=op.f('ck_invoices_amount_paid_range')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_invoices_number_positive')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_invoices_period_nonempty')),
    sa.CheckConstraint('subtotal BETWEEN -1000000000000000 AND 1000000000000000', name=op.f('ck_invoices_subtotal_range')),
    sa.CheckConstraint('total = subtotal', name=op.f('ck_invoices_total_is_subtotal')),
    sa.CheckConstraint('total BETWEEN -1000000000000000 AND 1000000000000000', name=op.f('ck_invoices_total_range')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_invoices_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['subscriptions.tenant_id', 'subscriptions.id'], name=op.f('fk_invoices_tenant_id_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_invoices_tenant_id_number'))
    )
    op.create_index(op.f('ix_invoices_tenant_id_customer_id_id'), 'invoices', ['tenant_id', 'customer_id', 'id'], unique=False)
    op.create_index(op.f('ix_invoices_tenant_id_status_id'), 'invoices', ['tenant_id', 'status', 'id'], unique=False)
    op.create_index(op.f('ix_invoices_tenant_id_subscription_id_id'), 'invoices', ['tenant_id', 'subscription_id', 'id'], unique=False)
    op.create_index('uq_invoices_one_per_period', 'invoices', ['tenant_id', 'subscription_id', 'period_start'], unique=True, postgresql_where=sa.text("billing_reason IN ('subscription_create', 'subscription_cycle')"))
    op.create_table('invoice_lines',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=True),
    sa.Column('proration', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_invoice_lines_currency_format')),
    sa.CheckConstraint('amount BETWEEN -1000000000000000 AND 1000000000000000', name=op.f('ck_invoice_lines_amount_range')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_invoice_lines_period_nonempty')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'], name=op.f('fk_invoice_lines_tenant_id_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('tenant_id', 'invoice_id', 'position', name=op.f('uq_invoice_lines_tenant_id_invoice_id_position'))
    )


def downgrade() -> None:
    op.drop_table('invoice_lines')
    op.drop_index('uq_invoices_one_per_period', table_name='invoices', postgresql_where=sa.text("billing_reason IN ('subscription_create', 'subscription_cycle')"))
    op.drop_index(op.f('ix_invoices_tenant_id_subscription_id_id'), table_name='invoices')
    op.drop_index(op.f('ix_invoices_tenant_id_status_id'), table_name='invoices')
    op.drop_index(op.f('ix_invoices_tenant_id_customer_id_id'), table_name='invoices')
    op.drop_table('invoices')
    op.drop_index(op.f('ix_subscriptions_tenant_id_status_id'), table_name='subscriptions')
    op.drop_index(op.f('ix_subscriptions_tenant_id_customer_id_id'), table_name='subscriptions')
    op.drop_table('subscriptions')
    op.drop_table('plans')
    op.drop_table('customers')
    op.drop_table('api_keys')
    op.drop_table('tenants')
