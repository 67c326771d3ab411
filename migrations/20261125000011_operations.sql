-- After approval: the Ops Lead's change task (forward to SEM, planner sheet, account status),
-- the SEM specialist's task to pause the ads, the planner sheet, and calendar feeds.

ALTER TABLE change_tasks
    ADD COLUMN forwarded_to      bigint REFERENCES users (id),
    ADD COLUMN forwarded_by      bigint REFERENCES users (id),
    ADD COLUMN forwarded_at      timestamptz,
    ADD COLUMN status_updated_by bigint REFERENCES users (id),
    ADD COLUMN status_updated_at timestamptz,
    ADD COLUMN done_by           bigint REFERENCES users (id),
    ADD CONSTRAINT forwarded_whole CHECK ((forwarded_to IS NULL) = (forwarded_at IS NULL)),
    ADD CONSTRAINT done_whole CHECK ((done_by IS NULL) = (done_at IS NULL));

ALTER TABLE client_status_history
    ADD COLUMN effective_date date;

-- The planner sheet: upcoming cancellations and pauses, one entry per request.
CREATE TABLE planner_entries (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id  bigint NOT NULL UNIQUE REFERENCES change_requests (id),
    client_id          bigint NOT NULL REFERENCES clients (id),
    kind               text NOT NULL CHECK (kind IN ('cancellation', 'pause')),
    effective_date     date NOT NULL,
    resume_date        date,
    sem_specialist_id  bigint REFERENCES users (id),
    account_manager_id bigint REFERENCES users (id),
    added_by           bigint NOT NULL REFERENCES users (id),
    added_at           timestamptz NOT NULL DEFAULT now(),
    removed_at         timestamptz,
    CONSTRAINT resume_after CHECK (resume_date IS NULL OR resume_date >= effective_date)
);
CREATE INDEX planner_entries_date_idx ON planner_entries (effective_date, id) WHERE removed_at IS NULL;
CREATE INDEX planner_entries_sem_idx ON planner_entries (sem_specialist_id, effective_date)
    WHERE removed_at IS NULL;

-- The SEM specialist's task: pause the ads by the effective date.
CREATE TABLE sem_tasks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL UNIQUE REFERENCES change_requests (id),
    assignee          bigint NOT NULL REFERENCES users (id),
    due_on            date NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    done_at           timestamptz,
    done_by           bigint REFERENCES users (id),
    note              text,
    cancelled_at      timestamptz,
    CONSTRAINT done_whole CHECK ((done_by IS NULL) = (done_at IS NULL))
);
CREATE INDEX sem_tasks_open_idx ON sem_tasks (assignee, due_on)
    WHERE done_at IS NULL AND cancelled_at IS NULL;

-- A personal calendar feed: calendar apps cannot sign in, so the secret is in the address.
-- Only its hash is kept; revoking ends it.
CREATE TABLE calendar_feeds (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE UNIQUE INDEX calendar_feeds_one_active ON calendar_feeds (user_id) WHERE revoked_at IS NULL;

CREATE INDEX change_requests_completed_idx ON change_requests (state, id) WHERE state = 'completed';
ALTER TABLE change_requests ADD COLUMN completed_at timestamptz;
