"""Knowing that nothing more will arrive, instead of sleeping and hoping.

A test that checks that a message did *not* come (a duplicate, one more than it
sent, any at all after a refused login) cannot wait for the absence itself; a
sleep of "long enough" is flaky on a busy machine and slow on an idle one. Over
MQTT there is an exact moment instead: the broker handles publishes one after the
other and forwards them to a subscriber in that order, so a marker published
*after* the publishes under test (whose PUBACKs the publisher already has, i.e. that
the broker has already routed) reaches the subscriber after every one of them. Once
the marker is in, whatever the test has not received by then is never coming.

``mqtt_flushed`` publishes such a marker on a topic the test's subscriber listens
to, waits for it in the subscriber's list, and takes it out again, so the test's
assertions see exactly the messages they saw before.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiomqtt
import pytest


async def mqtt_flushed(
    address: tuple[str, int],
    topic: str,
    messages: list[aiomqtt.Message],
    *,
    timeout: float = 10.0,
    **client_options: Any,
) -> None:
    """Return once every message the broker routed before this call is in ``messages``.

    ``topic``: one the subscriber that fills ``messages`` is subscribed to;
    ``client_options``: what the broker needs of a client (TLS, credentials).
    """
    marker = f"quiet-{uuid.uuid4().hex}".encode()
    async with aiomqtt.Client(*address, **client_options) as client:
        # QoS 1 as the sinks publish: one queue, one order, at the subscriber.
        await client.publish(topic, marker, qos=1)
    deadline = time.monotonic() + timeout
    while not any(m.payload == marker for m in messages):
        if time.monotonic() > deadline:
            pytest.fail(f"the marker on {topic} did not come back; got {len(messages)} messages")
        await asyncio.sleep(0.005)
    messages[:] = [m for m in messages if m.payload != marker]
