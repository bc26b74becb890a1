"""Benchmarks of the whole system, driven through its public API: `python -m bench [scenario ...]`.

Each scenario starts the services the way `make run` does (devstack) on a scratch
database, drives them with real WebSocket and HTTP clients running in processes of
their own, and reports throughput and p50/p95/p99 latency beside raw Postgres and
Redis baselines measured in the same run. See docs/performance.md.
"""
