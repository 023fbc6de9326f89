"""money: customer credit balance (ledger and running balance), invoices apply it

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

MAX = 10**15


def upgrade() -> None:
    op.add_column('invoices', sa.Column('starting_balance', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('invoices', sa.Column('ending_balance', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    # Invoices issued before the balance existed credited nothing (a negative total was
    # dropped): their ending balance stays 0, so the new checks hold with starting = -total.
    op.execute('UPDATE invoices SET starting_balance = -total WHERE total < 0')
    op.create_check_constraint(op.f('ck_invoices_starting_balance_range'), 'invoices',
                               f'starting_balance BETWEEN {-MAX} AND {MAX}')
    op.create_check_constraint(op.f('ck_invoices_ending_balance_range'), 'invoices',
                               f'ending_balance BETWEEN {-MAX} AND {MAX}')
    op.drop_constraint(op.f('ck_invoices_amount_due_from_total'), 'invoices', type_='check')
    op.create_check_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices',
                               'amount_due = GREATEST(total + starting_balance, 0)')
    op.create_check_constraint(op.f('ck_invoices_ending_balance_from_total'), 'invoices',
                               'ending_balance = LEAST(total + starting_balance, 0)')

    op.create_table(
        'customer_balances',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('balance', sa.BigInteger(), nullable=False),
        sa.CheckConstraint(f'balance BETWEEN {-MAX} AND {MAX}', name=op.f('ck_customer_balances_balance_range')),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_customer_balances_currency_format')),
        sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_customer_balances_tenant_id_customer_id_customers')),
        sa.PrimaryKeyConstraint('tenant_id', 'customer_id', 'currency', name=op.f('pk_customer_balances')),
    )
    op.create_table(
        'balance_transactions',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('type', sa.String(length=24), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f'amount BETWEEN {-MAX} AND {MAX}', name=op.f('ck_balance_transactions_amount_range')),
        sa.CheckConstraint('amount <> 0', name=op.f('ck_balance_transactions_amount_nonzero')),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_balance_transactions_currency_format')),
        sa.CheckConstraint("type IN ('proration_credit', 'invoice_applied', 'credit_note', 'adjustment')",
                           name=op.f('ck_balance_transactions_type_known')),
        sa.CheckConstraint("(type IN ('proration_credit', 'invoice_applied')) = (invoice_id IS NOT NULL)",
                           name=op.f('ck_balance_transactions_invoice_when_invoiced')),
        sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_balance_transactions_tenant_id_customer_id_customers')),
        sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'],
                                name=op.f('fk_balance_transactions_tenant_id_invoice_id_invoices')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_balance_transactions')),
    )
    op.create_index(op.f('ix_balance_transactions_tenant_id_customer_id_id'), 'balance_transactions',
                    ['tenant_id', 'customer_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_balance_transactions_tenant_id_customer_id_id'), table_name='balance_transactions')
    op.drop_table('balance_transactions')
    op.drop_table('customer_balances')
    op.drop_constraint(op.f('ck_invoices_ending_balance_from_total'), 'invoices', type_='check')
    op.drop_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices', type_='check')
    # The old rule knows only totals: an invoice that credit paid counts as paid in full.
    op.execute("""
        UPDATE invoices SET amount_due = GREATEST(total, 0),
               amount_paid = CASE WHEN status = 'paid' THEN GREATEST(total, 0)
                                  ELSE LEAST(amount_paid, GREATEST(total, 0)) END
    """)
    op.create_check_constraint(op.f('ck_invoices_amount_due_from_total'), 'invoices', 'amount_due = GREATEST(total, 0)')
    op.drop_constraint(op.f('ck_invoices_ending_balance_range'), 'invoices', type_='check')
    op.drop_constraint(op.f('ck_invoices_starting_balance_range'), 'invoices', type_='check')
    op.drop_column('invoices', 'ending_balance')
    op.drop_column('invoices', 'starting_balance')
