"""gRPC clients of the syncer, messenger and counter services."""

from __future__ import annotations

from common import runtime
from common.rpc.unread.v1 import counter_pb2_grpc, messenger_pb2_grpc, syncer_pb2_grpc
from gateway.config import GatewaySettings


class Upstreams:
    def __init__(self, syncer_addr: str, messenger_addr: str, counter_addr: str, timeout_s: float) -> None:
        self._channels = [runtime.channel(a) for a in (syncer_addr, messenger_addr, counter_addr)]
        self.syncer = syncer_pb2_grpc.SyncerStub(self._channels[0])
        self.messenger = messenger_pb2_grpc.MessengerStub(self._channels[1])
        self.counter = counter_pb2_grpc.CounterStub(self._channels[2])
        # Every call carries this deadline: a hung service must not hold a request or a socket forever.
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> "Upstreams":
        return cls(settings.syncer_addr, settings.messenger_addr, settings.counter_addr, settings.upstream_timeout_s)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
