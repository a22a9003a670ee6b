"""The one configuration file, `footfall.toml`, validated on load.

Its keys are a contract (DESIGN.md, "Configuration"): privacy officers, scripts and
external checks read and write them, so unknown keys are rejected by name rather
than ignored, and every error says which key is wrong and why.

Relative paths in a file are resolved against the file's folder, so a config works
the same from any working directory; with no file they are relative to the working
directory. The CLI's --data and --secrets flags override data_dir and secrets_dir.
Unless secrets_dir is set (or --secrets given), the secrets folder follows the data
folder (`secrets` beside it), not the working folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from footfall.addresses import parse_prefix
from footfall.data_folder import is_uri
from footfall.errors import ConfigError

CONFIG_FILENAME = "footfall.toml"
CONFIG_ENV = "FOOTFALL_CONFIG"

# Store and sensor names become folder names (store=NAME) and Parquet values; always
# checked with fullmatch (a `$` would let a trailing newline through).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64"

_OPENING_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _valid_name(what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what} name ({NAME_RULE} characters)")
        return value

    return AfterValidator(check)


StoreName = Annotated[str, _valid_name("store")]
SensorName = Annotated[str, _valid_name("sensor")]


def _valid_path(value: str) -> str:
    if not value.strip():
        raise ValueError("must name a folder or file, not be empty")
    if "\0" in value:
        raise ValueError("contains a NUL character, which no path can hold")
    return value


PathText = Annotated[str, AfterValidator(_valid_path)]

# Every numeric key is bounded (the ranges are in the README's Configuration section):
# an infinite or astronomically large value must be a one-line error naming the key,
# not an overflow deep inside a command.
Hours = Annotated[float, Field(ge=0, le=168, allow_inf_nan=False)]  # salt grace: at most a week
Minutes = Annotated[float, Field(ge=0, le=1440, allow_inf_nan=False)]  # at most a day
Dbm = Annotated[float, Field(ge=-120, le=0, allow_inf_nan=False)]
DayHours = Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)]
Days = Annotated[StrictInt, Field(ge=0, le=36_500)]  # strict: `false` must not pass as 0 (kept for ever)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivacySettings(_Section):
    epoch: Literal["hour", "day", "week"] = "day"
    salt_grace_hours: Hours = 6
    k: StrictInt = Field(5, ge=1, le=1000)  # strict: `k = true` must not pass as 1 (suppression off)
    optout_file: PathText = "optout.txt"


class RetentionSettings(_Section):
    sightings: Days = 1
    visits: Days = 30
    marts: Days = 0


class VisitSettings(_Section):
    gap_min: Annotated[Minutes, Field(gt=0)] = 15
    min_dwell_min: Minutes = 5
    rssi_threshold_dbm: Dbm = -70
    staff_daily_hours: DayHours = 6


class SensorSettings(_Section):
    rssi_threshold_dbm: Dbm | None = None


class StoreSettings(_Section):
    timezone: str = "UTC"
    opening_hours: str | None = None
    gap_min: Annotated[Minutes, Field(gt=0)] | None = None
    min_dwell_min: Minutes | None = None
    rssi_threshold_dbm: Dbm | None = None
    staff_daily_hours: DayHours | None = None
    equipment: list[str] = Field(default_factory=list)
    sensors: dict[SensorName, SensorSettings] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'Europe/Prague')") from None
        return value

    @field_validator("equipment")
    @classmethod
    def _valid_equipment(cls, value: list[str]) -> list[str]:
        for number, entry in enumerate(value, 1):
            try:
                parse_prefix(entry)
            except ValueError as exc:
                raise ValueError(f"entry {number}: {exc}") from None
        return value

    @field_validator("opening_hours")
    @classmethod
    def _valid_opening_hours(cls, value: str | None) -> str | None:
        if value is not None:
            parse_opening_hours(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CollectorSettings(_Section):
    """A running collector (a stream or a live interface) publishes its open part
    every roll_seconds, or sooner when roll_rows sightings are waiting."""

    roll_seconds: float = Field(60, gt=0, le=86_400, allow_inf_nan=False)
    roll_rows: int = Field(500_000, ge=1, le=10_000_000)


class NoticeSettings(_Section):
    """What GDPR art. 13 asks a notice to say that the system cannot know: who runs it
    and on what legal basis. A key left out is named by `footfall privacy notice`."""

    controller: str | None = None  # who decides on the counting (the shop's legal name)
    contact: str | None = None  # how to reach the controller (an e-mail or postal address)
    dpo: str | None = None  # the data protection officer's name and contact (or that none is appointed)
    legal_basis: str | None = None  # e.g. "legitimate interest (art. 6(1)(f)): counting visits to plan staffing"
    authority: str | None = None  # the supervisory authority a customer may complain to


# A Spark master URL as spark-submit takes it: local, local[N], local[*], local[N,F],
# spark://host:port[,host:port], yarn, k8s://https://host:port, mesos://host:port.
_SPARK_MASTER = re.compile(r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|yarn|(spark|mesos)://\S+|k8s://\S+")


def check_spark_master(value: str) -> str:
    if not _SPARK_MASTER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Spark master URL (local[*], local[N], spark://HOST:PORT, yarn or k8s://HOST:PORT)"
        )
    return value


SparkConfValue = str | int | float | bool


class EngineSettings(_Section):
    """Which engine runs the pipeline's steps: DuckDB on this machine (the default), or
    Apache Spark (`pip install 'footfall[spark]'` and a Java 17 runtime)."""

    name: Literal["duckdb", "spark"] = "duckdb"
    spark_master: Annotated[str, AfterValidator(check_spark_master)] = "local[*]"
    spark_conf: dict[str, SparkConfValue] = Field(default_factory=dict)  # spark.* settings, passed as they are

    @field_validator("spark_conf")
    @classmethod
    def _spark_keys(cls, value: dict[str, SparkConfValue]) -> dict[str, SparkConfValue]:
        for key in value:
            if not key.startswith("spark."):
                raise ValueError(f"{key!r} is not a Spark setting (they start with 'spark.')")
        return value


class FileSettings(_Section):
    """The file's schema: the keys of DESIGN.md's Configuration section, and [collector]."""

    data_dir: PathText = "data"
    secrets_dir: PathText = "secrets"
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    visits: VisitSettings = Field(default_factory=VisitSettings)
    stores: dict[StoreName, StoreSettings] = Field(default_factory=dict)
    notice: NoticeSettings = Field(default_factory=NoticeSettings)
    collector: CollectorSettings = Field(default_factory=CollectorSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)


@dataclass(frozen=True)
class Settings:
    """A validated configuration with its paths resolved."""

    file: FileSettings
    source: Path | None
    data: Path | str  # the data folder: a path, or a URI (footfall/data_folder.py)
    secrets_dir: Path

    @property
    def data_dir(self) -> Path:
        """The data folder on this machine's disk, which every command but `footfall run`
        needs: a folder at a URI is mounted for them."""
        if isinstance(self.data, str):
            raise ConfigError(
                f"data_dir is {self.data}: `footfall run`, `sql` and `export` work on a data folder at a URI; "
                "for this command, mount it (mountpoint-s3, gcsfuse, blobfuse2) and pass that folder with --data"
            )
        return self.data

    @property
    def privacy(self) -> PrivacySettings:
        return self.file.privacy

    @property
    def optout_path(self) -> Path:
        return self.secrets_dir / self.file.privacy.optout_file

    def store(self, name: str) -> StoreSettings:
        """The store's settings; a store the file does not list gets the defaults."""
        check_name(name, "store", flag="--store")
        return self.file.stores.get(name) or StoreSettings()

    def unlisted(self, store: str, sensor: str) -> str | None:
        """A note when the file lists stores (or the store's sensors) but not these:
        most often a typo, sometimes on purpose (a config used as a template)."""
        check_name(sensor, "sensor", flag="--sensor")
        stores = self.file.stores
        if stores and store not in stores:
            return (
                f"store {store!r} is not in {self._where()} (it lists {', '.join(sorted(stores))}): "
                "using the default settings (timezone UTC)"
            )
        sensors = self.store(store).sensors
        if sensors and sensor not in sensors:
            listed = ", ".join(sorted(sensors))
            return f"sensor {sensor!r} is not listed under [stores.{store}.sensors] (it lists {listed})"
        return None

    def default_store(self) -> str:
        if len(self.file.stores) == 1:
            return next(iter(self.file.stores))
        listed = f" ({len(self.file.stores)} stores in {self._where()})" if self.file.stores else ""
        raise ConfigError(f"say which store with --store{listed}")

    def default_sensor(self, store: str) -> str:
        sensors = self.store(store).sensors
        if len(sensors) == 1:
            return next(iter(sensors))
        listed = f" (store {store!r} lists {len(sensors)} sensors)" if sensors else ""
        raise ConfigError(f"say which sensor with --sensor{listed}")

    def _where(self) -> str:
        return str(self.source) if self.source else "the configuration"


