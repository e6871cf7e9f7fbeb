"""Front-end exchange database channel: incremental SQL reads through SQLAlchemy (SQLite, Postgres, ...)."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from datafactory.sources.channels import ChannelError, Delivery, SchemaDriftError, Unit, Window, upstream_name
from datafactory.sources.drift import Drift, align
from datafactory.sources.retry import Backoff, RetriesExhaustedError, with_retries
from datafactory.specs import SourceSpec

# Dropped connections, lock timeouts, failovers: worth another attempt. Missing tables are not.
_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


class ExchangeDbChannel:
    name = "exchange_db"

    def __init__(self, engine: sa.Engine, backoff: Backoff | None = None):
        self.engine = engine
        self.backoff = backoff or Backoff(attempts=4, base_s=0.5)

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery:
        try:
            frame = with_retries(lambda: self._read(spec, window), self.backoff, retry_on=_TRANSIENT)
        except sa.exc.NoSuchTableError as exc:
            raise ChannelError(f"table {spec.table} does not exist in the exchange database") from exc
        except (RetriesExhaustedError, sa.exc.SQLAlchemyError) as exc:
            raise ChannelError(f"exchange database read failed: {exc}") from exc
        frame, drift = align(frame, spec)
        if drift.blocking:
            raise SchemaDriftError(f"schema drift in table {spec.table}: {drift.summary(spec.name)}", drift)
        size = int(frame.memory_usage(deep=True).sum())
        return Delivery(units=[Unit(spec.table, frame)], drift=drift, bytes=size)

    def _read(self, spec: SourceSpec, window: Window) -> pd.DataFrame:
        table = sa.Table(spec.table, sa.MetaData(), autoload_with=self.engine)
        mark = upstream_name(spec, spec.watermark_column)
        if mark not in table.c:
            missing = Drift(missing=[spec.watermark_column], extra=sorted(c.name for c in table.c))
            raise SchemaDriftError(f"table {spec.table} has no watermark column {mark!r}", missing)
        wm = table.c[mark]
        query = sa.select(table).where(wm < window.upper).order_by(wm)
        if window.lower is not None:
            query = query.where(wm > window.lower)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)
