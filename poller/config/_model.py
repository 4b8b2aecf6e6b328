"""The whole configuration file: the top-level model and what the daemon asks of it."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ByteSize,
    Field,
    InstanceOf,
    WithJsonSchema,
    field_validator,
)

from poller.engine import ReadKind
from poller.schedule import Schedule, ScheduledRead, get_zone, local_zone

from ._buses import BusConfig
from ._meters import MeterConfig
from ._schedules import ScheduleConfig, ScheduleRef
from ._types import ConfigModel, Interval, Name, ZoneName

__all__ = ["DEFAULT_LISTEN", "DEFAULT_STATE_DIR", "Config", "HttpConfig", "LogConfig"]

DEFAULT_STATE_DIR: Final = "/var/lib/iec-poller"
DEFAULT_LISTEN: Final = "127.0.0.1:9462"


class LogConfig(ConfigModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines when not on a terminal (journald, Docker), readable text on one."""


def _split_listen(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9462 or [::1]:9462")
    host = host.removeprefix("[").removesuffix("]")
    if not host:
        raise ValueError("expected HOST:PORT with a host (0.0.0.0 for every interface)")
    if ":" in host:
        ipaddress.IPv6Address(host)  # a ValueError names the problem
    return host, int(port_text)


def _listen(text: str) -> str:
    _split_listen(text)
    return text


class HttpConfig(ConfigModel):
    """The health and metrics endpoint (/healthz, /metrics)."""

    enabled: bool = True
    listen: Annotated[str, AfterValidator(_listen)] = DEFAULT_LISTEN
    """HOST:PORT; localhost by default, as the endpoint has no authentication."""

    @property
    def host(self) -> str:
        return _split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return _split_listen(self.listen)[1]


_ANY_SINK_SCHEMA: Final = {
    "type": "object",
    "properties": {"type": {"type": "string"}},
    "required": ["type"],
}
SinkEntry = Annotated[InstanceOf[BaseModel], WithJsonSchema(_ANY_SINK_SCHEMA)]
"""A sink's settings, validated by the loader against its type's model."""


class SpoolConfig(ConfigModel):
    """The durable spool between the buses and the sinks (``<state_dir>/spool.sqlite``)."""

    max_size: ByteSize = ByteSize(256 * 1024 * 1024)
    """Most the stored readings may take (``512MiB``, ``2GB``); past it the oldest go."""
    max_age: Interval = dt.timedelta(days=30)
    """Longest a batch may wait for a sink that is down; past it the oldest go."""
    warn_ratio: float = Field(default=0.8, gt=0, le=1)
    """Warn (log and metric) once the spool is this full."""

    @field_validator("max_size")
    @classmethod
    def _positive_size(cls, value: ByteSize) -> ByteSize:
        if value <= 0:
            raise ValueError("must be more than 0 bytes")
        return value

    @field_validator("max_age")
    @classmethod
    def _positive_age(cls, value: dt.timedelta) -> dt.timedelta:
        if value <= dt.timedelta(0):
            raise ValueError("must be a positive duration")
        return value


class Config(ConfigModel):
    """A validated configuration; build it with ``load_config`` or ``parse_config``."""

    state_dir: str = DEFAULT_STATE_DIR
    """Where the spool, profile cursors and file sinks' state live."""
    timezone: ZoneName | None = None
    """The zone schedules are aligned in (IANA name); default the system's."""
    log: LogConfig = LogConfig()
    http: HttpConfig = HttpConfig()
    spool: SpoolConfig = SpoolConfig()
    schedules: dict[Name, ScheduleConfig] = Field(default_factory=dict)
    """Named schedules that buses and meters refer to by name."""
    buses: list[BusConfig] = Field(min_length=1)
    sinks: list[SinkEntry] = Field(min_length=1)
    """Where readings go: each entry has a type and that type's settings."""

    @property
    def zone(self) -> dt.tzinfo:
        return get_zone(self.timezone) if self.timezone else local_zone()

    def bus(self, name: str) -> BusConfig:
        for bus in self.buses:
            if bus.name == name:
                return bus
        raise KeyError(name)

    def resolve_schedule(self, ref: ScheduleRef) -> Schedule:
        """An inline schedule or a named one, as a ``Schedule`` (``KeyError`` if unknown)."""
        spec = self.schedules[ref] if isinstance(ref, str) else ref
        return spec.build(self.zone)

    def meter_schedule(self, bus: BusConfig, meter: MeterConfig) -> Schedule | None:
        ref = meter.schedule if meter.schedule is not None else bus.schedule
        return None if ref is None else self.resolve_schedule(ref)

    def profile_schedule(self, bus: BusConfig, meter: MeterConfig) -> Schedule | None:
        ref = meter.profile_schedule if meter.profile_schedule is not None else bus.profile_schedule
        if ref is None or not _collects_profiles(bus, meter):
            return None
        return self.resolve_schedule(ref)

    def scheduled_reads(self) -> list[ScheduledRead]:
        """Every meter's reads: its schedule, and its profile schedule where it has one."""
        reads: list[ScheduledRead] = []
        for bus in self.buses:
            for meter in bus.meters:
                schedule = self.meter_schedule(bus, meter)
                if schedule is not None:
                    reads.append(
                        ScheduledRead(
                            bus=bus.name, address=meter.address, schedule=schedule, meter=meter.name
                        )
                    )
                profiles = self.profile_schedule(bus, meter)
                if profiles is not None:
                    reads.append(
                        ScheduledRead(
                            bus=bus.name,
                            address=meter.address,
                            schedule=profiles,
                            kind=ReadKind.PROFILE,
                            meter=meter.name,
                        )
                    )
        return reads


def _collects_profiles(bus: BusConfig, meter: MeterConfig) -> bool:
    """Whether the meter reads profiles in programming mode (a bus default may say so)."""
    defaults = bus.meter_defaults
    mode = meter.mode if meter.mode is not None else defaults.mode
    profiles = meter.profiles if meter.profiles is not None else defaults.profiles
    return mode == "programming" and bool(profiles)
