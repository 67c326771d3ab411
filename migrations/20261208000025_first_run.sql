-- The first run of a real installation: the parts of setting the desk up that are a judgment
-- rather than a fact in the data (the reasons and the checklist ship with defaults an admin
-- reviews), each noted once when the admin says it is right.
CREATE TABLE setup_steps (
    step    text PRIMARY KEY CHECK (step IN ('reasons', 'checklist')),
    done_at timestamptz NOT NULL DEFAULT now(),
    done_by bigint REFERENCES users (id)
);

-- The first administrator's one-time links (only their hashes): any instance checks any of
-- them, and creating the administrator spends them all.
CREATE TABLE setup_tokens (
    token_hash bytea PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- "A test message went out": found without reading the outbox, however long it grows.
CREATE INDEX outbox_messages_test_sent_idx ON outbox_messages (id)
    WHERE kind = 'test' AND state = 'sent';
