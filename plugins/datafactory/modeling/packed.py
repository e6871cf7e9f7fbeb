"""A table that comes compressed, as public data portals and data-sharing platforms serve it: one gzip
(`loans.csv.gz`) or a zip holding one table (`LoanStats.zip`). It is unpacked into a temporary folder
and read as the file inside; every other file is read where it lies. Standard library only: the
CLI's input check and the trainer unpack the same way before any heavy import."""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from datafactory.modeling.file_kind import ACCEPTED, PARQUET_SUFFIXES, TEXT_SUFFIXES, WORKBOOK_SUFFIXES

PACKED_SUFFIXES = (".gz", ".zip")
_TABLE_SUFFIXES = TEXT_SUFFIXES + WORKBOOK_SUFFIXES + PARQUET_SUFFIXES
_GZIP = b"\x1f\x8b"


def table_stem(path: Path) -> str:
    """The table's name without its suffixes: `loans` for `loans.csv.gz` as for `loans.csv`."""
    name = Path(path.stem) if path.suffix.lower() in PACKED_SUFFIXES else path
    return name.stem if name.suffix.lower() in _TABLE_SUFFIXES else name.name


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
    """The path of the table to read: the file itself, or the one table inside a .gz or .zip, written
    to a temporary folder removed afterwards."""
    suffix = path.suffix.lower()
    if suffix not in PACKED_SUFFIXES or not path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="datafactory-unpacked-") as folder:
        yield _gunzip(path, Path(folder)) if suffix == ".gz" else _unzip(path, Path(folder))


def _gunzip(path: Path, folder: Path) -> Path:
    with path.open("rb") as handle:
        if handle.read(2) != _GZIP:
            raise ValueError(f"{path.name}: named .gz but not gzip-compressed; give {ACCEPTED}")
    inner = folder / path.stem
    if inner.suffix.lower() not in _TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: the file inside would be '{inner.name}'; name it like 'table.csv.gz'")
    try:
        with gzip.open(path, "rb") as packed, inner.open("wb") as out:
            shutil.copyfileobj(packed, out, 1 << 20)
    except (OSError, EOFError, zlib.error) as exc:  # cut short or damaged on the way
        raise ValueError(f"{path.name}: the gzip data is damaged or incomplete ({exc}); download it again") from exc
    return inner


def _unzip(path: Path, folder: Path) -> Path:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path.name}: not a readable zip archive; download it again, or unzip it yourself") from exc
    with archive:
        tables = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and "__MACOSX" not in PurePosixPath(info.filename).parts
            and not PurePosixPath(info.filename).name.startswith(".")  # .DS_Store, a Mac's ._ forks
            and PurePosixPath(info.filename).suffix.lower() in _TABLE_SUFFIXES
        ]
        if len(tables) != 1:
            found = ", ".join(PurePosixPath(i.filename).name for i in tables[:6]) or "none"
            raise ValueError(
                f"{path.name}: holds {len(tables)} tables ({found}); the trainer reads a zip holding one: "
                "unzip it and give the table to train on"
            )
        inner = folder / PurePosixPath(tables[0].filename).name
        try:
            with archive.open(tables[0]) as packed, inner.open("wb") as out:
                shutil.copyfileobj(packed, out, 1 << 20)
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, zlib.error) as exc:  # damaged or encrypted
            raise ValueError(f"{path.name}: cannot unpack {inner.name} ({exc}); unzip it yourself") from exc
    return inner
