-- The team's chat channels (a Slack incoming webhook or a Microsoft Teams workflow webhook) and
-- which events each is told of. A message for a channel is a row of the outbox, written in the
-- transaction of the change it tells of and sent by the worker as an email is.
CREATE TABLE chat_channels (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    kind        text NOT NULL CHECK (kind IN ('slack', 'teams')),
    -- A secret: whoever has it posts to the channel. Shown again only as its host and last
    -- characters.
    url         text NOT NULL CHECK (length(url) BETWEEN 10 AND 2000),
    events      text[] NOT NULL CHECK (cardinality(events) > 0),
    -- Budgets in the messages only when the admin allows it.
    show_money  boolean NOT NULL DEFAULT false,
    created_by  bigint REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    removed_at  timestamptz
);
CREATE INDEX chat_channels_live_idx ON chat_channels (id) WHERE removed_at IS NULL;

ALTER TABLE outbox_messages ADD COLUMN chat_channel_id bigint REFERENCES chat_channels (id);
