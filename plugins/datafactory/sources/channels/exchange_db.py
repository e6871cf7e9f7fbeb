"""Front-end exchange database channel: incremental SQL reads through SQLAlchemy (SQLite, Postgres, ...)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa

from datafactory.sources.channels import ChannelError, Delivery, SchemaDriftError, Unit, Window, upstream_name
from datafactory.sources.drift import Drift, align
from datafactory.sources.retry import Backoff, RetriesExhaustedError, with_retries
from datafactory.specs import SourceSpec

# Dropped connections, lock timeouts, failovers: worth another attempt. Missing tables are not.
_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
_DRIFT_SAMPLE_ROWS = 10_000


class ExchangeDbChannel:
    name = "exchange_db"

    def __init__(self, engine: sa.Engine, backoff: Backoff | None = None):
        self.engine = engine
        self.backoff = backoff or Backoff(attempts=4, base_s=0.5)

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery:
        """One unit: the window's rows, read in batches as it is consumed. Drift is decided up front from
        the table's columns. Reaching the database is retried; a failure mid-read fails the pull whole
        (nothing is landed), and the task's own retry reads again."""
        try:
            table = with_retries(lambda: self._reflect(spec), self.backoff, retry_on=_TRANSIENT)
        except sa.exc.NoSuchTableError as exc:
            raise ChannelError(f"table {spec.table} does not exist in the exchange database") from exc
        except (RetriesExhaustedError, sa.exc.SQLAlchemyError) as exc:
            raise ChannelError(f"exchange database read failed: {exc}") from exc
        mark = upstream_name(spec, spec.watermark_column)
        if mark not in table.c:
            missing = Drift(missing=[spec.watermark_column], extra=sorted(c.name for c in table.c))
            raise SchemaDriftError(f"table {spec.table} has no watermark column {mark!r}", missing)
        query = self._query(table, mark, window)
        _, drift = align(self._sample(query), spec)
        if drift.blocking:
            raise SchemaDriftError(f"schema drift in table {spec.table}: {drift.summary(spec.name)}", drift)
        delivery = Delivery(drift=drift)

        def read(rows: int) -> Iterator[pd.DataFrame]:
            try:
                with self.engine.connect() as conn:
                    for chunk in pd.read_sql(query, conn, chunksize=rows):
                        delivery.bytes += int(chunk.memory_usage(deep=True).sum())
                        yield align(chunk, spec)[0]
            except sa.exc.SQLAlchemyError as exc:
                raise ChannelError(f"exchange database read failed: {exc}") from exc

        delivery.units = [Unit(spec.table, reader=read)]
        return delivery

    def _reflect(self, spec: SourceSpec) -> sa.Table:
        return sa.Table(spec.table, sa.MetaData(), autoload_with=self.engine)

    @staticmethod
    def _query(table: sa.Table, mark: str, window: Window) -> sa.Select:
        wm = table.c[mark]
        query = sa.select(table).where(wm < window.upper).order_by(wm)
        return query if window.lower is None else query.where(wm > window.lower)

    def _sample(self, query: sa.Select) -> pd.DataFrame:
        """The first rows of the window, for drift: what the values read as, not only the names."""
        try:
            with self.engine.connect() as conn:
                return with_retries(
                    lambda: pd.read_sql(query.limit(_DRIFT_SAMPLE_ROWS), conn), self.backoff, retry_on=_TRANSIENT
                )
        except (RetriesExhaustedError, sa.exc.SQLAlchemyError) as exc:
            raise ChannelError(f"exchange database read failed: {exc}") from exc
