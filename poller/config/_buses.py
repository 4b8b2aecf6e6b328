"""Bus configuration: one port, its meters, and the engine's bus-wide options.

``port_options``, ``engine_options`` and ``meter_settings`` build the objects that
``poller.transport`` and ``poller.engine`` take; the field names are theirs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, Discriminator, Field, Tag

from poller.engine import EngineOptions, MeterSettings
from poller.transport import (
    PortOptions,
    PortUnavailableError,
    RS485Options,
    port_for_url,
    port_schemes,
)
from poller.util import redact_url

from ._meters import BackoffConfig, MeterConfig, MeterOptions, build_meter_settings
from ._schedules import ScheduleRef
from ._suggest import did_you_mean
from ._types import ConfigModel, Name, Seconds, like_field

__all__ = ["BusConfig", "RS485Config", "check_port_url"]

# Converters: a host and a port are all there is to check.
_NETWORK_SCHEMES: Final = ("socket", "rfc2217")
_PORT_FORMS: Final = (
    "a device path (/dev/ttyUSB0, /dev/serial/by-id/...), socket://HOST:PORT,"
    " rfc2217://HOST:PORT or sim://PROFILE"
)


def check_port_url(url: str) -> str:
    """``ValueError`` unless ``url`` is a port URL the transport understands."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        if not url.startswith("/"):
            raise ValueError(f"expected {_PORT_FORMS}")
        return url
    scheme = scheme.lower()
    # Built in, or registered by an installed package (``iec_poller.transports``).
    schemes = port_schemes()
    if scheme not in schemes:
        hint = did_you_mean(scheme, schemes)
        raise ValueError(f"unknown port scheme {scheme}://{hint}; expected {_PORT_FORMS}")
    if scheme not in _NETWORK_SCHEMES:
        try:
            # Builds the port without opening it: sim:// checks profile, file and query,
            # a plug-in whatever its factory checks.
            port_for_url(url)
        except PortUnavailableError as exc:
            raise ValueError(f"not a usable {scheme}:// URL: {exc.reason}") from None
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port = None
    if not rest or parts.hostname is None or port is None or not 0 < port < 65536:
        raise ValueError(f"expected {scheme}://HOST:PORT, got {redact_url(url)!r}")
    return url


class RS485Config(ConfigModel):
    """Kernel RS-485 mode (TIOCSRS485); delays in milliseconds as the kernel takes them."""

    rts_on_send: bool = True
    rts_after_send: bool = False
    delay_before_send_ms: int = Field(default=0, ge=0)
    delay_after_send_ms: int = Field(default=0, ge=0)
    rx_during_tx: bool = False


_FLAG: Final = "rs485-flag"
_SETTINGS: Final = "rs485-settings"
RS485_TAGS: Final = frozenset({_FLAG, _SETTINGS})


def _rs485_kind(value: Any) -> str:
    return _SETTINGS if isinstance(value, dict | RS485Config) else _FLAG


RS485 = Annotated[
    Annotated[bool, Tag(_FLAG)] | Annotated[RS485Config, Tag(_SETTINGS)],
    Discriminator(_rs485_kind),
]


class BusConfig(ConfigModel):
    """One RS-485 bus (or optical head, or TCP converter) and the meters on it."""

    name: Name
    """Unique name, used in logs and metrics."""
    port: Annotated[str, AfterValidator(check_port_url)]
    """/dev/ttyUSB0, /dev/serial/by-id/..., socket://host:port, rfc2217://host:port, sim://..."""
    echo: bool = False
    """The line returns what we send (optical heads, two-wire adapters): drop our echo."""
    rs485: RS485 = False
    """Switch the driver to RS-485 mode: true, or the RS-485 settings."""
    exclusive: bool = True
    """Lock the device so no other program talks on the bus."""
    inter_byte_read: Seconds = Field(default=0.0, ge=0)
    """Keep collecting a reply while bytes follow within this time."""
    unreachable_after: int = like_field(EngineOptions, "unreachable_after")
    """Failed sessions in a row after which a meter is unreachable."""
    probe_interval: Seconds = like_field(EngineOptions, "probe_interval")
    """How often an unreachable meter is tried again."""
    reopen_backoff: BackoffConfig | None = None
    """Waits between attempts to reopen a lost port (default 1s doubling to 60s)."""
    stop_timeout: Seconds = like_field(EngineOptions, "stop_timeout")
    """How long a stop waits for the running conversation."""
    recorder_size: int = Field(default=EngineOptions().recorder_size, ge=1)
    """Frames kept for the log of a failed session."""
    meter_defaults: MeterOptions = MeterOptions()
    """Settings for every meter of the bus that does not set them itself."""
    schedule: ScheduleRef | None = None
    """When its meters are read (each meter may set its own)."""
    profile_schedule: ScheduleRef | None = None
    """When its programming-mode meters' profiles are collected."""
    meters: list[MeterConfig] = Field(min_length=1)

    def port_options(self) -> PortOptions:
        rs485: RS485Options | None = None
        if isinstance(self.rs485, RS485Config):
            rs485 = RS485Options(**self.rs485.model_dump())
        elif self.rs485:
            rs485 = RS485Options()
        return PortOptions(
            echo=self.echo,
            rs485=rs485,
            exclusive=self.exclusive,
            inter_byte_read=self.inter_byte_read,
        )

    def engine_options(
        self, *, wall_clock: Callable[[], dt.datetime] | None = None
    ) -> EngineOptions:
        """The engine's options; ``wall_clock`` maps simulated time in tests."""
        extra: dict[str, Any] = {} if wall_clock is None else {"wall_clock": wall_clock}
        if self.reopen_backoff is not None:
            extra["reopen_backoff"] = self.reopen_backoff.apply(EngineOptions().reopen_backoff)
        return EngineOptions(
            unreachable_after=self.unreachable_after,
            probe_interval=self.probe_interval,
            stop_timeout=self.stop_timeout,
            recorder_size=self.recorder_size,
            **extra,
        )

    def meter_settings(self) -> list[MeterSettings]:
        settings = []
        for meter in self.meters:
            built = build_meter_settings(meter, self.meter_defaults)
            if meter.profile_schedule is not None or self.profile_schedule is not None:
                # The profiles have their own collection: register polls skip them.
                built = dataclasses.replace(built, profiles_with_registers=False)
            settings.append(built)
        return settings
