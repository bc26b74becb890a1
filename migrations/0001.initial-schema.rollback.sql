DROP TABLE reconcile_runs, reconcile_watermarks, counters, counter_outbox, inbox, messages, chat_members, chats,
    refresh_tokens, users;
