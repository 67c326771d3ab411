-- What waits on whom, kept as rows. The approver's desk asked, for every pending step named on
-- the person, for its request, its client and the other steps of its round (who filed,
-- submitted or manages it, who decided in this round: they may not decide it), and walked
-- them until fifty passed: about twenty index lookups a line, a millisecond a page. Here each
-- pending approval step is one row with what the desk shows and who may not decide it, so a
-- desk is one range of an index.
--
-- The rows are derived, never written by the app: triggers on the steps, the requests and the
-- clients recompute a request's rows from those tables at the end of each statement that
-- changes what they hold, in the same transaction. The model test checks that they always
-- equal their recomputation.

CREATE TABLE work_items (
    kind text NOT NULL CHECK (kind IN ('approval_step')),
    item_id bigint NOT NULL,
    request_id bigint NOT NULL REFERENCES change_requests(id) ON DELETE CASCADE,
    assignee_user_id bigint,
    assignee_role text,
    since timestamptz NOT NULL,
    -- People who may not act on it: who filed or submitted the request, its client's account
    -- manager, whoever decided another step of the round.
    barred bigint[] NOT NULL,
    client_name text NOT NULL,
    request_kind text NOT NULL,
    title text NOT NULL,
    credit_cents bigint,
    effective_date date NOT NULL,
    reverses_id bigint,
    PRIMARY KEY (kind, item_id)
);

CREATE INDEX work_items_user_idx ON work_items (assignee_user_id, since, item_id)
    WHERE assignee_user_id IS NOT NULL;
CREATE INDEX work_items_role_idx ON work_items (assignee_role, since, item_id)
    WHERE assignee_role IS NOT NULL;
CREATE INDEX work_items_request_idx ON work_items (request_id);

-- The rows of `requests`, recomputed: one per pending approval step.
CREATE FUNCTION work_items_refresh(requests bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM work_items WHERE kind = 'approval_step' AND request_id = ANY (requests);
    INSERT INTO work_items (kind, item_id, request_id, assignee_user_id, assignee_role, since,
                            barred, client_name, request_kind, title, credit_cents,
                            effective_date, reverses_id)
    SELECT 'approval_step', s.id, s.change_request_id, s.approver_user_id, s.approver_role,
           s.reached_at,
           ARRAY(SELECT DISTINCT p
                   FROM unnest(ARRAY[r.filed_by, r.submitted_by, r.client_account_manager_id]
                               || ARRAY(SELECT o.decided_by FROM request_approvals o
                                         WHERE o.change_request_id = s.change_request_id
                                           AND o.round = s.round)) AS p
                  WHERE p IS NOT NULL
                  ORDER BY p),
           c.name, r.kind, s.name, r.credit_cents, r.effective_date, r.reverses_id
      FROM request_approvals s
      JOIN change_requests r ON r.id = s.change_request_id
      JOIN clients c ON c.id = r.client_id
     WHERE s.change_request_id = ANY (requests) AND s.state = 'pending';
$$;

CREATE FUNCTION work_items_follow_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM work_items_refresh(ARRAY(SELECT DISTINCT change_request_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM work_items_refresh(ARRAY(SELECT DISTINCT change_request_id FROM old_rows));
    ELSE
        -- Only what a row shows or decides matters (not a nudge's or a flag's time).
        PERFORM work_items_refresh(ARRAY(
            SELECT DISTINCT x.id
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id
             CROSS JOIN LATERAL (VALUES (n.change_request_id), (o.change_request_id)) AS x (id)
             WHERE (n.change_request_id, n.round, n.name, n.approver_user_id, n.approver_role,
                    n.state, n.reached_at, n.decided_by)
                   IS DISTINCT FROM
                   (o.change_request_id, o.round, o.name, o.approver_user_id, o.approver_role,
                    o.state, o.reached_at, o.decided_by)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER work_items_steps_inserted AFTER INSERT ON request_approvals
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION work_items_follow_steps();
CREATE TRIGGER work_items_steps_updated AFTER UPDATE ON request_approvals
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION work_items_follow_steps();
CREATE TRIGGER work_items_steps_deleted AFTER DELETE ON request_approvals
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION work_items_follow_steps();

CREATE FUNCTION work_items_follow_requests() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM work_items_refresh(ARRAY(
        SELECT n.id
          FROM new_rows n
          JOIN old_rows o ON o.id = n.id
         WHERE (n.client_id, n.kind, n.filed_by, n.submitted_by, n.client_account_manager_id,
                n.credit_cents, n.effective_date, n.reverses_id)
               IS DISTINCT FROM
               (o.client_id, o.kind, o.filed_by, o.submitted_by, o.client_account_manager_id,
                o.credit_cents, o.effective_date, o.reverses_id)));
    RETURN NULL;
END
$$;

CREATE TRIGGER work_items_requests_updated AFTER UPDATE ON change_requests
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION work_items_follow_requests();

CREATE FUNCTION work_items_follow_clients() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM work_items_refresh(ARRAY(
        SELECT DISTINCT w.request_id
          FROM new_rows n
          JOIN old_rows o ON o.id = n.id
          JOIN change_requests r ON r.client_id = n.id
          JOIN work_items w ON w.request_id = r.id
         WHERE n.name IS DISTINCT FROM o.name));
    RETURN NULL;
END
$$;

CREATE TRIGGER work_items_clients_updated AFTER UPDATE ON clients
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION work_items_follow_clients();

SELECT work_items_refresh(ARRAY(SELECT DISTINCT change_request_id FROM request_approvals
                                 WHERE state = 'pending'));
