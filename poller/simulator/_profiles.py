"""Built-in meters, each shaped after a real meter of ``shared/corpus`` (values are ours).

Every profile cites the corpus file whose identification, data-set layout and
timing it follows. Serial numbers, readings and idents are made up.
"""

from __future__ import annotations

from dataclasses import dataclass

from poller.protocol import Mode

from ._model import (
    SOLAR_CURVE,
    Channel,
    Demand,
    Energy,
    Fixed,
    Instant,
    LoadCurve,
    LoadProfileSpec,
    LogbookSpec,
    MaxDemand,
    MeterClock,
    MeterSpec,
    PasswordSpec,
    ProfileChannel,
    Register,
)

__all__ = ["Profile", "get_profile", "profiles"]

_HOUSE = Channel(name="import", curve=LoadCurve(mean_kw=0.55))
_PV = Channel(name="export", curve=LoadCurve(mean_kw=0.35, hourly=SOLAR_CURVE, day_jitter=0.5))
_REACTIVE = Channel(name="reactive", curve=LoadCurve(mean_kw=0.08))


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    spec: MeterSpec


def _zmd() -> MeterSpec:
    # landisgyr_e350_zmf100ac_m26_readout.txt: short EDIS codes, F.F first, a
    # space-padded serial in 0.0, tariff registers, then phase values and status.
    return MeterSpec(
        address="31002781",
        manufacturer="LGZ",
        baud_char="5",
        ident="ZMD310CR.S40",
        reaction_time=0.2,
        channels=(_HOUSE, _PV),
        registers=(
            Register(code="F.F", source=Fixed(value="00")),
            Register(code="0.0", source=Fixed(value="        31002781")),
            Register(code="C.1.0", source=Fixed(value="31002781")),
            Register(code="1.8.1", source=Energy(channel="import", tariff=1, initial=8412.5)),
            Register(code="1.8.2", source=Energy(channel="import", tariff=2, initial=3120.25)),
            Register(code="2.8.1", source=Energy(channel="export", tariff=1, initial=950.0)),
            Register(code="2.8.2", source=Energy(channel="export", tariff=2, initial=12.5)),
            Register(code="1.8.0", source=Energy(channel="import", initial=11532.75)),
            Register(code="2.8.0", source=Energy(channel="export", initial=962.5)),
            Register(code="1.6.0", source=MaxDemand(channel="import")),
            Register(code="32.7", source=Instant(quantity="voltage", phase=1, decimals=0)),
            Register(code="52.7", source=Instant(quantity="voltage", phase=2, decimals=0)),
            Register(code="72.7", source=Instant(quantity="voltage", phase=3, decimals=0)),
            Register(
                code="31.7", source=Instant(quantity="current", phase=1, decimals=2, unit="A")
            ),
            Register(
                code="51.7", source=Instant(quantity="current", phase=2, decimals=2, unit="A")
            ),
            Register(
                code="71.7", source=Instant(quantity="current", phase=3, decimals=2, unit="A")
            ),
            Register(code="0.9.1", source=MeterClock(part="time")),
            Register(code="0.9.2", source=MeterClock(part="date")),
            Register(code="0.2.0", source=Fixed(value="S40")),
            Register(code="C.5.0", source=Fixed(value="0401")),
        ),
    )


def _e350() -> MeterSpec:
    # landisgyr_e350_zmf100ac_m26_readout.txt: the 4800 Bd E350 (/LGZ4...).
    base = _zmd()
    return MeterSpec(
        address="41877312",
        manufacturer="LGZ",
        baud_char="4",
        ident="ZMF110AC.M31",
        channels=base.channels,
        registers=base.registers,
    )


def _mt174() -> MeterSpec:
    # iskra_mt174_0001/0002: /ISk5MT174-0001, lowercase k (tr 20 ms), full OBIS codes.
    return MeterSpec(
        address="60912204",
        manufacturer="ISk",
        baud_char="5",
        ident="MT174-0001",
        reaction_time=0.02,
        seed=174,
        channels=(_HOUSE,),
        registers=(
            Register(code="1-0:0.0.0*255", source=Fixed(value="60912204")),
            Register(code="1-0:0.9.2*255", source=MeterClock(part="date")),
            Register(code="1-0:0.9.1*255", source=MeterClock(part="time")),
            Register(
                code="1-0:1.8.0*255", source=Energy(channel="import", initial=402.5, digits=7)
            ),
            Register(code="1-0:1.8.1*255", source=Energy(channel="import", tariff=1, digits=7)),
            Register(code="1-0:1.8.2*255", source=Energy(channel="import", tariff=2, digits=7)),
            Register(code="1-0:1.6.0*255", source=MaxDemand(channel="import")),
        ),
    )


