"""event gaps: notices emitted once per object (trial_will_end, payment_overdue), trialing
subscriptions by trial end, no foreign key from events to tenants (cheaper event writes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_notices',
        sa.Column('tenant_id', sa.String(length=40), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'type', 'object_id', name=op.f('pk_event_notices')),
    )
    # The outbox is append-only and written by tenant-scoped actions: its foreign key to
    # tenants cost a key-share lock and a lookup per event (a quarter of a renewal batch's
    # event write).
    op.drop_constraint('fk_events_tenant_id_tenants', 'events', type_='foreignkey')
    op.create_index('ix_subscriptions_trialing', 'subscriptions', ['trial_end'], unique=False,
                    postgresql_where=sa.text("status = 'trialing'"))


def downgrade() -> None:
    op.drop_index('ix_subscriptions_trialing', table_name='subscriptions')
    op.drop_table('event_notices')
    op.create_foreign_key('fk_events_tenant_id_tenants', 'events', 'tenants', ['tenant_id'], ['id'])
