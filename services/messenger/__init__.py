"""The messenger: chats, members, messages and read state, the source of truth."""
