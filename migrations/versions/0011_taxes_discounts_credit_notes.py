"""money: tax rates, coupons, promotion codes and discounts; invoice totals with discounts and taxes

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-25 21:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None

MAX = 10**15
NO_IDS = sa.text("'{}'::character varying[]")
EMPTY = sa.text("'[]'::jsonb")
IDS = postgresql.ARRAY(sa.String(length=40))


def upgrade() -> None:
    for table in ('tenants', 'customers', 'plans', 'subscriptions'):
        op.add_column(table, sa.Column('default_tax_rates', IDS, server_default=NO_IDS, nullable=False))
    op.add_column('customers', sa.Column('tax_exempt', sa.String(length=8), server_default=sa.text("'none'"),
                                         nullable=False))
    op.create_check_constraint(op.f('ck_customers_tax_exempt_known'), 'customers',
                               "tax_exempt IN ('none', 'exempt', 'reverse')")

    for column in ('total_discount', 'tax', 'inclusive_tax'):
        op.add_column('invoices', sa.Column(column, sa.BigInteger(), server_default=sa.text('0'), nullable=False))
        op.create_check_constraint(op.f(f'ck_invoices_{column}_range'), 'invoices', f'{column} BETWEEN {-MAX} AND {MAX}')
    for column in ('total_discount_amounts', 'total_tax_amounts'):
        op.add_column('invoices', sa.Column(column, postgresql.JSONB(astext_type=sa.Text()), server_default=EMPTY,
                                            nullable=False))
    op.add_column('invoices', sa.Column('customer_tax_exempt', sa.String(length=8), server_default=sa.text("'none'"),
                                        nullable=False))
    for column in ('discount_amounts', 'tax_amounts'):
        op.add_column('invoice_lines', sa.Column(column, postgresql.JSONB(astext_type=sa.Text()), server_default=EMPTY,
                                                 nullable=False))
    op.drop_constraint(op.f('ck_invoices_total_is_subtotal'), 'invoices', type_='check')
    # Subtotal - discounts + exclusive tax (tax - inclusive tax) = total; old rows have neither.
    op.create_check_constraint(op.f('ck_invoices_total_from_subtotal'), 'invoices',
                               'total = subtotal - total_discount + tax - inclusive_tax')
    op.create_check_constraint(op.f('ck_invoices_customer_tax_exempt_known'), 'invoices',
                               "customer_tax_exempt IN ('none', 'exempt', 'reverse')")
    op.create_check_constraint(op.f('ck_invoices_exempt_pays_no_tax'), 'invoices',
                               "customer_tax_exempt = 'none' OR tax = 0")

    op.create_table(
        'tax_rates',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('percentage', sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column('inclusive', sa.Boolean(), nullable=False),
        sa.Column('jurisdiction', sa.Text(), nullable=True),
        sa.Column('country', sa.String(length=2), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('percentage BETWEEN 0 AND 100', name=op.f('ck_tax_rates_percentage_range')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tax_rates_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tax_rates')),
    )
    op.create_table(
        'coupons',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('percent_off', sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column('amount_off', sa.BigInteger(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('duration', sa.String(length=16), nullable=False),
        sa.Column('duration_in_periods', sa.Integer(), nullable=True),
        sa.Column('max_redemptions', sa.Integer(), nullable=True),
        sa.Column('times_redeemed', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('redeem_by', sa.DateTime(timezone=True), nullable=True),
        sa.Column('applies_to_plans', IDS, nullable=True),
        sa.Column('valid', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(percent_off IS NULL) <> (amount_off IS NULL)', name=op.f('ck_coupons_percent_or_amount')),
        sa.CheckConstraint('percent_off > 0 AND percent_off <= 100', name=op.f('ck_coupons_percent_off_range')),
        sa.CheckConstraint(f'amount_off BETWEEN 1 AND {MAX}', name=op.f('ck_coupons_amount_off_range')),
        sa.CheckConstraint('(amount_off IS NULL) = (currency IS NULL)', name=op.f('ck_coupons_amount_off_has_currency')),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_coupons_currency_format')),
        sa.CheckConstraint("duration IN ('once', 'repeating', 'forever')", name=op.f('ck_coupons_duration_known')),
        sa.CheckConstraint(
            "(duration = 'repeating') = (duration_in_periods IS NOT NULL) AND duration_in_periods >= 1",
            name=op.f('ck_coupons_repeating_has_periods'),
        ),
        sa.CheckConstraint('max_redemptions >= 1', name=op.f('ck_coupons_max_redemptions_positive')),
        sa.CheckConstraint('times_redeemed >= 0 AND times_redeemed <= max_redemptions',
                           name=op.f('ck_coupons_redemptions_within_max')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_coupons_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupons')),
    )
    op.create_table(
        'promotion_codes',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('coupon_id', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('max_redemptions', sa.Integer(), nullable=True),
        sa.Column('times_redeemed', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('first_time_transaction', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('max_redemptions >= 1', name=op.f('ck_promotion_codes_max_redemptions_positive')),
        sa.CheckConstraint('times_redeemed >= 0 AND times_redeemed <= max_redemptions',
                           name=op.f('ck_promotion_codes_redemptions_within_max')),
        sa.ForeignKeyConstraint(['tenant_id', 'coupon_id'], ['coupons.tenant_id', 'coupons.id'],
                                name=op.f('fk_promotion_codes_tenant_id_coupon_id_coupons')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_promotion_codes')),
    )
    op.create_index('uq_promotion_codes_code', 'promotion_codes', ['tenant_id', sa.text('lower(code)')], unique=True)
    op.create_table(
        'discounts',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('subscription_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('coupon_id', sa.String(length=64), nullable=False),
        sa.Column('promotion_code_id', sa.String(length=40), nullable=True),
        sa.Column('periods_left', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('periods_left >= 0', name=op.f('ck_discounts_periods_left_nonnegative')),
        sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['subscriptions.tenant_id', 'subscriptions.id'],
                                name=op.f('fk_discounts_tenant_id_subscription_id_subscriptions')),
        sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_discounts_tenant_id_customer_id_customers')),
        sa.ForeignKeyConstraint(['tenant_id', 'coupon_id'], ['coupons.tenant_id', 'coupons.id'],
                                name=op.f('fk_discounts_tenant_id_coupon_id_coupons')),
        sa.ForeignKeyConstraint(['tenant_id', 'promotion_code_id'], ['promotion_codes.tenant_id', 'promotion_codes.id'],
                                name=op.f('fk_discounts_tenant_id_promotion_code_id_promotion_codes')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_discounts')),
    )
    op.create_index('uq_discounts_one_per_subscription', 'discounts', ['tenant_id', 'subscription_id'], unique=True,
                    postgresql_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_discounts_one_per_subscription', table_name='discounts',
                  postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_table('discounts')
    op.drop_index('uq_promotion_codes_code', table_name='promotion_codes')
    op.drop_table('promotion_codes')
    op.drop_table('coupons')
    op.drop_table('tax_rates')
    for name in ('exempt_pays_no_tax', 'customer_tax_exempt_known', 'total_from_subtotal'):
        op.drop_constraint(op.f(f'ck_invoices_{name}'), 'invoices', type_='check')
    # The old rule knows no discounts or taxes: the lines' sum becomes the total again.
    op.execute('UPDATE invoices SET subtotal = total WHERE total <> subtotal')
    op.create_check_constraint(op.f('ck_invoices_total_is_subtotal'), 'invoices', 'total = subtotal')
    for column in ('discount_amounts', 'tax_amounts'):
        op.drop_column('invoice_lines', column)
    for column in ('customer_tax_exempt', 'total_discount_amounts', 'total_tax_amounts'):
        op.drop_column('invoices', column)
    for column in ('total_discount', 'tax', 'inclusive_tax'):
        op.drop_constraint(op.f(f'ck_invoices_{column}_range'), 'invoices', type_='check')
        op.drop_column('invoices', column)
    op.drop_constraint(op.f('ck_customers_tax_exempt_known'), 'customers', type_='check')
    op.drop_column('customers', 'tax_exempt')
    for table in ('tenants', 'customers', 'plans', 'subscriptions'):
        op.drop_column(table, 'default_tax_rates')
