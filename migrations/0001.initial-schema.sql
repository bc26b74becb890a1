-- The whole schema of version 1. Tables are grouped by the service that owns them;
-- only the reconciler reads across owners (see docs/data-model.md).

-- gateway: accounts and refresh tokens
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    name          text NOT NULL,
    surname       text NOT NULL,
    birthday      timestamptz NOT NULL,
    sex           text NOT NULL,
    city          text NOT NULL,
    interests     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A refresh token is good once: using it stamps used_at, and a second use is refused.
CREATE TABLE refresh_tokens (
    jti        uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- messenger: the source of truth
CREATE TABLE chats (
    id          uuid PRIMARY KEY,
    -- "<smaller user id>:<larger user id>": one chat per pair, whoever creates it.
    pair_key    text NOT NULL UNIQUE,
    create_time timestamptz NOT NULL DEFAULT now(),
    -- Messages are numbered 1..last_seq without gaps, so offset N is seq > N.
    last_seq    bigint NOT NULL DEFAULT 0
);

CREATE TABLE chat_members (
    chat_id    uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    -- Bumped in every transaction that changes this member's unread count;
    -- counter events carry it, so applying one is idempotent and ordered.
    unread_version bigint NOT NULL DEFAULT 0,
    unread_changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_members_user_idx ON chat_members (user_id, chat_id);
CREATE INDEX chat_members_changed_idx ON chat_members (unread_changed_at);

CREATE TABLE messages (
    id          uuid PRIMARY KEY,
    chat_id     uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    user_id     uuid NOT NULL,
    text        text NOT NULL,
    status      text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    client_id   text,
    UNIQUE (chat_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency_key ON messages (chat_id, user_id, client_id)
    WHERE client_id IS NOT NULL;

-- One row per (recipient, message) not yet read. `pending` rows wait for a live
-- delivery to be confirmed and are not counted; the others are the unread truth.
CREATE TABLE inbox (
    user_id    uuid NOT NULL,
    chat_id    uuid NOT NULL,
    seq        bigint NOT NULL,
    pending    boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, chat_id, seq)
);
CREATE INDEX inbox_pending_idx ON inbox (created_at) WHERE pending;

-- Transactional outbox: counter changes waiting to be applied by the counter service.
CREATE TABLE counter_outbox (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL,
    chat_id    uuid NOT NULL,
    delta      bigint NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX counter_outbox_created_idx ON counter_outbox (created_at);
CREATE INDEX counter_outbox_pair_idx ON counter_outbox (user_id, chat_id, version);

-- counter: durable counters (Redis holds the hot copy)
CREATE TABLE counters (
    user_id    uuid NOT NULL,
    chat_id    uuid NOT NULL,
    unread     bigint NOT NULL,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, chat_id)
);
CREATE INDEX counters_updated_idx ON counters (updated_at);

-- syncer: reconciliation. A shard's watermark is where its next incremental run starts.
CREATE TABLE reconcile_watermarks (
    shards        integer NOT NULL,
    shard         integer NOT NULL,
    checked_up_to timestamptz NOT NULL,
    PRIMARY KEY (shards, shard)
);

CREATE TABLE reconcile_runs (
    id          bigserial PRIMARY KEY,
    shard       integer NOT NULL,
    shards      integer NOT NULL,
    mode        text NOT NULL,
    full_scan   boolean NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    checked     bigint NOT NULL,
    drifted     bigint NOT NULL,
    repaired    bigint NOT NULL,
    result      text NOT NULL
);
