"""Front-end exchange database channel: incremental SQL reads through SQLAlchemy."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from datafactory.specs import SourceSpec


def read_increment(engine: sa.Engine, spec: SourceSpec, lower: datetime | None, upper: datetime) -> pd.DataFrame:
    table = sa.Table(spec.table, sa.MetaData(), autoload_with=engine)
    wm = table.c[spec.watermark_column]
    query = sa.select(table).where(wm < upper).order_by(wm)
    if lower is not None:
        query = query.where(wm > lower)
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
