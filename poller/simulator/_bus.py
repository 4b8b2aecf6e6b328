"""A shared half-duplex line (RS-485, a 20 mA loop) carrying one client and many meters.

Theory of operation
-------------------
The bus keeps simulated time and every transmission on the line as an interval:
its start, its line settings and its bytes, each character taking 10 bit times.

* What the client sends reaches every listening meter when its last character has
  arrived, as the meter's UART hears it (``_line.hear``: wrong rate or framing ->
  junk); each meter decides whether it was addressed.
* The line is half-duplex. A client transmission that starts before a meter's
  (current or scheduled) transmission has ended is a collision: the meter aborts
  and goes idle, the characters it had not sent are never sent, and the one on the
  wire is spoilt. A meter that starts while the client is still talking aborts too.
* What the client receives is computed per character. A character that overlaps a
  character of a transmission that started earlier is lost (the earlier talker wins
  the count); one that overlaps later ones is corrupted: bit-aligned characters at
  one rate combine as a wired AND, unaligned ones turn into junk. Two meters that
  answer ``/?!`` together therefore give the client garbage, as on a real bus.
* Echoes (heads and adapters that mirror the client's bytes) reach the client as
  the client sends, and take no part in collisions.
* A ``transparent`` bus stands for a TCP-to-serial converter whose serial side
  always matches the meters: each meter hears the client at the rate and framing it
  expects, the client's bytes take the wire time of the rate of the meter in session
  (300 Bd when all are idle), and the client gets every meter's bytes as sent, at
  whatever rate they went out (``_tcp.py``).

The bus never reads a clock: ``advance(now)`` runs everything due up to ``now``.
Running in real time is the transport's business (``_inprocess.py``).

``next_event`` is when a reader should look again. With ``rx_latency`` 0 that is
every character as its stop bit ends (a UART with a one-byte FIFO: the most
wake-ups a port can cause). With ``rx_latency`` > 0 it models a USB adapter's
latency timer: while a transmission is under way the client is woken at most every
``rx_latency`` seconds, and at the end of every transmission at once (as a UART's
receive timeout in low-latency mode does), so the last byte of a message is never
late and no timing the protocol depends on moves. ``client_read`` always returns
every character whose stop bit has ended; only the wake-ups are fewer.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from poller.protocol import ProtocolError, Request, char_time, wire_time

from ._line import LineSettings, Transmit, hear, junk_byte
from ._meter import MeterState, SimulatedMeter

__all__ = ["BusEvent", "VirtualBus"]

_EPS = 1e-9
_LOG_SIZE = 1000
_PRUNE_EVERY = 0.5


@dataclass(frozen=True, slots=True)
class BusEvent:
    """One transmission, for logs: who sent what, when and at which rate."""

    time: float
    source: str
    """``client`` or the meter's address."""
    data: bytes
    line: LineSettings
    note: str = ""


@dataclass(eq=False, slots=True)
class _Tx:
    source: int  # index of the meter; -1 for the client
    start: float
    data: bytes
    line: LineSettings
    echo: bool = False
    length: int = field(init=False)
    read: int = field(init=False, default=0)
    """Characters already handed to the client."""
    ct: float = field(init=False)
    """One character's time at this transmission's rate."""
    end: float = field(init=False)
    """When its last character (of those really sent) ends."""

    def __post_init__(self) -> None:
        self.length = len(self.data)
        self.ct = char_time(self.line.baud)
        self.end = self.start + wire_time(self.length, self.line.baud)

    def cut(self, at: float) -> None:
        """Stop sending at ``at``: the character on the wire then is the last one."""
        sent = 0 if at <= self.start else math.ceil((at - self.start) / self.ct - _EPS)
        self.length = min(self.length, sent)
        self.end = self.start + wire_time(self.length, self.line.baud)