def _ehz() -> MeterSpec:
    # emh_ehz_e0018e_modeD.txt: a push meter, telegrams one after another, 4 decimals
    # and no unit on the energy register, a status word and the property number.
    return MeterSpec(
        address="1ESY1160337711",
        manufacturer="EMH",
        baud_char="3",
        mode=Mode.D,
        ident="----eHZ-E0021F",
        push_interval=2.0,
        channels=(_HOUSE,),
        registers=(
            Register(code="1-0:0.0.0*255", source=Fixed(value="331200-5011742")),
            Register(
                code="1-0:1.8.1*255",
                source=Energy(channel="import", initial=12044.0, decimals=4, unit=""),
            ),
            Register(code="1-0:96.5.5*255", source=Fixed(value="80")),
            Register(code="0-0:96.1.255*255", source=Fixed(value="0000711093")),
        ),
    )


def _lzqj() -> MeterSpec:
    # emh_lzqj_p01_load_profile.txt / emh_lzqj_p98_logbook.txt and the LZQJ transcript:
    # /EMH4\@01LZQJ..., empty P0 operand, a 6-channel quarter-hour profile.
    return MeterSpec(
        address="06417290",
        manufacturer="EMH",
        baud_char="4",
        ident="01LZQJL0021G",
        escapes=("@",),
        seed=4,
        channels=(_HOUSE, _PV, _REACTIVE),
        registers=(
            Register(code="0.0.0", source=Fixed(value="06417290")),
            Register(code="1.8.0", source=Energy(channel="import", initial=20311.1, digits=8)),
            Register(code="2.8.0", source=Energy(channel="export", initial=1805.7, digits=8)),
            Register(code="1.5.0", source=Demand(channel="import")),
            Register(code="1.6.0", source=MaxDemand(channel="import")),
            Register(code="0.9.1", source=MeterClock(part="time")),
            Register(code="0.9.2", source=MeterClock(part="date")),
        ),
        load_profile=LoadProfileSpec(
            channels=(
                ProfileChannel(code="1.5", unit="kW", channel="import"),
                ProfileChannel(code="2.5", unit="kW", channel="export"),
                ProfileChannel(code="5.5", unit="kvar", channel="reactive"),
                ProfileChannel(code="8.5", unit="kvar", channel="reactive"),
            ),
        ),
        logbook=LogbookSpec(),
        password=PasswordSpec(scheme="plain", operand=""),
        partial_block_lines=48,
    )


def _metcom() -> MeterSpec:
    # metcom_mcs_p01_load_profile.txt and the MetCom P.98 transcript: P0 carries the
    # serial, profile columns named with full OBIS codes, R5 without password.
    return MeterSpec(
        address="50710000072",
        manufacturer="MCS",
        baud_char="5",
        ident="V0050710000072",
        escapes=("@",),
        seed=5,
        channels=(_HOUSE, _REACTIVE),
        registers=(
            Register(code="1-0:0.0.0", source=Fixed(value="50710000072")),
            Register(code="1-0:1.8.0", source=Energy(channel="import", initial=5120.0)),
            Register(code="1-0:1.5.0", source=Demand(channel="import")),
            Register(code="0-0:0.9.1", source=MeterClock(part="time")),
            Register(code="0-0:0.9.2", source=MeterClock(part="date")),
        ),
        load_profile=LoadProfileSpec(
            status="08",
            channels=(
                ProfileChannel(code="1-0:1.5.0", unit="kW", channel="import"),
                ProfileChannel(code="1-0:5.5.0", unit="kvar", channel="reactive"),
            ),
        ),
        logbook=LogbookSpec(outages_per_month=3.0),
        password=PasswordSpec(scheme="plain", operand="00000072"),
    )


def _a1140() -> MeterSpec:
    # PROTOCOL.md 6: the Elster A1140 answers P0 with an 8-byte hex seed and wants P2.
    return MeterSpec(
        address="35561029",
        manufacturer="ELS",
        baud_char="5",
        ident="A1140",
        channels=(_HOUSE,),
        registers=(Register(code="1.8.0", source=Energy(channel="import", initial=733.0)),),
        password=PasswordSpec(
            scheme="elster-a1140",
            password="ABCDEFGH",  # noqa: S106 - a simulated meter's, published on purpose
            operand="7E3A19C4D2086B5F",
        ),
    )


_PROFILES = (
    Profile("lg-zmd", "Landis+Gyr ZMD-like, mode C 9600 Bd, tr 200 ms", _zmd()),
    Profile("lg-e350", "Landis+Gyr E350-like, mode C 4800 Bd, tr 200 ms", _e350()),
    Profile("iskra-mt174", "Iskra MT174-like /ISk5, mode C 9600 Bd, tr 20 ms", _mt174()),
    Profile("emh-ehz", "EMH eHZ-like push meter, mode D 2400 Bd", _ehz()),
    Profile("emh-lzqj", "EMH LZQJ-like, mode C 4800 Bd, P.01 and P.98 (password P1)", _lzqj()),
    Profile("metcom", "MetCom MCS-like, mode C 9600 Bd, P.01 and P.98, serial in P0", _metcom()),
    Profile("elster-a1140", "Elster A1140-like, mode C 9600 Bd, P2 password", _a1140()),
)


def profiles() -> tuple[Profile, ...]:
    """Every built-in profile, in listing order."""
    return _PROFILES


def get_profile(name: str) -> MeterSpec:
    for profile in _PROFILES:
        if profile.name == name:
            return profile.spec
    raise KeyError(name)
