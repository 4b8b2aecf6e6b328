"""Batches round-trip through the spool unchanged: every field, every value, every offset."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.protocol import Value
from poller.readings import Quality, Reading, ReadingBatch
from poller.spool import Spool, decode_batch, encode_batch

from ..sinks.helpers import batch, failed_batch

texts = st.text(max_size=12)
optional_texts = st.none() | texts
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=offsets
)
plain_values = st.builds(Value, text=texts, unit=optional_texts, timestamp_text=optional_texts)
values = plain_values | st.builds(
    Value, text=texts, parts=st.lists(plain_values, min_size=2, max_size=3).map(tuple)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def batches(draw: st.DrawFn) -> ReadingBatch:
    bus, meter, taken_at = draw(texts), draw(texts), draw(moments)
    shared = {"bus": bus, "meter": meter, "taken_at": taken_at}

    def reading() -> Reading:
        # Mostly the batch's own fields, sometimes others: both encodings are exercised.
        fields = {
            k: draw(st.just(v) | (moments if k == "taken_at" else texts)) for k, v in shared.items()
        }
        return Reading(
            **fields,
            address=draw(optional_texts),
            obis=draw(optional_texts),
            values=tuple(draw(st.lists(values, max_size=3))),
            ident=draw(optional_texts),
            meter_name=draw(optional_texts),
            slot=draw(st.none() | moments),
            meter_time=draw(st.none() | moments),
            quality=draw(st.sampled_from(list(Quality))),
        )

    return ReadingBatch(
        **shared,
        readings=tuple(reading() for _ in range(draw(st.integers(0, 4)))),
        meter_name=draw(optional_texts),
        ident=draw(optional_texts),
        slot=draw(st.none() | moments),
        error=draw(optional_texts),
        duration=draw(st.floats(min_value=0, max_value=1e6)),
        baud=draw(st.none() | st.sampled_from([300, 9600])),
        repeats=draw(st.integers(0, 9)),
        extra=draw(st.dictionaries(texts, json_values, max_size=3)),
    )


def same(a: ReadingBatch, b: ReadingBatch) -> bool:
    """Equal, and every time stamp keeps its offset (``==`` alone compares instants)."""

    def stamps(x: ReadingBatch) -> list[str | None]:
        times = [x.taken_at, x.slot]
        for r in x.readings:
            times += [r.taken_at, r.slot, r.meter_time]
        return [t.isoformat() if t else None for t in times]

    return a == b and stamps(a) == stamps(b)


@given(batches())
def test_a_batch_encodes_and_decodes_unchanged(original: ReadingBatch) -> None:
    assert same(decode_batch(encode_batch(original)), original)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(batches(), min_size=1, max_size=4))
async def test_batches_round_trip_through_the_spool_unchanged(
    originals: list[ReadingBatch],
) -> None:
    async def main(state: Path) -> list[ReadingBatch]:
        async with Spool(state) as spool:
            for b in originals:
                await spool.put(b)
        async with Spool(state) as spool:  # reopened: what came back is what is on disk
            return [e.batch for e in await spool.fetch("reader", limit=100)]

    with tempfile.TemporaryDirectory() as state:
        back = await main(Path(state))
    assert len(back) == len(originals)
    assert all(same(a, b) for a, b in zip(back, originals, strict=True))


def test_readings_sharing_the_batchs_fields_are_stored_once() -> None:
    one = encode_batch(batch(0, size=1))
    thirty = encode_batch(batch(0, size=30))
    # Each further reading costs its own fields only, not the meter, bus, ident and times.
    assert (len(thirty) - len(one)) / 29 < 80
    assert decode_batch(encode_batch(failed_batch(3))) == failed_batch(3)
