-- The account manager's desk lists the open requests of the clients they manage. Read through
-- the clients, that is one probe per client (500 for a busy account manager) and a sort; kept
-- on the request, it is one range of an index. The column is the client's account manager as
-- it is now, for every request of the client: triggers set it when a request is filed and
-- follow the client when it is handed to someone else, in the same transaction.

ALTER TABLE change_requests ADD COLUMN client_account_manager_id bigint REFERENCES users(id);

UPDATE change_requests r
   SET client_account_manager_id = c.account_manager_id
  FROM clients c
 WHERE c.id = r.client_id AND c.account_manager_id IS NOT NULL;

CREATE INDEX change_requests_managed_open_idx
    ON change_requests (client_account_manager_id, state_changed_at, id)
 WHERE state IN ('draft', 'with_retention', 'in_approval', 'changes_requested');

CREATE FUNCTION set_request_account_manager() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.client_account_manager_id :=
        (SELECT account_manager_id FROM clients WHERE id = NEW.client_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER change_requests_account_manager
    BEFORE INSERT OR UPDATE OF client_id, client_account_manager_id ON change_requests
    FOR EACH ROW EXECUTE FUNCTION set_request_account_manager();

CREATE FUNCTION follow_client_account_manager() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_requests
       SET client_account_manager_id = NEW.account_manager_id
     WHERE client_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_account_manager_follows
    AFTER UPDATE OF account_manager_id ON clients
    FOR EACH ROW WHEN (OLD.account_manager_id IS DISTINCT FROM NEW.account_manager_id)
    EXECUTE FUNCTION follow_client_account_manager();
