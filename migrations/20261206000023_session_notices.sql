-- Sessions are kept in each instance's memory (src/auth/session_cache.rs); the database tells
-- every instance, at commit, whose sessions to forget: a change to anything a session carries
-- (email, name, roles, disabled, password), and a session ended or its limits moved back.
-- The payload is the user's id, or 'all' for a truncate.

CREATE FUNCTION notify_user_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('desk_sessions', OLD.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_sessions
    AFTER UPDATE ON users FOR EACH ROW
    WHEN ((OLD.email, OLD.display_name, OLD.roles, OLD.disabled_at, OLD.password_hash)
          IS DISTINCT FROM
          (NEW.email, NEW.display_name, NEW.roles, NEW.disabled_at, NEW.password_hash))
    EXECUTE FUNCTION notify_user_sessions();

CREATE TRIGGER users_deleted_notify_sessions
    AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION notify_user_sessions();

CREATE FUNCTION notify_session_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('desk_sessions', OLD.user_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_deleted_notify
    AFTER DELETE ON sessions FOR EACH ROW
    EXECUTE FUNCTION notify_session_ended();

-- "Last seen" moving on is the session in use; moved back, or a shorter life, is a change.
CREATE TRIGGER sessions_limits_notify
    AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (NEW.last_seen_at < OLD.last_seen_at
          OR NEW.absolute_expires_at < OLD.absolute_expires_at
          OR NEW.user_id <> OLD.user_id)
    EXECUTE FUNCTION notify_session_ended();

-- A truncate (an operator signing everyone out) forgets every session.
CREATE FUNCTION notify_all_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('desk_sessions', 'all');
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_truncated_notify
    AFTER TRUNCATE ON sessions FOR EACH STATEMENT
    EXECUTE FUNCTION notify_all_sessions();

CREATE TRIGGER users_truncated_notify
    AFTER TRUNCATE ON users FOR EACH STATEMENT
    EXECUTE FUNCTION notify_all_sessions();

-- The message for the next page moved to a cookie bound to the session (src/web/flash.rs).
-- `sessions.flash` is no longer written or read; it stays for a release, so an instance of
-- the previous version still running beside this one during an upgrade keeps working.
