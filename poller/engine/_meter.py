"""``poller.Meter``: one meter on one port, for programs that embed iec-poller.

::

    async with poller.Meter("/dev/ttyUSB0", address="31002781", timeout=60) as meter:
        batch = await meter.read()
        profile = await meter.read(profile="P.01", start=since)

Entering opens the port (within ``timeout``), leaving closes it. A ``Meter`` can be
entered again after it was left, but not while it is entered
(``MeterInUseError``). Reads go one at a time through the port; each is the
daemon's own read path (``read_meter``) and is bounded by ``timeout`` as a whole.
A read that fails raises ``ReadFailedError`` with the typed ``Failure`` and the
batch (which may hold what was read before the failure); a port that cannot be
opened raises ``PortError`` (``TimeoutError`` when opening outlasts ``timeout``), a
read outside ``async with`` ``PortClosedError``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Final

from poller.protocol import LineFraming, Password, ProgrammingRequest, ReadRequest
from poller.readings import Failure, ReadingBatch
from poller.transport import Port, PortClosedError, PortOptions, port_for_url
from poller.util import redact_url

from ._batches import ReadPlan
from ._cursor import ProfileRange
from ._meter_config import MeterSettings
from ._read import read_meter
from ._recorder import FlightRecorder

__all__ = ["DEFAULT_TIMEOUT", "Meter", "MeterInUseError", "ReadFailedError"]

DEFAULT_TIMEOUT: Final = 120.0
# Before this moment a profile read starts at its first record.
_EARLIEST: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class MeterInUseError(RuntimeError):
    """``async with meter`` while that meter is already entered."""


class ReadFailedError(Exception):
    """A read of the meter failed; ``failure`` says how (``failure.kind``)."""

    def __init__(self, batch: ReadingBatch, failure: Failure) -> None:
        super().__init__(failure.message)
        self.batch = batch
        self.failure = failure


class Meter:
    """One meter reached through the port ``url`` names; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        address: str = "",
        password: str | Password | None = None,
        password_scheme: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_baud: int | None = None,
        eight_n_one: bool = False,
        echo: bool = False,
        timezone: dt.tzinfo = dt.UTC,
        name: str | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.url = url
        self.timeout = timeout
        secret = Password(password) if isinstance(password, str) else password
        self.settings = MeterSettings(
            address=address,
            name=name,
            password=secret,
            password_scheme=password_scheme,
            max_baud=max_baud,
            framing=LineFraming.BITS_8N1 if eight_n_one else LineFraming.BITS_7E1,
            session_timeout=timeout,
            timezone=timezone,
            retries=0,
        )
        self._options = PortOptions(echo=echo)
        self._port: Port | None = None
        self._lock = asyncio.Lock()
        self.recorder = FlightRecorder()
        """The frames of the last reads (passwords masked), for a failure's log."""

    def __repr__(self) -> str:
        return f"Meter({redact_url(self.url)!r}, address={self.settings.address!r})"

    async def __aenter__(self) -> Meter:
        if self._port is not None:
            raise MeterInUseError(f"{self!r} is already entered")
        port = port_for_url(self.url, options=self._options)
        self._port = port
        try:
            async with asyncio.timeout(self.timeout):
                await port.open()
        except BaseException:
            self._port = None
            await port.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        port, self._port = self._port, None
        if port is not None:
            await port.close()

    async def read(
        self,
        *,
        registers: Sequence[str] = (),
        profile: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> ReadingBatch:
        """One session: the readout; or, given ``registers`` or ``profile``, programming
        mode (R1 of each register, R5 of the profile from ``start`` to ``end``).

        Raises ``ReadFailedError`` when the session fails.
        """
        port = self._port
        if port is None:
            raise PortClosedError(redact_url(self.url), "the meter is not entered")
        async with self._lock:
            result = await read_meter(
                port,
                self.settings,
                self._plan(registers, profile, start, end),
                bus=redact_url(self.url),
                recorder=self.recorder,
            )
        failure = result.batch.failure
        if failure is not None:
            raise ReadFailedError(result.batch, failure)
        return result.batch

    def _plan(
        self,
        registers: Sequence[str],
        profile: str | None,
        start: dt.datetime | None,
        end: dt.datetime | None,
    ) -> ReadPlan:
        if profile is None and (start is not None or end is not None):
            raise ValueError("start and end go with profile")
        requests: tuple[ProgrammingRequest, ...] = tuple(
            ReadRequest(dataset=f"{code}()") for code in registers
        )
        ranges: tuple[ProfileRange, ...] = ()
        if profile is not None:
            tz = self.settings.timezone
            ranges = (
                ProfileRange(
                    profile=profile, start=start or _EARLIEST, end=end, cursor=None, tz=tz
                ),
            )
        return ReadPlan.of(requests, ranges)
