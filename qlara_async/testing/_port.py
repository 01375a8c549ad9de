"""The simulator as handlers reach it: :class:`SimulatorPort` implements
:class:`~qlara_async.testing.handlers._api.Port` over a :class:`~qlara_async.testing.Simulator`,
the one place that touches the simulator's state on the handlers' behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import SimClock
from ._records import ProcessedMessage
from ._store import Collection
from .handlers._api import Sent, Settings

if TYPE_CHECKING:
    from ._app import Simulator

__all__ = ["SimulatorPort"]


class SimulatorPort:
    """The simulator as handlers reach it (:class:`~.handlers._api.Port`): the de-duplication
    store, the processed log, the counters and the resource store, and nothing else."""

    __slots__ = ("_sim",)

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    @property
    def settings(self) -> Settings:
        return self._sim

    @property
    def clock(self) -> SimClock:
        return self._sim.clock

    def seen(self, key: str, channel: str, message_id: str) -> bytes | None:
        found = self._sim._seen.get((key, channel, message_id))
        if found is not None:
            self._sim.stats.duplicates += 1
        return found

    def remember(self, key: str, channel: str, message_id: str, body: bytes) -> None:
        self._sim._seen[(key, channel, message_id)] = body

    def record(
        self,
        key: str,
        now: float,
        message_id: str,
        channel: str,
        destination: str,
        digest: str,
        accepted: bool,
    ) -> None:
        self._sim.stats.processed += 1
        message = ProcessedMessage(message_id, channel, destination, digest, now, key, accepted)
        self._sim.processed.append(message)
        self._sim.callbacks.on_processed(message)

    def count_simulated(self) -> None:
        self._sim.stats.simulated += 1

    def sent(self, key: str) -> list[Sent]:
        return [
            Sent(m.message_id, m.channel, m.destination, m.time, m.accepted)
            for m in self._sim.processed
            if m.key == key
        ]

    def collection(self, key: str, name: str) -> Collection:
        return self._sim._store.collection(key, name)
