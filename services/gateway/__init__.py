"""The public edge: REST and WebSocket on port 10000, accounts and JWTs, gRPC to the other services."""