def check_name(name: str, what: str, flag: str | None = None) -> str:
    if not NAME_PATTERN.fullmatch(name):
        where = flag or f"{what} name"
        raise ConfigError(f"{where}: {name!r} is not a valid {what} name ({NAME_RULE} characters)")
    return name


def parse_opening_hours(value: str) -> tuple[time, time]:
    """'09:00-20:00' -> (09:00, 20:00); a closing time before the opening one runs past midnight."""
    match = _OPENING_HOURS.match(value)
    if not match:
        raise ValueError(f"{value!r} is not of the form 'HH:MM-HH:MM'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 <= 24 and h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{value!r} has an hour or minute out of range")
    opening = time(h1 % 24, m1)
    closing = time(h2 % 24, m2)
    if opening == closing:
        raise ValueError(f"{value!r} opens and closes at the same time")
    return opening, closing


def find_config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--config: no such file: {explicit}")
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}: no such file: {path}")
        return path
    local = Path(CONFIG_FILENAME)
    return local if local.is_file() else None


def load_settings(
    config: Path | None = None, data_dir: Path | str | None = None, secrets_dir: Path | None = None
) -> Settings:
    """Reads, validates and resolves the configuration (see the module docstring);
    data_dir and secrets_dir (the --data and --secrets flags) override the file. A
    data_dir that is a URI (s3://..., see footfall/data_folder.py) is kept as it is."""
    source = find_config_file(config)
    raw: dict[str, Any] = {}
    if source is not None:
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read: {exc}") from None
    try:
        parsed = FileSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None

    base = source.resolve().parent if source is not None else Path.cwd()
    given = str(data_dir) if data_dir is not None else parsed.data_dir
    if is_uri(given):
        secrets = (secrets_dir or base / parsed.secrets_dir).resolve()
        return Settings(file=parsed, source=source, data=given, secrets_dir=secrets)
    data = (Path(data_dir) if data_dir is not None else base / parsed.data_dir).resolve()
    if data.is_file():
        raise ConfigError(f"data_dir ({data}) is a file, not a folder")
    if secrets_dir is not None:
        secrets = secrets_dir.resolve()
    elif "secrets_dir" in parsed.model_fields_set:
        secrets = (base / parsed.secrets_dir).resolve()
    else:
        secrets = default_secrets_dir(data)
    if secrets == data or secrets.is_relative_to(data):
        raise ConfigError(
            f"secrets_dir ({secrets}) must not be inside data_dir ({data}): salts never sit beside outputs"
        )
    if data.is_relative_to(secrets):
        raise ConfigError(f"data_dir ({data}) must not be inside secrets_dir ({secrets})")
    return Settings(file=parsed, source=source, data=data, secrets_dir=secrets)


