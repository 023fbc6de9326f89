"""credit notes: numbered per tenant (and per test clock), their lines, what they credited on
invoices, and the ledger rows they write

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 23:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

MAX = 10**15
JSON = postgresql.JSONB(astext_type=sa.Text())


def _money(table: str, column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f'{column} BETWEEN 0 AND {MAX}', name=op.f(f'ck_{table}_{column}_range'))


def upgrade() -> None:
    for table in ('tenants', 'test_clocks'):
        op.add_column(table, sa.Column('next_credit_note_number', sa.BigInteger(), server_default=sa.text('1'),
                                       nullable=False))
        op.create_check_constraint(op.f(f'ck_{table}_next_credit_note_number_positive'), table,
                                   'next_credit_note_number >= 1')

    for column in ('pre_payment_credit_notes_amount', 'post_payment_credit_notes_amount'):
        op.add_column('invoices', sa.Column(column, sa.BigInteger(), server_default=sa.text('0'), nullable=False))
        op.create_check_constraint(op.f(f'ck_invoices_{column}_range'), 'invoices', f'{column} BETWEEN 0 AND {MAX}')
    op.drop_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices', type_='check')
    op.create_check_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices',
                               'amount_due = GREATEST(total + starting_balance, 0) - pre_payment_credit_notes_amount')
    op.create_check_constraint(op.f('ck_invoices_credited_within_total'), 'invoices',
                               'pre_payment_credit_notes_amount + post_payment_credit_notes_amount <= GREATEST(total, 0)')

    op.create_table(
        'credit_notes',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('number', sa.BigInteger(), nullable=False),
        sa.Column('invoice_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('test_clock_id', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('memo', sa.Text(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('subtotal', sa.BigInteger(), nullable=False),
        sa.Column('discount_amount', sa.BigInteger(), nullable=False),
        sa.Column('tax', sa.BigInteger(), nullable=False),
        sa.Column('inclusive_tax', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('discount_amounts', JSON, nullable=False),
        sa.Column('tax_amounts', JSON, nullable=False),
        sa.Column('pre_payment_amount', sa.BigInteger(), nullable=False),
        sa.Column('credit_amount', sa.BigInteger(), nullable=False),
        sa.Column('refund_amount', sa.BigInteger(), nullable=False),
        sa.Column('out_of_band_amount', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('number >= 1', name=op.f('ck_credit_notes_number_positive')),
        sa.CheckConstraint("status IN ('issued', 'void')", name=op.f('ck_credit_notes_status_known')),
        sa.CheckConstraint("(status = 'void') = (voided_at IS NOT NULL)", name=op.f('ck_credit_notes_void_has_voided_at')),
        sa.CheckConstraint("type IN ('pre_payment', 'post_payment')", name=op.f('ck_credit_notes_type_known')),
        sa.CheckConstraint("reason IN ('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory')",
                           name=op.f('ck_credit_notes_reason_known')),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_credit_notes_currency_format')),
        *(_money('credit_notes', c) for c in ('subtotal', 'discount_amount', 'tax', 'inclusive_tax', 'total',
                                             'pre_payment_amount', 'credit_amount', 'refund_amount',
                                             'out_of_band_amount')),
        sa.CheckConstraint('total > 0', name=op.f('ck_credit_notes_total_positive')),
        sa.CheckConstraint('total = subtotal - discount_amount + tax - inclusive_tax',
                           name=op.f('ck_credit_notes_total_from_subtotal')),
        sa.CheckConstraint('pre_payment_amount + credit_amount + refund_amount + out_of_band_amount = total',
                           name=op.f('ck_credit_notes_split_is_total')),
        sa.ForeignKeyConstraint(['tenant_id', 'invoice_id'], ['invoices.tenant_id', 'invoices.id'],
                                name=op.f('fk_credit_notes_tenant_id_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'],
                                name=op.f('fk_credit_notes_tenant_id_customer_id_customers')),
        sa.ForeignKeyConstraint(['tenant_id', 'test_clock_id'], ['test_clocks.tenant_id', 'test_clocks.id'],
                                name=op.f('fk_credit_notes_tenant_id_test_clock_id_test_clocks')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_credit_notes')),
    )
    op.create_index('uq_credit_notes_number', 'credit_notes', ['tenant_id', 'number'], unique=True,
                    postgresql_where=sa.text('test_clock_id IS NULL'))
    op.create_index('uq_credit_notes_test_clock_number', 'credit_notes', ['tenant_id', 'test_clock_id', 'number'],
                    unique=True, postgresql_where=sa.text('test_clock_id IS NOT NULL'))
    op.create_index(op.f('ix_credit_notes_tenant_id_invoice_id_id'), 'credit_notes', ['tenant_id', 'invoice_id', 'id'])
    op.create_index(op.f('ix_credit_notes_tenant_id_customer_id_id'), 'credit_notes',
                    ['tenant_id', 'customer_id', 'id'])

    op.create_table(
        'credit_note_lines',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('credit_note_id', sa.String(length=40), nullable=False),
        sa.Column('invoice_line_id', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('discount_amount', sa.BigInteger(), nullable=False),
        sa.Column('tax', sa.BigInteger(), nullable=False),
        sa.Column('inclusive_tax', sa.BigInteger(), nullable=False),
        sa.Column('discount_amounts', JSON, nullable=False),
        sa.Column('tax_amounts', JSON, nullable=False),
        *(_money('credit_note_lines', c) for c in ('amount', 'discount_amount', 'tax', 'inclusive_tax')),
        sa.ForeignKeyConstraint(['tenant_id', 'credit_note_id'], ['credit_notes.tenant_id', 'credit_notes.id'],
                                name=op.f('fk_credit_note_lines_tenant_id_credit_note_id_credit_notes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id', 'invoice_line_id'], ['invoice_lines.tenant_id', 'invoice_lines.id'],
                                name=op.f('fk_credit_note_lines_tenant_id_invoice_line_id_invoice_lines')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_credit_note_lines')),
        sa.UniqueConstraint('tenant_id', 'credit_note_id', 'position',
                            name=op.f('uq_credit_note_lines_tenant_id_credit_note_id_position')),
    )
    op.create_index(op.f('ix_credit_note_lines_tenant_id_invoice_line_id'), 'credit_note_lines',
                    ['tenant_id', 'invoice_line_id'])

    op.add_column('balance_transactions', sa.Column('credit_note_id', sa.String(length=40), nullable=True))
    op.create_foreign_key(op.f('fk_balance_transactions_tenant_id_credit_note_id_credit_notes'),
                          'balance_transactions', 'credit_notes', ['tenant_id', 'credit_note_id'],
                          ['tenant_id', 'id'], deferrable=True, initially='DEFERRED')
    op.create_check_constraint(op.f('ck_balance_transactions_credit_note_when_credited'), 'balance_transactions',
                               "(type = 'credit_note') = (credit_note_id IS NOT NULL)")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_balance_transactions_credit_note_when_credited'), 'balance_transactions',
                       type_='check')
    op.drop_constraint(op.f('fk_balance_transactions_tenant_id_credit_note_id_credit_notes'), 'balance_transactions',
                       type_='foreignkey')
    op.drop_column('balance_transactions', 'credit_note_id')
    op.drop_index(op.f('ix_credit_note_lines_tenant_id_invoice_line_id'), table_name='credit_note_lines')
    op.drop_table('credit_note_lines')
    op.drop_index(op.f('ix_credit_notes_tenant_id_customer_id_id'), table_name='credit_notes')
    op.drop_index(op.f('ix_credit_notes_tenant_id_invoice_id_id'), table_name='credit_notes')
    op.drop_index('uq_credit_notes_test_clock_number', table_name='credit_notes')
    op.drop_index('uq_credit_notes_number', table_name='credit_notes')
    op.drop_table('credit_notes')
    op.drop_constraint(op.f('ck_invoices_credited_within_total'), 'invoices', type_='check')
    op.drop_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices', type_='check')
    # Credit notes are gone with their table: amounts due return to what the balance left.
    op.execute('UPDATE invoices SET amount_due = GREATEST(total + starting_balance, 0),'
               ' amount_paid = CASE WHEN status = \'paid\' THEN GREATEST(total + starting_balance, 0) ELSE amount_paid END'
               ' WHERE pre_payment_credit_notes_amount <> 0')
    op.create_check_constraint(op.f('ck_invoices_amount_due_from_balance'), 'invoices',
                               'amount_due = GREATEST(total + starting_balance, 0)')
    for column in ('post_payment_credit_notes_amount', 'pre_payment_credit_notes_amount'):
        op.drop_constraint(op.f(f'ck_invoices_{column}_range'), 'invoices', type_='check')
        op.drop_column('invoices', column)
    for table in ('test_clocks', 'tenants'):
        op.drop_constraint(op.f(f'ck_{table}_next_credit_note_number_positive'), table, type_='check')
        op.drop_column(table, 'next_credit_note_number')
