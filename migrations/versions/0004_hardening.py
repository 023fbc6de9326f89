"""hardening: asynchronous test-clock advances, API key lifecycle, days_until_due 30

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('test_clocks', sa.Column('status', sa.String(length=16), server_default=sa.text("'ready'"), nullable=False))
    op.add_column('test_clocks', sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_test_clocks_status_known'), 'test_clocks', "status IN ('ready', 'advancing')")
    op.create_index('ix_test_clocks_advancing', 'test_clocks', ['lease_until'], unique=False,
                    postgresql_where=sa.text("status = 'advancing'"))

    op.add_column('api_keys', sa.Column('name', sa.Text(), nullable=True))
    op.add_column('api_keys', sa.Column('scope', sa.String(length=8), server_default=sa.text("'write'"), nullable=False))
    op.add_column('api_keys', sa.Column('bootstrap', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('api_keys', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_api_keys_scope_known'), 'api_keys', "scope IN ('read', 'write')")
    op.create_index(op.f('ix_api_keys_tenant_id_id'), 'api_keys', ['tenant_id', 'id'], unique=False)
    # Existing keys were all made by `tenant create` or the bootstrap setting; the bootstrap
    # one is the default tenant's oldest key made before this revision, if any.
    op.execute("""
        UPDATE api_keys SET bootstrap = true
        WHERE (tenant_id, id) IN (
            SELECT k.tenant_id, k.id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE t.name = 'default' ORDER BY k.created_at LIMIT 1)
    """)

    op.alter_column('tenants', 'days_until_due', server_default=sa.text('30'))


def downgrade() -> None:
    op.alter_column('tenants', 'days_until_due', server_default=sa.text('0'))
    op.drop_index(op.f('ix_api_keys_tenant_id_id'), table_name='api_keys')
    op.drop_constraint(op.f('ck_api_keys_scope_known'), 'api_keys', type_='check')
    op.drop_column('api_keys', 'expires_at')
    op.drop_column('api_keys', 'bootstrap')
    op.drop_column('api_keys', 'scope')
    op.drop_column('api_keys', 'name')
    op.drop_index('ix_test_clocks_advancing', table_name='test_clocks', postgresql_where=sa.text("status = 'advancing'"))
    op.drop_constraint(op.f('ck_test_clocks_status_known'), 'test_clocks', type_='check')
    op.drop_column('test_clocks', 'lease_until')
    op.drop_column('test_clocks', 'status')
