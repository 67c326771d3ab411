-- Clients: the ad products they can have, their status history, and search by name or id.

-- The ad products a client may have. The offboarding checklist keys on these, so they are rows,
-- not free text: an admin may add one, never misspell one.
CREATE TABLE ad_products (
    key        text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]*$'),
    label      text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    retired_at timestamptz
);
INSERT INTO ad_products (key, label, position) VALUES
    ('google_ads', 'Google Ads', 1),
    ('microsoft_ads', 'Microsoft Ads', 2),
    ('facebook', 'Facebook', 3),
    ('fluency', 'Fluency', 4);

-- Every status (and budget) a client has had: who changed it, when, and which change request
-- caused it (the change-request work fills that column in).
CREATE TABLE client_status_history (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id            bigint NOT NULL REFERENCES clients (id),
    status               text NOT NULL
                         CHECK (status IN ('active', 'paused', 'cancelled_dms', 'left_platform')),
    monthly_budget_cents bigint NOT NULL,
    changed_by           bigint REFERENCES users (id),
    change_request_id    bigint,
    note                 text NOT NULL DEFAULT '',
    at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX client_status_history_client_idx ON client_status_history (client_id, id);

-- Existing clients start their history with what they are now.
INSERT INTO client_status_history (client_id, status, monthly_budget_cents, note)
SELECT id, status, monthly_budget_cents, 'Recorded when history began' FROM clients;

-- Finding a client by any part of its name or account id, fast at tens of thousands of rows.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX clients_name_trgm_idx ON clients USING gin (lower(name) gin_trgm_ops);
CREATE INDEX clients_crm_id_trgm_idx ON clients USING gin (lower(crm_account_id) gin_trgm_ops);

-- Optimistic concurrency for edits, as for users.
ALTER TABLE clients ADD COLUMN version integer NOT NULL DEFAULT 1;

-- A client list uploaded for import, kept until confirmed so the preview and the import read
-- the same file.
CREATE TABLE client_imports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uploaded_by  bigint NOT NULL REFERENCES users (id),
    file_name    text NOT NULL,
    content      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    applied_at   timestamptz
);
