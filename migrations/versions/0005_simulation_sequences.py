"""simulation sequences: test-clock invoices numbered per clock, clocks deletable, tenant names unique

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('test_clocks', sa.Column('next_invoice_number', sa.BigInteger(), server_default=sa.text('1'), nullable=False))
    op.create_check_constraint(op.f('ck_test_clocks_next_invoice_number_positive'), 'test_clocks', 'next_invoice_number >= 1')

    op.add_column('invoices', sa.Column('test_clock_id', sa.String(length=40), nullable=True))
    # Invoices already issued to test-clock customers keep their (real-sequence) numbers, but
    # are marked as simulated; the clock's own sequence continues after the highest of them so
    # the per-clock numbers stay unique.
    op.execute("""
        UPDATE invoices i SET test_clock_id = c.test_clock_id
        FROM customers c
        WHERE c.tenant_id = i.tenant_id AND c.id = i.customer_id AND c.test_clock_id IS NOT NULL
    """)
    op.execute("""
        UPDATE test_clocks t SET next_invoice_number = m.last + 1
        FROM (SELECT tenant_id, test_clock_id, max(number) AS last FROM invoices
              WHERE test_clock_id IS NOT NULL GROUP BY tenant_id, test_clock_id) m
        WHERE t.tenant_id = m.tenant_id AND t.id = m.test_clock_id
    """)
    op.create_foreign_key(op.f('fk_invoices_tenant_id_test_clock_id_test_clocks'), 'invoices', 'test_clocks',
                          ['tenant_id', 'test_clock_id'], ['tenant_id', 'id'])
    op.drop_constraint(op.f('uq_invoices_tenant_id_number'), 'invoices', type_='unique')
    op.create_index('uq_invoices_number', 'invoices', ['tenant_id', 'number'], unique=True,
                    postgresql_where=sa.text('test_clock_id IS NULL'))
    op.create_index('uq_invoices_test_clock_number', 'invoices', ['tenant_id', 'test_clock_id', 'number'], unique=True,
                    postgresql_where=sa.text('test_clock_id IS NOT NULL'))
    # Deleting a clock finds its customers and subscriptions by clock.
    op.create_index(op.f('ix_customers_tenant_id_test_clock_id'), 'customers', ['tenant_id', 'test_clock_id'],
                    unique=False, postgresql_where=sa.text('test_clock_id IS NOT NULL'))

    # Tenant names: trimmed, not empty, unique regardless of case. Existing rows are made to
    # fit: an empty name becomes the tenant's id; a duplicate (after the oldest) gets its id
    # as a suffix, "acme (ten_...)", which no other tenant can hold.
    op.execute("UPDATE tenants SET name = btrim(name) WHERE name <> btrim(name)")
    op.execute("UPDATE tenants SET name = id WHERE name = ''")
    op.execute("""
        UPDATE tenants t SET name = t.name || ' (' || t.id || ')'
        FROM (SELECT id, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS n FROM tenants) d
        WHERE d.id = t.id AND d.n > 1
    """)
    op.create_check_constraint(op.f('ck_tenants_name_trimmed'), 'tenants', "name = btrim(name) AND name <> ''")
    op.create_index('uq_tenants_name', 'tenants', [sa.text('lower(name)')], unique=True)


def downgrade() -> None:
    # Renamed duplicate tenants keep their new names.
    op.drop_index('uq_tenants_name', table_name='tenants')
    op.drop_constraint(op.f('ck_tenants_name_trimmed'), 'tenants', type_='check')
    op.drop_index(op.f('ix_customers_tenant_id_test_clock_id'), table_name='customers',
                  postgresql_where=sa.text('test_clock_id IS NOT NULL'))
    op.drop_index('uq_invoices_test_clock_number', table_name='invoices',
                  postgresql_where=sa.text('test_clock_id IS NOT NULL'))
    op.drop_index('uq_invoices_number', table_name='invoices', postgresql_where=sa.text('test_clock_id IS NULL'))
    op.drop_constraint(op.f('fk_invoices_tenant_id_test_clock_id_test_clocks'), 'invoices', type_='foreignkey')
    # One sequence per tenant again: simulated invoices are renumbered after the real ones,
    # so the restored unique (tenant, number) holds.
    op.execute("""
        UPDATE invoices i SET number = r.last + s.n
        FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY test_clock_id, number) AS n
              FROM invoices WHERE test_clock_id IS NOT NULL) s,
             (SELECT t.id AS tenant_id, t.next_invoice_number - 1 AS last FROM tenants t) r
        WHERE i.tenant_id = s.tenant_id AND i.id = s.id AND r.tenant_id = s.tenant_id
    """)
    op.execute("""
        UPDATE tenants t SET next_invoice_number = m.last + 1
        FROM (SELECT tenant_id, max(number) AS last FROM invoices GROUP BY tenant_id) m
        WHERE m.tenant_id = t.id AND m.last + 1 > t.next_invoice_number
    """)
    op.create_unique_constraint(op.f('uq_invoices_tenant_id_number'), 'invoices', ['tenant_id', 'number'])
    op.drop_column('invoices', 'test_clock_id')
    op.drop_constraint(op.f('ck_test_clocks_next_invoice_number_positive'), 'test_clocks', type_='check')
    op.drop_column('test_clocks', 'next_invoice_number')
