"""Renders the file drops upstream providers send: CSV in GBK or UTF-8 with BOM, XLSX, control files.

Providers behave like real ones: the housing bureau exports XLSX with Chinese headers (and renames
one of them partway through), the grid company sends one GBK CSV per district with a control file,
and files can arrive truncated (then re-sent whole next day), twice, or a day late.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from datafactory.sources.channels.files import CONTROL_SUFFIX, sha256
from datafactory.specs import FileOptions

# Headers a provider uses instead of the spec's column names (the spec maps them under `renames:`).
PROVIDER_HEADERS: dict[str, dict[str, str]] = {
    "bld_buildings": {
        "building_id": "建筑编号",
        "building_type": "建筑类型",
        "floor_area": "建筑面积",
        "year_built": "建成年份",
        "region_code": "行政区划",
        "updated_at": "更新时间",
    },
}
# From this day on the housing bureau's export names the area column with its unit.
HEADER_CHANGES: dict[str, tuple[int, dict[str, str]]] = {"bld_buildings": (3, {"floor_area": "建筑面积(平方米)"})}


@dataclass(frozen=True)
class FileFaults:
    late: float = 0.15  # a part of a multi-part delivery arrives with the next day's files
    truncated: float = 0.10  # a part arrives cut short; the whole file is re-sent next day
    duplicate: float = 0.08  # a file is sent twice under two names


NO_FAULTS = FileFaults(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Drop:
    name: str
    data: bytes
    control: bytes | None = None


@dataclass
class DayDrops:
    today: list[Drop]
    tomorrow: list[Drop]  # late parts and whole re-sends of truncated ones


def headers(feed: str, day: int, columns: list[str]) -> list[str]:
    names = dict(PROVIDER_HEADERS.get(feed, {}))
    change_day, change = HEADER_CHANGES.get(feed, (None, {}))
    if change_day is not None and day >= change_day:
        names.update(change)
    return [names.get(c, c) for c in columns]


def render_csv(frame: pd.DataFrame, header: list[str], encoding: str) -> bytes:
    text = frame.to_csv(index=False, header=header, lineterminator="\n", date_format="%Y-%m-%d %H:%M:%S")
    if encoding == "utf-8-sig":
        return text.encode("utf-8-sig")
    return text.encode(encoding)


def render_xlsx(frame: pd.DataFrame, header: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(header)
    for row in frame.itertuples(index=False):
        sheet.append([_cell(v) for v in row])
    book.properties.creator = "simulator"
    book.properties.created = dt.datetime(2026, 1, 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def control_file(data: bytes, rows: int) -> bytes:
    return json.dumps({"rows": rows, "bytes": len(data), "sha256": sha256(data)}).encode()


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    cut = int(len(data) * rng.uniform(0.55, 0.85))
    while cut > 1 and data[cut - 1 : cut] == b"\n":  # a cut right after a line break would look complete
        cut -= 1
    return data[:cut]


def feed_drops(
    feed: str, frame: pd.DataFrame, options: FileOptions, day: int, when: date, seed: int, faults: FileFaults
):
    """The files one feed sends for one day, with faults decided per part by (seed, day, feed, part)."""
    fmt = options.format
    folder = options.folder or feed
    count = options.parts
    chunks = np.array_split(np.arange(len(frame)), count) if count > 1 else [np.arange(len(frame))]
    parts = [(f"part{i + 1}" if count > 1 else "", frame.iloc[rows]) for i, rows in enumerate(chunks) if len(rows)]
    largest = max(range(len(parts)), key=lambda i: len(parts[i][1])) if parts else -1
    drops = DayDrops([], [])
    for i, (label, part) in enumerate(parts):
        rng = np.random.default_rng([seed, 40, day, zlib.crc32(feed.encode()), i])
        suffix = f"_{label}" if label else ""
        name = f"{folder}/{feed}_{when:%Y%m%d}{suffix}.{fmt}"
        header = headers(feed, day, list(part.columns))
        data = render_xlsx(part, header) if fmt == "xlsx" else render_csv(part, header, options.encoding)
        control = control_file(data, len(part)) if options.control_file else None
        whole = Drop(name, data, control)
        # Only a part that is not the day's largest may go missing, so every feed still lands rows.
        spare = len(parts) > 1 and i != largest
        roll = rng.random()
        if spare and roll < faults.late:
            drops.tomorrow.append(whole)
        elif spare and roll < faults.late + faults.truncated:
            drops.today.append(Drop(name, truncate(data, rng), control))
            drops.tomorrow.append(whole)
        else:
            drops.today.append(whole)
        if rng.random() < faults.duplicate:
            stem, ext = name.rsplit(".", 1)
            drops.today.append(Drop(f"{stem}_resend.{ext}", data, control))
    return drops


def write_drops(landing, drops: list[Drop]) -> None:
    """Data first, control file last: a reader that sees the control file sees the whole data file."""
    for drop in drops:
        landing.write(drop.name, drop.data)
        if drop.control is not None:
            landing.write(drop.name + CONTROL_SUFFIX, drop.control)
