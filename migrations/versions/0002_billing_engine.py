"""billing engine: test clocks, pending items, pause, renewal indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:42:08.441125
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('test_clocks',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('frozen_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_test_clocks_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_test_clocks'))
    )
    op.create_table('invoice_items',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=True),
    sa.Column('proration', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_invoice_items_currency_format')),
    sa.CheckConstraint('amount BETWEEN -1000000000000000 AND 1000000000000000', name=op.f('ck_invoice_items_amount_range')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_invoice_items_period_nonempty')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_invoice_items_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'], name=op.f('fk_invoice_items_tenant_id_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['subscriptions.tenant_id', 'subscriptions.id'], name=op.f('fk_invoice_items_tenant_id_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_invoice_items'))
    )
    op.create_index('ix_invoice_items_pending', 'invoice_items', ['tenant_id', 'subscription_id'], unique=False, postgresql_where=sa.text('invoice_id IS NULL'))
    op.add_column('customers', sa.Column('test_clock_id', sa.String(length=40), nullable=True))
    op.create_foreign_key(op.f('fk_customers_tenant_id_test_clock_id_test_clocks'), 'customers', 'test_clocks', ['tenant_id', 'test_clock_id'], ['tenant_id', 'id'])
    op.create_index('ix_invoices_unpaid_by_subscription', 'invoices', ['tenant_id', 'subscription_id', 'due_at'], unique=False, postgresql_where=sa.text("status = 'open' AND amount_due > amount_paid"))
    op.add_column('subscriptions', sa.Column('test_clock_id', sa.String(length=40), nullable=True))
    op.add_column('subscriptions', sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_subscriptions_canceled_has_ended_at'), 'subscriptions',
                               "status <> 'canceled' OR ended_at IS NOT NULL")
    op.create_check_constraint(op.f('ck_subscriptions_paused_has_paused_at'), 'subscriptions',
                               "status <> 'paused' OR paused_at IS NOT NULL")
    op.create_index('ix_subscriptions_due', 'subscriptions', ['current_period_end'], unique=False, postgresql_where=sa.text("status IN ('active', 'past_due', 'trialing') AND test_clock_id IS NULL"))
    op.create_index('ix_subscriptions_due_on_test_clock', 'subscriptions', ['tenant_id', 'test_clock_id', 'current_period_end'], unique=False, postgresql_where=sa.text("status IN ('active', 'past_due', 'trialing') AND test_clock_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index('ix_subscriptions_due_on_test_clock', table_name='subscriptions', postgresql_where=sa.text("status IN ('active', 'past_due', 'trialing') AND test_clock_id IS NOT NULL"))
    op.drop_index('ix_subscriptions_due', table_name='subscriptions', postgresql_where=sa.text("status IN ('active', 'past_due', 'trialing') AND test_clock_id IS NULL"))
    op.drop_constraint(op.f('ck_subscriptions_paused_has_paused_at'), 'subscriptions', type_='check')
    op.drop_constraint(op.f('ck_subscriptions_canceled_has_ended_at'), 'subscriptions', type_='check')
    op.drop_column('subscriptions', 'paused_at')
    op.drop_column('subscriptions', 'test_clock_id')
    op.drop_index('ix_invoices_unpaid_by_subscription', table_name='invoices', postgresql_where=sa.text("status = 'open' AND amount_due > amount_paid"))
    op.drop_constraint(op.f('fk_customers_tenant_id_test_clock_id_test_clocks'), 'customers', type_='foreignkey')
    op.drop_column('customers', 'test_clock_id')
    op.drop_index('ix_invoice_items_pending', table_name='invoice_items', postgresql_where=sa.text('invoice_id IS NULL'))
    op.drop_table('invoice_items')
    op.drop_table('test_clocks')
