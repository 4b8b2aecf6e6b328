"""VDEW load profiles and logbooks: the R5/R6 replies to ``P.01``, ``P.02``, ``P.98``, ``P.99``.

Theory of operation
-------------------
A profile reply is a data block. A header data set names the channels::

    P.01(zYYMMDDhhmmss)(status)(interval min)(n)(code1)(unit1)...(coden)(unitn)

and every following address-less line ``(v1)...(vn)`` is one interval, the i-th at
header time + i * interval. A meter starts a new header whenever the status changes
(``metcom_mcs_p01_load_profile_status80.txt``: status 80, then 00) and when the clock
changes season, so every record keeps the season flag of its header and the wall-clock
arithmetic inside one header never crosses a DST change.

A logbook (``P.98``) puts each entry on one line, header and values together::

    P.98(ts)(status)()(k)(code1)(unit1)...(codek)(unitk)(v1)...(vk)

with an empty interval and k possibly 0. Entries keep the order they arrived in, which
is not always time order (MetCom sends 23:49:04 before 23:48:49).

Nothing here raises on content: a line that does not fit (values missing, a header
that does not parse, values before any header) is reported as a ``ProfileProblem``
and skipped. A record whose value count differs from its channel count is skipped
rather than guessed at, because values are matched to channels by position only; it
still takes its interval slot, so the records after it keep their times. The DSMR 3
gas reading (``0-1:24.3.0(ts)(00)(60)(1)(0-1:24.2.1)(m3)`` then ``(00001.160)``) has
the same shape and parses here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from ._datasets import MAX_ADDRESS_LEN, DataSet, scan_data_block
from ._errors import InvalidMessageError
from ._obis import ObisCode
from ._values import MeterTime, Value, format_meter_time, parse_meter_time

__all__ = [
    "Channel",
    "ProfileBlock",
    "ProfileProblem",
    "ProfileRecord",
    "parse_profile",
    "profile_request",
    "scan_profile",
]

_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_COUNT_RE = re.compile(r" *([0-9]{1,4}) *")
_PROFILE_RE = re.compile(rf"[^()!/\x00-\x20\x7f;]{{1,{MAX_ADDRESS_LEN}}}")
# Fields of a header before its channels: time, status, interval, channel count.
_FIXED = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """One column of a profile: the register code and its unit as the header names them."""

    code: str
    unit: str | None = None

    @property
    def obis(self) -> ObisCode | None:
        """The OBIS code of ``code``, or ``None`` when it holds none."""
        return ObisCode.parse(self.code)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileRecord:
    """One interval of a load profile or one logbook entry.

    ``values[i]`` belongs to ``channels[i]``. ``status`` is the header's status text;
    ``interval`` is ``None`` for logbooks.
    """

    profile: str
    time: MeterTime
    status: str
    interval: timedelta | None
    channels: tuple[Channel, ...]
    values: tuple[Value, ...]

    @property
    def status_code(self) -> int | None:
        """The status as a number where it is hex (``00008020`` -> 0x8020), else None."""
        text = self.status.strip(" ")
        return int(text, 16) if _HEX_RE.fullmatch(text) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileProblem:
    """A data set of a profile reply that gave no record, and why."""

    index: int
    """The data set's position in the block."""
    dataset: DataSet
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileBlock:
    """Everything ``scan_profile`` found: the records and the data sets it skipped."""

    records: tuple[ProfileRecord, ...]
    problems: tuple[ProfileProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class _Header:
    profile: str
    time: MeterTime
    status: str
    interval: timedelta | None
    channels: tuple[Channel, ...]


def _header(dataset: DataSet) -> tuple[_Header | None, str]:
    """The header a data set holds, or ``None`` and the reason it holds none."""
    values = dataset.values
    if dataset.address is None or len(values) < _FIXED:
        return None, "not a profile header"
    time = parse_meter_time(values[0].text)
    if time is None:
        return None, f"header time {values[0].text!r} does not parse"
    count = _COUNT_RE.fullmatch(values[3].text)
    if count is None:
        return None, f"channel count {values[3].text!r} is not a number"
    n = int(count[1])
    if len(values) < _FIXED + 2 * n:
        return None, f"header names {n} channels but has {len(values) - _FIXED} fields for them"
    minutes = _COUNT_RE.fullmatch(values[2].text)
    channels = tuple(
        Channel(code=values[i].text, unit=values[i + 1].text or None)
        for i in range(_FIXED, _FIXED + 2 * n, 2)
    )
    interval = timedelta(minutes=int(minutes[1])) if minutes else None
    return _Header(dataset.address, time, values[1].text, interval, channels), ""


def _record(header: _Header, index: int, values: tuple[Value, ...]) -> ProfileRecord:
    time = header.time
    if index and header.interval:
        # Plain wall-clock arithmetic: a header never spans a DST change (see above).
        time = MeterTime(datetime=time.datetime + index * header.interval, season=time.season)
    return ProfileRecord(
        profile=header.profile,
        time=time,
        status=header.status,
        interval=header.interval,
        channels=header.channels,
        values=values,
    )


def scan_profile(text: str) -> ProfileBlock:
    """The records of a profile or logbook reply, with what was skipped and why.

    An empty reply or an error reply such as ``(ERROR)`` has no records; the latter
    is reported as a problem.
    """
    records: list[ProfileRecord] = []
    problems: list[ProfileProblem] = []
    header: _Header | None = None
    slot = 0
    for index, dataset in enumerate(scan_data_block(text).datasets):
        if dataset.address is not None:
            header, reason = _header(dataset)
            if header is None:
                problems.append(ProfileProblem(index=index, dataset=dataset, reason=reason))
                continue
            slot = 0
            values = dataset.values[_FIXED + 2 * len(header.channels) :]
            # A logbook entry carries its values on the header's line, and one with no
            # channels is an entry by itself; otherwise the values come on the lines after.
            if not values and header.channels:
                continue
        elif header is None:
            first = dataset.values[0].text
            reason = "error reply" if first.startswith("ER") else "values before any header"
            problems.append(ProfileProblem(index=index, dataset=dataset, reason=reason))
            continue
        else:
            values = dataset.values
        if len(values) != len(header.channels):
            reason = f"{len(values)} values for {len(header.channels)} channels"
        else:
            try:
                records.append(_record(header, slot, values))
            except OverflowError:
                # Only a forged header gets here: a long interval times many lines.
                reason = "record time out of range"
            else:
                reason = ""
        if reason:
            problems.append(ProfileProblem(index=index, dataset=dataset, reason=reason))
        slot += 1
    return ProfileBlock(records=tuple(records), problems=tuple(problems))


def parse_profile(text: str) -> list[ProfileRecord]:
    """The records of a profile or logbook reply; see ``scan_profile``."""
    return list(scan_profile(text).records)


def profile_request(
    profile: str = "P.01", start: MeterTime | None = None, end: MeterTime | None = None
) -> str:
    """The R5 data set asking for a profile: ``P.01(zYYMMDDhhmm;zYYMMDDhhmm)``.

    A missing bound is left empty (``P.01(;)`` asks for everything). The bounds need a
    season flag; ``MeterTime.from_datetime`` gives one for an aware datetime.
    """
    if not _PROFILE_RE.fullmatch(profile):
        raise InvalidMessageError("profile", "an address such as 'P.01'")
    since = "" if start is None else format_meter_time(start.datetime, start.season)
    until = "" if end is None else format_meter_time(end.datetime, end.season)
    return f"{profile}({since};{until})"
