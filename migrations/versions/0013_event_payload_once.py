"""events: an object's payload stored once for all its events of one write (a renewed
invoice's created/finalized/paid share one `data`; the others name the event holding it)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 02:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('events', sa.Column('data_event', sa.String(length=40), nullable=True))
    op.alter_column('events', 'data', nullable=True)
    op.create_check_constraint(op.f('ck_events_data_once'), 'events', '(data IS NULL) <> (data_event IS NULL)')


def downgrade() -> None:
    op.execute(
        'UPDATE events e SET data = h.data, data_event = NULL FROM events h '
        'WHERE e.data_event IS NOT NULL AND h.tenant_id = e.tenant_id AND h.id = e.data_event'
    )
    op.drop_constraint(op.f('ck_events_data_once'), 'events', type_='check')
    op.alter_column('events', 'data', nullable=False)
    op.drop_column('events', 'data_event')
