"""The whole system on one machine: embedded Postgres and Redis, four service processes."""
