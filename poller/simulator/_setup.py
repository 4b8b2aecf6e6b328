"""Putting a bus together from what a user names: a profile (times N) or a meters file.

Shared by ``iec-poller simulate`` and ``sim://`` URLs, so both read the same meters
from the same words.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

from ._bus import VirtualBus
from ._config import BusConfig, load_config
from ._meter import SimulatedMeter
from ._model import Fixed, MeterSpec
from ._profiles import get_profile

__all__ = ["build_bus", "nth_address", "select_meters"]

_TRAILING_DIGITS = re.compile(r"(\d*)$")


def nth_address(address: str, offset: int) -> str:
    """``address`` with its trailing number increased by ``offset``, width kept."""
    digits = _TRAILING_DIGITS.search(address)
    assert digits is not None  # matches the empty string at the end at least
    text = digits.group(1) or "0"
    number = str(int(text) + offset).zfill(len(text))
    return address[: digits.start()] + number


def select_meters(
    *,
    profile: str | None = None,
    count: int = 1,
    config: str | Path | None = None,
    seed: int | None = None,
) -> BusConfig:
    """The meters of a profile ``count`` times, or of a meters file; ``seed`` overrides.

    Copies of a profile get consecutive addresses (also in the registers that show
    the serial number) and consecutive seeds, so that their load curves differ as
    those of neighbouring households do. Raises ``KeyError`` for
    an unknown profile and ``ConfigFileError`` for a bad file.
    """
    if (profile is None) == (config is None):
        raise ValueError("name either a profile or a meters file")
    if config is not None:
        loaded = load_config(config)
        specs = loaded.meters
        if seed is not None:
            specs = tuple(s.with_address(s.address, seed=seed) for s in specs)
        return BusConfig(meters=specs, epoch=loaded.epoch)
    if count < 1:
        raise ValueError("count must be at least 1")
    assert profile is not None
    base = get_profile(profile)
    first = base.seed if seed is None else seed
    meters = [_renumbered(base, nth_address(base.address, i), first + i) for i in range(count)]
    return BusConfig(meters=tuple(meters))


def _renumbered(spec: MeterSpec, address: str, seed: int) -> MeterSpec:
    """A copy with another address, and that address in the registers showing it."""
    registers = tuple(
        dataclasses.replace(
            r, source=Fixed(value=r.source.value.replace(spec.address, address), unit=r.source.unit)
        )
        if isinstance(r.source, Fixed) and spec.address in r.source.value
        else r
        for r in spec.registers
    )
    return dataclasses.replace(spec.with_address(address, seed=seed), registers=registers)


def build_bus(
    config: BusConfig,
    *,
    epoch: datetime | None = None,
    start: float = 0.0,
    rx_latency: float = 0.0,
) -> VirtualBus:
    """A bus of fresh meters; time 0 is ``epoch``, the file's epoch, or now."""
    moment = epoch or config.epoch or datetime.now(UTC)
    return VirtualBus(
        [SimulatedMeter(spec, epoch=moment, start=start) for spec in config.meters],
        start=start,
        rx_latency=rx_latency,
    )
