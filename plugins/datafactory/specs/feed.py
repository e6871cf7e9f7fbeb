"""The feed spec (`sources/<feed>.yaml`): where a feed comes from, its keys, how each column's text
becomes a value, and which fields are personal. Typed, so a mistake is found when the spec loads,
not deep inside a pull."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from datafactory.specs.base import Strict

Kind = Literal["string", "int", "float", "date", "timestamp", "bool"]
Channel = Literal["exchange_db", "api", "files"]
PiiAction = Literal["pseudonymize", "encrypt", "pseudonymize_and_encrypt"]
PiiCheck = Literal["resident_id", "mobile"]


class ColumnSpec(Strict):
    """How one column's delivered text becomes a value. Written `column: kind` for the defaults, or as a
    mapping with the declarations below. Each value is read on its own, never by the shape of other rows:
    a value that matches no declared form is quarantined with a reason naming the column and the forms."""

    kind: Kind
    # date/timestamp: accepted forms, tried in order per value; default ["iso"]. strptime patterns
    # ("%Y/%m/%d", "%Y年%m月%d日"; %Y %m %d %H %M %S %f %z) or named forms: "iso", "excel_serial",
    # "epoch_s", "epoch_ms". Two forms that would read one text differently are rejected.
    formats: tuple[str, ...] = ()
    # int/float: the unit the column holds; bare numbers are in it (unless bare_unit says otherwise).
    unit: str | None = None
    # int/float: the unit bare numbers are delivered in, when it differs from `unit` (converted to it).
    bare_unit: str | None = None
    # int/float: unit suffixes accepted on a value ("3.5万元"), each converted to `unit`.
    accept_units: tuple[str, ...] = ()
    # bool: the words read as true and as false (compared after NFKC, ignoring case).
    true_values: tuple[str, ...] = ("true", "1")
    false_values: tuple[str, ...] = ("false", "0")
    # Unicode NFKC before parsing: "nfkc" or "none"; unset means NFKC for every kind but string.
    normalize: Literal["nfkc", "none"] | None = None
    # string: letter case after normalization (identifiers and codes are upper case).
    case: Literal["upper", "lower"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _declarations_fit_kind(self) -> ColumnSpec:
        from datafactory.quality import forms

        temporal, numeric = self.kind in ("date", "timestamp"), self.kind in ("int", "float")
        if self.formats and not temporal:
            raise ValueError(f"formats: only a date or timestamp has formats, not a {self.kind}")
        if temporal:
            if len(set(self.formats)) < len(self.formats):
                raise ValueError(f"formats: {list(self.formats)} repeats a format")
            try:
                compiled = [forms.compile_format(self.kind, f) for f in self.formats]
            except ValueError as exc:
                raise ValueError(f"formats: {exc}") from None
            pair = forms.ambiguous_pair(compiled)
            if pair:
                raise ValueError(f"formats: {pair[0]!r} and {pair[1]!r} read the same text as different {self.kind}s")
        units = [u for u in (self.unit, self.bare_unit, *self.accept_units) if u is not None]
        if units and not numeric:
            raise ValueError(f"unit: only an int or float has units, not a {self.kind}")
        if (self.bare_unit or self.accept_units) and self.unit is None:
            raise ValueError("unit: declare the column's unit before bare_unit or accept_units")
        families = set()
        for unit in units:
            folded = forms.fold(unit)
            if folded in forms.UNITS:
                families.add(forms.UNITS[folded][0])
            elif folded not in forms.MULTIPLIERS or unit in (self.unit, self.bare_unit):
                known = ", ".join([*forms.UNITS, *forms.MULTIPLIERS])
                raise ValueError(f"unit: unknown unit {unit!r} (known: {known})")
        if len(families) > 1:
            raise ValueError(f"unit: {units} mix {' and '.join(sorted(families))}")
        defaults = (ColumnSpec.model_fields["true_values"].default, ColumnSpec.model_fields["false_values"].default)
        if self.kind != "bool" and (self.true_values, self.false_values) != defaults:  # a dump's defaults pass
            raise ValueError(f"true_values: only a bool has true/false words, not a {self.kind}")
        words_true = {forms.fold(w) for w in self.true_values}
        words_false = {forms.fold(w) for w in self.false_values}
        if not words_true or not words_false or words_true & words_false:
            raise ValueError("true_values: true and false words must be given and differ")
        if self.case and self.kind != "string":
            raise ValueError(f"case: only a string has a letter case, not a {self.kind}")
        return self

    @property
    def forms(self) -> tuple[str, ...]:
        """The date/timestamp forms in force: the declared ones, or ISO 8601."""
        return self.formats or ("iso",)


class PiiRule(Strict):
    """A personal field: what ingest does to it, and the identifier check it gets on the raw value."""

    action: PiiAction
    validate_as: PiiCheck | None = Field(default=None, alias="validate")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"action": value} if isinstance(value, str) else value


class ExchangeOptions(Strict):
    """An exchange-DB feed has no options of its own (the table is the spec's `table`); any key is an error."""


# More connections than this is no licence limit worth declaring, and one pull's threads would crowd its worker.
MAX_CONNECTIONS = 32


class ApiOptions(Strict):
    dataset: str | None = None  # the platform's dataset name; the feed's table when unset
    page_size: Annotated[int, Field(gt=0)] | None = None
    # Pages in flight at once while pulling this feed; the pull holds this many of its platform's
    # connections (at most `platform.connections`). 1 walks the pages one by one.
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONNECTIONS)] = 1


