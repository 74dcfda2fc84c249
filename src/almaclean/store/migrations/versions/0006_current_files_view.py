"""current_files: the one definition of which stored file is current. Per institution, kind and
scope, the file ingested last (highest current_order; a file ingested again after a newer one
is current again). Every query that needs current files reads this view.

Revision ID: 0006
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE VIEW current_files AS
        SELECT sf.id, sf.institution_code, sf.kind, sf.scope
        FROM source_files sf
        WHERE sf.id = (
            SELECT newer.id
            FROM source_files newer
            WHERE newer.institution_code = sf.institution_code
              AND newer.kind = sf.kind
              AND newer.scope = sf.scope
            ORDER BY newer.current_order DESC, newer.id DESC
            LIMIT 1
        )
    """)


def downgrade() -> None:
    op.execute("DROP VIEW current_files")