def default_secrets_dir(data: Path) -> Path:
    """Unless secrets_dir is set, the salts follow the data: a folder `secrets` beside
    the data folder (never inside it), whatever the working folder. Two sensors of a
    store collected from two folders into one data folder then share one key space."""
    secrets = data.parent / "secrets"
    if secrets == data:
        raise ConfigError(
            f"data_dir ({data}) leaves no place for the salts beside it: set secrets_dir in the configuration"
        )
    return secrets


# Keys whose values are addresses: an error names the key and the entry, never the value.
_NEVER_ECHOED = frozenset({"equipment"})


def _describe(exc: ValidationError, source: Path | None) -> str:
    """One line naming the first bad key, e.g. 'stores.demo.timezone: unknown timezone ...'."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        problem = f"unknown key{_did_you_mean(error['loc'])} (every key: docs/configuration.md)"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        secret = any(part in _NEVER_ECHOED for part in error["loc"])
        if "input" in error and error["type"] != "missing" and not isinstance(error["input"], dict) and not secret:
            problem = f"{problem} (got {error['input']!r})"
    where = f"{source}: " if source else ""
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}{key}: {problem}{tail}"


def _did_you_mean(location: tuple) -> str:
    """'; did you mean 'timezone'?' for a key close to one the section accepts."""
    import difflib
    import typing

    model: type[BaseModel] = FileSettings
    parts = list(location)
    while len(parts) > 1:
        annotation = model.model_fields[str(parts.pop(0))].annotation
        if typing.get_origin(annotation) is dict:  # stores.NAME, sensors.NAME: skip the name
            annotation = typing.get_args(annotation)[1]
            parts.pop(0)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    close = difflib.get_close_matches(str(parts[0]), list(model.model_fields), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
