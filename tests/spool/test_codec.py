"""Batches round-trip through the spool unchanged: every field, every value, every offset."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poller.protocol import Value
from poller.readings import (
    BatchContext,
    CommandError,
    Failure,
    FailureKind,
    ProfileSpan,
    Quality,
    Reading,
    ReadingBatch,
)
from poller.spool import Spool, decode_batch, encode_batch
from tests.builders import identification, obis

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


identifications = st.sampled_from(
    [identification(t) for t in ("/LGZ4ZMF100AC.M26", "/EMH5\\2LZQJC", "/ISk5MT174-0001")]
)
obis_codes = st.sampled_from(["1.8.0", "1-0:2.8.0*255", "C.1.0", "0-0:96.1.0", "F.F"]).map(obis)
contexts = st.builds(
    BatchContext,
    bus=texts,
    meter=texts,
    taken_at=moments,
    meter_name=optional_texts,
    identification=st.none() | identifications,
    slot=st.none() | moments,
)


@st.composite
def batches(draw: st.DrawFn) -> ReadingBatch:
    context = draw(contexts)

    def reading() -> Reading:
        # Mostly the batch's own context, sometimes another: both encodings are exercised.
        return Reading(
            context=draw(st.just(context) | contexts),
            address=draw(optional_texts),
            obis=draw(st.none() | obis_codes),
            values=tuple(draw(st.lists(values, max_size=3))),
            meter_time=draw(st.none() | moments),
            quality=draw(st.sampled_from(list(Quality))),
        )

    return ReadingBatch(
        context=context,
        readings=tuple(reading() for _ in range(draw(st.integers(0, 4)))),
        failure=draw(
            st.none()
            | st.builds(
                Failure, st.sampled_from(list(FailureKind)), texts, st.none() | st.just("Error")
            )
        ),
        duration=draw(st.floats(min_value=0, max_value=1e6)),
        baud=draw(st.none() | st.sampled_from([300, 9600])),
        repeats=draw(st.integers(0, 9)),
        command_errors=tuple(draw(st.lists(st.builds(CommandError, texts, texts), max_size=2))),
        profiles_without_data=tuple(draw(st.lists(texts, max_size=2))),
        profile_ranges=tuple(
            draw(
                st.lists(
                    st.builds(ProfileSpan, profile=texts, start=moments, end=st.none() | moments),
                    max_size=2,
                )
            )
        ),
    )


def same(a: ReadingBatch, b: ReadingBatch) -> bool:
    """Equal, and every time stamp keeps its offset (``==`` alone compares instants)."""

    def stamps(x: ReadingBatch) -> list[str | None]:
        times = [x.taken_at, x.slot]
        times += [t for s in x.profile_ranges for t in (s.start, s.end)]
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


def test_the_context_is_stored_once_and_shared_again_after_decoding() -> None:
    body = encode_batch(batch(0, size=30))
    assert body.count("LGZ4ZMF100AC.M26") == 1
    back = decode_batch(body)
    assert all(r.context is back.context for r in back.readings)