class VirtualBus:
    """Meters on one line and the client's end of it."""

    def __init__(
        self,
        meters: Sequence[SimulatedMeter],
        *,
        start: float = 0.0,
        transparent: bool = False,
        rx_latency: float = 0.0,
    ) -> None:
        if rx_latency < 0:
            raise ValueError("rx_latency must not be negative")
        self.meters = list(meters)
        self.now = start
        self.transparent = transparent
        self.rx_latency = rx_latency
        self.log: deque[BusEvent] = deque(maxlen=_LOG_SIZE)
        self.listeners: list[Callable[[BusEvent], None]] = []
        """Called with every event as it is logged (``iec-poller simulate`` prints them)."""
        self._client_lines: list[tuple[float, LineSettings]] = [(start, LineSettings())]
        self._client_busy_until = start
        self._client_txs: list[_Tx] = []
        self._meter_txs: list[_Tx] = []
        self._deliveries: list[tuple[float, int, bytes, LineSettings]] = []
        self._seq = itertools.count()
        self._read_upto = start
        self._pruned_at = start
        # Each meter's next deadline, kept current after every call into it (only the
        # bus calls a meter), so that a bus of many idle meters costs nothing per byte.
        self._timed: dict[int, float] = {}
        for index in range(len(self.meters)):
            self._refresh(index)

    # -- the client's side ------------------------------------------------------------

    @property
    def client_line(self) -> LineSettings:
        return self._client_lines[-1][1]

    @property
    def client_busy_until(self) -> float:
        """When the last character the client has written will have left its UART."""
        return self._client_busy_until

    def set_client_line(self, line: LineSettings, now: float) -> None:
        """The client reconfigured its UART at ``now``."""
        self.advance(now)
        if line != self.client_line:
            self._client_lines.append((max(now, self.now), line))

    def client_write(self, data: bytes, now: float) -> float:
        """The client sends ``data`` at ``now``; returns when its last character ends."""
        self.advance(now)
        line = self._converter_line() if self.transparent else self.client_line
        tx = _Tx(-1, max(now, self._client_busy_until), data, line)
        self._client_busy_until = tx.end
        self._client_txs.append(tx)
        self._record(BusEvent(tx.start, "client", data, line))
        for index, meter in enumerate(self.meters):
            for mine in self._meter_txs:
                if not meter.listens:
                    break  # a push meter neither hears the clash nor stops
                if mine.source == index and not mine.echo and mine.end > tx.start + _EPS:
                    mine.cut(tx.start)
                    note = f"aborted after {mine.length} of {len(mine.data)} bytes"
                    self._record(BusEvent(tx.start, meter.spec.address, b"", mine.line, note))
                    meter.abort(tx.start)
                    self._refresh(index)
            if meter.echoes:
                self._meter_txs.append(_Tx(index, tx.start, data, line, echo=True))
        heapq.heappush(self._deliveries, (tx.end, next(self._seq), data, line))
        return tx.end

    def client_read(self, now: float) -> bytes:
        """Every byte handed to the client's side by ``now`` and not yet returned."""
        self.advance(now)
        horizon = self._horizon(now)
        spans = []
        for tx in self._meter_txs:
            first, last = tx.read, self._arrived_by(tx, horizon)
            if first < last:
                spans.append((tx, first, last))
                tx.read = last
        out = self._read_alone(*spans[0]) if len(spans) == 1 else self._read_interleaved(spans)
        self._read_upto = max(self._read_upto, now)
        self._prune()
        return out

    def next_event(self) -> float | None:
        """When a reader should look again: bytes for the client or a meter's timer."""
        best = min(self._timed.values(), default=math.inf)
        if self._deliveries:
            best = min(best, self._deliveries[0][0])
        latency = self.rx_latency
        for tx in self._meter_txs:
            if tx.read < tx.length:
                arrived = tx.start + (tx.read + 1) * tx.ct
                if latency > 0 and self._talking(arrived):
                    tick = math.ceil(arrived / latency - _EPS) * latency
                    arrived = min(tick, self._quiet_from(arrived))
                best = min(best, arrived)
        return None if best == math.inf else best

    def _talking(self, when: float) -> list[_Tx]:
        """Transmissions with a character still to end after ``when``."""
        return [t for t in self._meter_txs if t.length and t.start < when - _EPS < t.end - 2 * _EPS]

    def _quiet_from(self, when: float) -> float:
        """The first moment from ``when`` on when no known transmission is under way."""
        while talking := self._talking(when):
            when = max(t.end for t in talking)
        return when

    def _horizon(self, now: float) -> float:
        """Characters whose stop bit ended by this moment have reached the client.

        With ``rx_latency`` the adapter holds what it has until its next tick, except
        when the line falls quiet: then everything goes at once. One horizon for
        every transmission, so that colliding ones still arrive in order.
        """
        latency = self.rx_latency
        if latency <= 0 or not self._talking(now):
            return now
        return math.floor(now / latency + _EPS) * latency

    @staticmethod
    def _arrived_by(tx: _Tx, when: float) -> int:
        """How many characters of ``tx`` have ended by ``when`` (never fewer than read)."""
        ct, start = tx.ct, tx.start
        last = min(tx.length, max(0, math.floor((when - start) / ct)))
        while last < tx.length and start + (last + 1) * ct <= when + _EPS:
            last += 1
        while last > 0 and start + last * ct > when + _EPS:
            last -= 1
        return max(last, tx.read)

    def _read_alone(self, tx: _Tx, first: int, last: int) -> bytes:
        """One transmission's characters with nothing else on the line: in bulk."""
        lo, hi = tx.start + first * tx.ct, tx.start + last * tx.ct
        if not tx.echo and self._overlapping(tx, lo, hi):
            return self._read_interleaved([(tx, first, last)])
        if self.transparent:
            return tx.data[first:last]  # the converter hears every meter at its own rate
        heard = self._client_line_at(lo + tx.ct)
        if any(lo + tx.ct - _EPS <= since < hi - _EPS for since, _ in self._client_lines):
            return self._read_interleaved([(tx, first, last)])
        return _hear_each(tx.data[first:last], tx.line, heard)

    def _read_interleaved(self, spans: list[tuple[_Tx, int, int]]) -> bytes:
        """Character by character, in the order their stop bits end."""
        items = [(tx.start + (i + 1) * tx.ct, tx, i) for tx, a, b in spans for i in range(a, b)]
        items.sort(key=lambda item: (item[0], item[1].start, item[1].source))
        out = bytearray()
        for end, tx, i in items:
            value = tx.data[i] if tx.echo else self._on_wire(tx, i)
            if value is not None:
                heard = tx.line if self.transparent else self._client_line_at(end)
                out += _hear_each(bytes([value]), tx.line, heard)
        return bytes(out)

    def _overlapping(self, tx: _Tx, lo: float, hi: float) -> bool:
        """Whether anything else was on the line between ``lo`` and ``hi``."""
        for other in self._client_txs:
            if other.start < hi - _EPS and lo < other.end - _EPS:
                return True
        for other in self._meter_txs:
            if other is tx or other.echo or other.length == 0:
                continue
            if other.start < hi - _EPS and lo < other.end - _EPS:
                return True
        return False

    # -- time ----------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Deliver, fire timers and schedule answers, in time order, up to ``now``."""
        while True:
            timer: tuple[float, int] | None = None
            for i, t in self._timed.items():
                if timer is None or t < timer[0] or (t == timer[0] and i < timer[1]):
                    timer = (t, i)
            delivery = self._deliveries[0][0] if self._deliveries else math.inf
            if timer is not None and timer[0] <= delivery and timer[0] <= now + _EPS:
                t, index = timer
                self._schedule(index, self.meters[index].poll(t))
                self._refresh(index)
                after = self._timed.get(index)
                if after is not None and after <= t:
                    raise RuntimeError(f"meter {index} did not clear its deadline {t}")
            elif delivery <= now + _EPS:
                t, _, data, line = heapq.heappop(self._deliveries)
                request = _whole_request(data)
                for index, meter in enumerate(self.meters):
                    heard_as = meter.line if self.transparent else line
                    if request is not None and meter.passes_over(request, heard_as, t):
                        continue
                    self._schedule(index, meter.receive(data, t, heard_as))
                    self._refresh(index)
            else:
                break
        self.now = max(self.now, now)

    def _refresh(self, index: int) -> None:
        deadline = self.meters[index].next_deadline()
        if deadline is None:
            self._timed.pop(index, None)
        else:
            self._timed[index] = deadline

    def _schedule(self, index: int, transmits: list[Transmit]) -> None:
        meter = self.meters[index]
        for transmit in transmits:
            tx = _Tx(index, transmit.at, transmit.data, transmit.line)
            if meter.listens and tx.start < self._client_busy_until - _EPS:
                # The meter starts while the client talks: it hears the clash and stops.
                tx.cut(tx.start)
                meter.abort(tx.start)
                self._refresh(index)
            self._meter_txs.append(tx)
            note = "" if tx.length == len(tx.data) else "aborted: the client was talking"
            self._record(BusEvent(tx.start, meter.spec.address, transmit.data, tx.line, note))

    def _record(self, event: BusEvent) -> None:
        self.log.append(event)
        for listener in self.listeners:
            listener(event)

    def _converter_line(self) -> LineSettings:
        """The rate a transparent converter's serial side is at: the meter in session's."""
        for meter in self.meters:
            if meter.listens and meter.state is not MeterState.IDLE:
                return meter.line
        return LineSettings()

    # -- the wire ------------------------------------------------------------------------

    def _on_wire(self, tx: _Tx, i: int) -> int | None:
        """What character ``i`` of ``tx`` becomes on the shared line (None: lost)."""
        start = tx.start + i * tx.ct
        end = start + tx.ct
        value = tx.data[i]
        for other in self._client_txs:
            if other.start < end - _EPS and start < other.end - _EPS:
                return junk_byte(value + i)
        for other in self._meter_txs:
            if other is tx or other.echo or other.length == 0:
                continue
            if not (other.start < end - _EPS and start < other.end - _EPS):
                continue
            if (other.start, other.source) < (tx.start, tx.source):
                return None
            offset = (start - other.start) / other.ct
            j = round(offset)
            aligned = other.line.baud == tx.line.baud and abs(offset - j) < 0.05
            if aligned and 0 <= j < other.length:
                value &= other.data[j]
            else:
                value = junk_byte(value * 31 + i)
        return value

    def _client_line_at(self, when: float) -> LineSettings:
        """The client's setting for a character whose stop bit ends at ``when``.

        A change at that very moment comes too late: the character was complete
        (and is the same whenever the client happens to read it).
        """
        line = self._client_lines[0][1]
        for since, settings in self._client_lines:
            if since < when - _EPS:
                line = settings
        return line

    def _prune(self) -> None:
        # Keep what can still overlap a character the client has not read. Done every
        # half second of simulated time, not on every read: the lists stay short
        # either way, and rebuilding them per read cost more than scanning them.
        if self._read_upto - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = self._read_upto
        horizon = self._read_upto - 1.0
        self._meter_txs = [t for t in self._meter_txs if t.end > horizon]
        self._client_txs = [t for t in self._client_txs if t.end > horizon]
        # The line setting in force at the horizon, and every later change.
        older = [i for i, (since, _) in enumerate(self._client_lines) if since <= horizon]
        if older:
            del self._client_lines[: older[-1]]


def _whole_request(data: bytes) -> Request | None:
    """``data`` as one request message and nothing else, or None."""
    if not (data.startswith(b"/?") and data.endswith(b"!\r\n")):
        return None
    try:
        return Request.from_bytes(data)
    except ProtocolError:
        return None


def _hear_each(data: bytes, sent: LineSettings, heard: LineSettings) -> bytes:
    """``hear`` for characters taken one at a time (junk depends on each alone)."""
    if sent.baud != heard.baud:
        return bytes(junk_byte(b * 7) for b in data)
    return hear(data, sent, heard)
