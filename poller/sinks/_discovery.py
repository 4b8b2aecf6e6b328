"""Home Assistant MQTT discovery: the sensor config the ``mqtt`` sink announces.

Before the first state of a (meter, register) the sink publishes, retained, a
sensor config under ``<prefix>/sensor/<node>/<register>/config``: the meter is the
device (identifiers, manufacturer from the identification's FLAG ID through
``poller.protocol.manufacturer_name``, model), the register a sensor whose
``device_class``/``state_class``/``unit_of_measurement`` follow from its unit (kWh:
energy, total_increasing; kW: power, measurement; m3: gas or water ...).
Billing-period values (``1.8.0*12``) keep their device class but get no state
class: a past total is not a running one. Load-profile intervals are history, not
a sensor's state, and are not announced.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal, Protocol

import poller
from poller.protocol import ObisCode, manufacturer_name
from poller.readings import Reading

__all__ = ["DiscoverySettings", "discovery_config", "slug"]


class DiscoverySettings(Protocol):
    """What discovery reads of the sink's settings (``MqttSettings`` has it)."""

    @property
    def qos(self) -> Literal[0, 1, 2]: ...

    @property
    def payload(self) -> Literal["record", "value"]: ...

    @property
    def discovery_prefix(self) -> str: ...

    @property
    def volume_class(self) -> Literal["gas", "water"]: ...


def slug(text: str) -> str:
    """``text`` as a topic level and an object id: letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


# Home Assistant's sensor device classes and the units it accepts for them (the
# sensor docs); the meter's spelling (any case) -> (device class, state class, unit).
_ENERGY: Final = "total_increasing"
_NOW: Final = "measurement"
_HA_UNITS: Final[dict[str, tuple[str | None, str, str]]] = {
    "wh": ("energy", _ENERGY, "Wh"),
    "kwh": ("energy", _ENERGY, "kWh"),
    "mwh": ("energy", _ENERGY, "MWh"),
    "mj": ("energy", _ENERGY, "MJ"),
    "gj": ("energy", _ENERGY, "GJ"),
    "varh": ("reactive_energy", _ENERGY, "varh"),
    "kvarh": ("reactive_energy", _ENERGY, "kvarh"),
    "vah": (None, _ENERGY, "VAh"),
    "kvah": (None, _ENERGY, "kVAh"),
    "w": ("power", _NOW, "W"),
    "kw": ("power", _NOW, "kW"),
    "var": ("reactive_power", _NOW, "var"),
    "kvar": ("reactive_power", _NOW, "kvar"),
    "va": ("apparent_power", _NOW, "VA"),
    "kva": ("apparent_power", _NOW, "kVA"),
    "v": ("voltage", _NOW, "V"),
    "kv": ("voltage", _NOW, "kV"),
    "a": ("current", _NOW, "A"),
    "hz": ("frequency", _NOW, "Hz"),
    "m3": ("volume", _ENERGY, "m³"),  # "volume": replaced by gas or water below
    "m³": ("volume", _ENERGY, "m³"),
    "l": ("water", _ENERGY, "L"),
    "m3/h": ("volume_flow_rate", _NOW, "m³/h"),
    "m³/h": ("volume_flow_rate", _NOW, "m³/h"),
    "°c": ("temperature", _NOW, "°C"),
    "degc": ("temperature", _NOW, "°C"),
    "c": ("temperature", _NOW, "°C"),
    "k": ("temperature", _NOW, "K"),
}
# OBIS value group A: the medium (IEC 62056-61).
_MEDIUM_GAS: Final = 7
_MEDIUM_WATER: Final = frozenset({8, 9})
_CURRENT_F: Final = 255


def discovery_config(
    reading: Reading,
    record: dict[str, Any],
    state_topic: str,
    settings: DiscoverySettings,
    availability_topic: str,
) -> tuple[str, dict[str, Any]] | None:
    """The Home Assistant config topic and payload of the reading's sensor.

    None for a reading that is not a sensor's state (a load-profile interval).
    """
    address = reading.address or record["obis"]
    if address is None or address.startswith("P."):
        return None
    obis = ObisCode.parse(address) or reading.obis
    node = slug(f"iec_poller_{reading.meter}")
    object_id = slug(address)
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = reading.unit
    numeric = reading.decimal is not None
    known = _HA_UNITS.get((reading.unit or "").strip().lower()) if numeric else None
    if known is not None:
        device_class, state_class, unit = known
        if device_class == "volume":
            medium = obis.a if obis is not None else None
            if medium == _MEDIUM_GAS:
                device_class = "gas"
            elif medium in _MEDIUM_WATER:
                device_class = "water"
            else:
                device_class = settings.volume_class
        if obis is not None and obis.f is not None and obis.f != _CURRENT_F:
            state_class = None
    payload: dict[str, Any] = {
        "name": record.get("name") or address,
        "unique_id": f"{node}_{object_id}",
        "state_topic": state_topic,
        "availability_topic": availability_topic,
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": _device(reading, node),
        "origin": {"name": "iec-poller", "sw_version": poller.__version__},
        "qos": settings.qos,
    }
    if settings.payload == "record":
        # The record keeps the value as the meter wrote it (leading zeros, decimal
        # comma); the template makes the number Home Assistant expects.
        payload["value_template"] = (
            "{{ value_json.value | replace(',', '.') | float }}"
            if numeric
            else "{{ value_json.value }}"
        )
        payload["json_attributes_topic"] = state_topic
        payload["json_attributes_template"] = (
            "{{ {'quality': value_json.quality, 'taken_at': value_json.taken_at,"
            " 'meter_time': value_json.meter_time, 'obis': value_json.obis} | tojson }}"
        )
    if device_class is not None:
        payload["device_class"] = device_class
    if state_class is not None:
        payload["state_class"] = state_class
    if unit and numeric:
        payload["unit_of_measurement"] = unit
    topic = f"{settings.discovery_prefix}/sensor/{node}/{object_id}/config"
    return topic, payload


def _device(reading: Reading, node: str) -> dict[str, Any]:
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": reading.meter_name or f"Meter {reading.meter}",
        "serial_number": reading.meter,
    }
    identification = reading.identification
    if identification is not None:
        flag = identification.manufacturer
        device["manufacturer"] = manufacturer_name(flag) or flag
        # The identification's own part, without the FLAG ID, the baud rate character
        # and the enhanced-ident escapes (IEC 62056-21 6.3.14).
        model = identification.ident.strip()
        if model:
            device["model"] = model
    return device
