-- People, their sign-in sessions, sign-in throttling and the audit log.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    display_name    text NOT NULL,
    password_hash   text NOT NULL,
    -- A user may hold several roles; the list is closed so a typo cannot invent one.
    roles           text[] NOT NULL DEFAULT '{}' CHECK (roles <@ ARRAY[
                        'account_manager', 'retention', 'team_lead', 'department_manager',
                        'approver', 'finance', 'accounting', 'ops_lead', 'dm_leadership',
                        'sem_specialist', 'contractor', 'admin']::text[]),
    disabled_at     timestamptz,
    -- Bumped by every edit so a form opened before someone else's edit cannot overwrite it.
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_not_blank CHECK (btrim(email) <> ''),
    CONSTRAINT users_display_name_not_blank CHECK (btrim(display_name) <> '')
);
-- Emails are compared case-insensitively: one account per address however it is typed.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_roles_idx ON users USING gin (roles);
CREATE INDEX users_display_name_idx ON users (lower(display_name), id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Server-side sessions, so several app instances share them and disabling a user ends them at once.
-- Only a SHA-256 of the cookie's secret is stored: a copy of this table opens no session.
CREATE TABLE sessions (
    id_hash             bytea PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    absolute_expires_at timestamptz NOT NULL,
    -- A one-shot message shown on the next page ("User saved.").
    flash               text,
    ip                  text,
    user_agent          text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_last_seen_idx ON sessions (last_seen_at);

-- Failed sign-ins, counted per account and per address to throttle guessing.
CREATE TABLE sign_in_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    ip          text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email_idx ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (ip, at);

-- The record of who did what, when. Append-only: see the trigger below.
CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint REFERENCES users (id),
    -- The actor's email at the time, so the record reads the same after renames.
    actor_label text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip          text,
    request_id  text
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);

-- Audit rows can be added, never changed or removed, whoever is connected.
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
