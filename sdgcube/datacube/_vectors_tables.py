"""The two tables of the vector store, in sdgcube's own schema beside ODC's.

Plain PostgreSQL types only (JSONB, float bounds), so the store works on the embedded server that
has no PostGIS: bbox columns make the coarse filter, shapely makes the exact test.
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["SCHEMA", "ensure_tables", "features", "layers", "lock_layer", "metadata"]

SCHEMA = "sdgcube"
# Any constant will do: it only has to differ from the keys other code locks on.
_DDL_LOCK = 0x5D6C0BE

metadata = sa.MetaData(schema=SCHEMA)

layers = sa.Table(
    "vector_layers",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("title", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column(
        "crs",
        sa.Text,
        nullable=False,
        comment="CRS of the source; geometries are stored in EPSG:4326",
    ),
    sa.Column("minx", sa.Float, nullable=False),
    sa.Column("miny", sa.Float, nullable=False),
    sa.Column("maxx", sa.Float, nullable=False),
    sa.Column("maxy", sa.Float, nullable=False),
    sa.Column("id_field", sa.Text),
    # JSON, not JSONB: JSONB reorders keys, and the fields keep the source's column order.
    sa.Column("fields", sa.JSON, nullable=False, comment="property name -> JSON Schema type"),
    sa.Column("feature_count", sa.Integer, nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
)

features = sa.Table(
    "vector_features",
    metadata,
    sa.Column("layer", sa.Text, sa.ForeignKey(layers.c.name, ondelete="CASCADE"), primary_key=True),
    sa.Column("fid", sa.Text, primary_key=True),
    sa.Column("ordinal", sa.Integer, nullable=False, comment="source order: the default sort"),
    sa.Column("geometry", sa.Text, nullable=False, comment="GeoJSON geometry in EPSG:4326"),
    sa.Column("minx", sa.Float, nullable=False),
    sa.Column("miny", sa.Float, nullable=False),
    sa.Column("maxx", sa.Float, nullable=False),
    sa.Column("maxy", sa.Float, nullable=False),
    sa.Column("properties", JSONB, nullable=False),
    sa.Index("vector_features_bbox", "layer", "minx", "maxx", "miny", "maxy"),
    sa.Index("vector_features_order", "layer", "ordinal"),
)

_ready: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def ensure_tables(engine: sa.Engine) -> None:
    """Create the schema and tables if missing, once per engine.

    A transaction-scoped advisory lock keeps two processes starting together from racing on the
    catalog (``CREATE TABLE IF NOT EXISTS`` alone is not safe under concurrency)."""
    if engine in _ready:
        return
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_DDL_LOCK)))
        conn.execute(sa.schema.CreateSchema(SCHEMA, if_not_exists=True))
        metadata.create_all(conn, checkfirst=True)
    _ready.add(engine)


def lock_layer(conn: sa.Connection, name: str) -> None:
    """Serialise writers of one layer until the transaction ends; readers are not blocked."""
    conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"sdgcube.vectors/{name}")))
    )