class FileOptions(Strict):
    format: Literal["csv", "xlsx"] = "csv"
    encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] = "utf-8"
    pattern: str = "*"  # file names taken by this feed (matched without regard to case)
    folder: str | None = None  # the feed's folder in the landing area; the feed's name when unset
    control_file: bool = False  # each data file comes with `<file>.ok` (rows, bytes, sha256)
    require_final_newline: bool = True
    parts: Annotated[int, Field(ge=1)] = 1  # files per delivery (the simulator's shape of the drop)
    # CSV field separator: "," ";" "\t" or "|".
    delimiter: Literal[",", ";", "\t", "|"] = ","
    # Line (row in XLSX) holding the header; the lines above it are titles ("2026年10月用电量明细"), not data.
    header_row: Annotated[int, Field(ge=1, le=20)] = 1
    # A GBK feed also takes files that are wholly valid UTF-8 (read as UTF-8); otherwise they are quarantined.
    accept_utf8: bool = False
    # Data lines end with one extra delimiter even where the header does not; its (empty) field is dropped.
    trailing_delimiter: bool = False


_OPTIONS: dict[str, type[Strict]] = {"exchange_db": ExchangeOptions, "api": ApiOptions, "files": FileOptions}


class Platform(Strict):
    """The upstream system a feed is pulled from, and how many connections its licence allows at once
    (a data-sharing platform grants N concurrent connections per licensee). Feeds naming one platform
    share its limit: under Celery it is the slots of the platform's Airflow pool, and each pull takes
    as many slots as it opens connections."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)]
    connections: Annotated[int, Field(ge=1, le=MAX_CONNECTIONS)]

    @property
    def pool(self) -> str:
        return f"platform_{self.name}"


# The platform of a feed that names none: one per channel (one exchange database, one sharing
# platform behind DATAFACTORY_API_URL, one landing area).
DEFAULT_PLATFORMS = {
    "exchange_db": Platform(name="exchange_db", connections=4),
    "api": Platform(name="sharing_platform", connections=4),
    "files": Platform(name="landing", connections=4),
}


class SourceSpec(Strict):
    name: str
    description: str = ""
    channel: Channel
    table: str
    keys: Annotated[list[str], Field(min_length=1)]
    watermark_column: str
    columns: Annotated[dict[str, ColumnSpec], Field(min_length=1)]
    pii: dict[str, PiiRule] = Field(default_factory=dict)
    schedule: str = "@daily"
    suite: str = ""  # the GE suite in expectations/; the feed's name when unset
    renames: dict[str, str] = Field(default_factory=dict)  # known upstream name -> spec column name
    options: ExchangeOptions | ApiOptions | FileOptions = Field(default_factory=ExchangeOptions)
    # The system the feed is pulled from and its connection limit; unset, the channel's default (filled in
    # before validation, so this factory only serves a spec whose channel is already an error).
    platform: Platform = Field(default_factory=lambda: DEFAULT_PLATFORMS["exchange_db"])
    # Re-read this far behind the watermark to catch late rows.
    watermark_lookback_hours: Annotated[float, Field(ge=0)] = 6.0
    # ± share of the previous incremental run's rows before the volume check warns.
    row_count_tolerance: Annotated[float, Field(gt=0)] = 0.5
    # A large feed with no region or month: conform it in this many buckets of its key.
    key_buckets: Annotated[int, Field(ge=0)] = 0
    # Whether a day with no rows is normal for this feed (penalties, incidents) or stops the chain.
    empty_day: Literal["normal", "critical"] = "critical"
    # The share of a run's rows this feed may quarantine before reviewers should look (a report threshold).
    quarantine_budget: Annotated[float, Field(gt=0, le=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _typed_options(cls, value: Any) -> Any:
        """Options are checked against the channel's own model, so a file option on an API feed is an error."""
        if not isinstance(value, dict):
            return value
        model = _OPTIONS.get(value.get("channel"))  # type: ignore[arg-type]
        options = value.get("options")
        if model is not None and (options is None or isinstance(options, dict)):
            value = {**value, "options": model.model_validate(options or {})}
        if value.get("platform") is None and value.get("channel") in DEFAULT_PLATFORMS:
            value = {**value, "platform": DEFAULT_PLATFORMS[value["channel"]]}
        return {**value, "suite": value.get("suite") or value.get("name", "")}

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        declared = set(self.columns)
        for column in [*self.keys, self.watermark_column]:
            if column not in declared:
                raise ValueError(f"key or watermark column {column!r} is not declared under columns")
        for column in self.pii:
            if column not in declared:
                raise ValueError(f"pii: {column!r} is not declared under columns")
            if column in self.keys or column == self.watermark_column:
                raise ValueError(f"pii: {column!r}: keys and the watermark cannot be personal")
        for old, new in self.renames.items():
            if new not in declared:
                raise ValueError(f"renames: {old!r} maps to {new!r}, which is not declared under columns")
        if self.columns[self.watermark_column].kind not in ("timestamp", "date"):
            raise ValueError(f"watermark column {self.watermark_column!r} must be a timestamp or date")
        if self.pull_connections > self.platform.connections:
            raise ValueError(
                f"options.concurrency: {self.pull_connections} exceeds the {self.platform.connections} "
                f"connection(s) platform {self.platform.name!r} allows"
            )
        return self

    @property
    def pull_connections(self) -> int:
        """Connections one pull of this feed opens at most (its slots in the platform's pool)."""
        return self.options.concurrency if isinstance(self.options, ApiOptions) else 1

    def revised(self, **changes: Any) -> SourceSpec:
        """A copy with some fields changed, validated again (options follow a changed channel)."""
        data = self.model_dump(by_alias=True, exclude_unset=True)
        if "channel" in changes:  # another channel reaches another system
            for follows in ("options", "platform"):
                if follows not in changes:
                    data.pop(follows, None)
        return SourceSpec.model_validate({**data, **changes})

    @property
    def landed_columns(self) -> dict[str, ColumnSpec]:
        """The columns as the raw zone holds them: personal fields were normalized as declared, then
        pseudonymized or encrypted at ingest, so they are read back as plain text (never re-cased)."""
        plain = ColumnSpec(kind="string", normalize="none")
        return {name: plain if name in self.pii else column for name, column in self.columns.items()}

    @property
    def kinds(self) -> dict[str, str]:
        """Column name -> kind, for code that needs only the kind."""
        return {name: column.kind for name, column in self.columns.items()}


class PlatformConflictError(ValueError):
    """Two feeds of one platform declare different connection limits; `feed` is the later one."""

    def __init__(self, message: str, feed: str) -> None:
        super().__init__(message)
        self.feed = feed


def platforms(specs: Iterable[SourceSpec]) -> dict[str, Platform]:
    """Each platform the feeds are pulled from, by name. Feeds naming one platform must declare the same
    connection limit (it is one licence): a disagreement is a PlatformConflictError naming the feeds."""
    found: dict[str, Platform] = {}
    declared_by: dict[str, str] = {}
    for spec in specs:
        known = found.setdefault(spec.platform.name, spec.platform)
        declared_by.setdefault(spec.platform.name, spec.name)
        if known != spec.platform:
            raise PlatformConflictError(
                f"platform {spec.platform.name!r}: {spec.name} declares {spec.platform.connections} connection(s), "
                f"{declared_by[spec.platform.name]} declares {known.connections}",
                spec.name,
            )
    return found
