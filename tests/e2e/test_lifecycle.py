"""Every service as a process: gRPC health SERVING, /metrics, and a clean exit on SIGTERM."""

from __future__ import annotations

import signal
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def test_services_report_health_serve_metrics_and_exit_cleanly_on_sigterm(fresh_stack):
    stack = fresh_stack()
    ports = stack.ports
    for name, grpc_port, http_port in (("messenger", ports.messenger, ports.messenger_http),
                                       ("counter", ports.counter, ports.counter_http),
                                       ("syncer", ports.syncer, ports.syncer_http)):
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=f"unread.v1.{name.capitalize()}"), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as response:
            assert response.status == 200
    with urllib.request.urlopen(f"{stack.url}/metrics", timeout=5) as response:
        assert b"gateway_http_requests_total" in response.read()

    for service in reversed(list(stack.group.services)):
        service.signal(signal.SIGTERM)
        assert service.process.wait(20) == 0, f"{service.name} did not exit cleanly"
        assert '"stopped"' in service.log_path.read_text()
