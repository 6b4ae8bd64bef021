"""The live order pages' watcher (web/live.py): one look per watched order, every open
stream of it woken by a change, nothing looked at once the last stream closes."""

from __future__ import annotations

from mailflip.web.live import LiveHub


async def test_a_change_wakes_every_stream_of_its_order_and_only_those() -> None:
    markers = {"o-1": ("a",), "o-2": ("x",)}
    looks: list[str] = []

    def marker(order_ids: list[str]) -> dict[str, tuple[object, ...]]:
        looks.append(",".join(order_ids))
        return {o: markers[o] for o in order_ids}

    hub = LiveHub(marker, every_s=0.01, gap_s=0.0)
    with hub.watching("o-1"), hub.watching("o-1"), hub.watching("o-2"):
        first = await hub.changed("o-1", 0, timeout_s=5)  # the first look
        other = await hub.changed("o-2", 0, timeout_s=5)
        assert first == 1 and other == 1
        markers["o-1"] = ("b",)
        assert await hub.changed("o-1", first, timeout_s=5) == 2
        assert hub.version("o-2") == 1  # o-2 did not change
        assert await hub.changed("o-2", other, timeout_s=0.05) == 1  # timed out as it was
    assert hub.version("o-1") == 0  # no stream left: no longer watched
    looked = len(looks)
    assert await hub.changed("o-1", 0, timeout_s=0.05) == 0
    assert len(looks) <= looked + 1  # the watcher stops with its last order


async def test_an_order_that_keeps_changing_wakes_its_streams_at_most_once_per_gap() -> None:
    n = [0]

    def marker(order_ids: list[str]) -> dict[str, tuple[object, ...]]:
        n[0] += 1  # a new value at every look: a pass writing progress all the time
        return {o: (n[0],) for o in order_ids}

    import asyncio

    loop = asyncio.get_running_loop()
    hub = LiveHub(marker, every_s=0.01, gap_s=0.3)
    with hub.watching("o-1"):
        first = await hub.changed("o-1", 0, timeout_s=5)
        woken = loop.time()
        looks = n[0]
        second = await hub.changed("o-1", first, timeout_s=5)
        assert second == first + 1
        assert loop.time() - woken >= 0.25  # not before the gap, however often it changed
        assert n[0] > looks + 1  # it was looked at all along
