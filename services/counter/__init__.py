"""The counter service: unread counters per (user, chat), durable in Postgres, hot in Redis."""
