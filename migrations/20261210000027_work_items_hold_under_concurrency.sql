-- Work items (migration 26) right when changes meet.
--
-- 1. A client's name was copied into each of its items and a rename recomputed them without
--    holding the requests: a rename meeting an approval could wait on it the other way round
--    (a deadlock) or insert the same item twice, and a rename meeting a submission could leave
--    the old name. The desk now reads the name from the client (one lookup by key for each of
--    fifty lines), so a rename touches no item.
-- 2. A recomputation now holds its requests first. Every path in the app that changes steps
--    already holds the request; with this, one that did not (or a hand-written statement)
--    waits for the other change to commit and then sees it, instead of recomputing from what
--    it saw before and writing over it. Items whose step is no longer pending are deleted and
--    the rest inserted or updated where they differ, so an unchanged item is not rewritten.
-- 3. A request filed (or moved to another client) while its client is handed to another
--    account manager read the old account manager and the hand-over, not seeing the new
--    request, did not correct it. Reading the client now waits for a hand-over in flight.
-- 4. The recomputation cost 1.05 ms a call, two calls an approval (pg_stat_statements under
--    the load benchmark), most of it planning: a SQL function's statements are planned at
--    every call, and PL/pgSQL's, which could be kept, were planned for each call's requests
--    (a plan for the one request at hand looks cheaper than one for any). It is PL/pgSQL with
--    the plan for any requests kept (by hand in psql: a step update 1.0 ms with the old
--    function, 0.48 ms with this one, 0.30 ms with no work items at all).
-- 5. Work items are derived: only the recomputation writes them. It runs with its owner's
--    rights, so the app's own database role is granted reading them and nothing more
--    (src/db/roles.rs): the app cannot write a wrong item, and an instance still running while
--    a newer one migrates needs no new grant. As it runs with the owner's rights, it names its
--    tables by schema and searches only pg_catalog (and pg_temp last, where no function or
--    operator is looked up), so no object another role creates can stand in for one it uses.

DROP TRIGGER work_items_clients_updated ON clients;
DROP FUNCTION work_items_follow_clients();

ALTER TABLE work_items DROP COLUMN client_name;
ALTER TABLE work_items ADD COLUMN client_id bigint;
UPDATE work_items w SET client_id = r.client_id FROM change_requests r WHERE r.id = w.request_id;
ALTER TABLE work_items ALTER COLUMN client_id SET NOT NULL;

DROP FUNCTION work_items_refresh(bigint[]);
CREATE FUNCTION work_items_refresh(requests bigint[]) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    PERFORM 1 FROM public.change_requests WHERE id = ANY (requests) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM public.work_items w
     WHERE w.kind = 'approval_step' AND w.request_id = ANY (requests)
       AND NOT EXISTS (SELECT 1 FROM public.request_approvals s
                        WHERE s.id = w.item_id AND s.change_request_id = w.request_id
                          AND s.state = 'pending');
    INSERT INTO public.work_items AS t (kind, item_id, request_id, assignee_user_id, assignee_role, since,
                            barred, client_id, request_kind, title, credit_cents,
                            effective_date, reverses_id)
    SELECT 'approval_step', s.id, s.change_request_id, s.approver_user_id, s.approver_role,
           s.reached_at,
           ARRAY(SELECT DISTINCT p
                   FROM unnest(ARRAY[r.filed_by, r.submitted_by, r.client_account_manager_id]
                               || ARRAY(SELECT o.decided_by FROM public.request_approvals o
                                         WHERE o.change_request_id = s.change_request_id
                                           AND o.round = s.round)) AS p
                  WHERE p IS NOT NULL
                  ORDER BY p),
           r.client_id, r.kind, s.name, r.credit_cents, r.effective_date, r.reverses_id
      FROM public.request_approvals s
      JOIN public.change_requests r ON r.id = s.change_request_id
     WHERE s.change_request_id = ANY (requests) AND s.state = 'pending'
     ORDER BY s.id
    ON CONFLICT (kind, item_id) DO UPDATE
       SET request_id = EXCLUDED.request_id, assignee_user_id = EXCLUDED.assignee_user_id,
           assignee_role = EXCLUDED.assignee_role, since = EXCLUDED.since,
           barred = EXCLUDED.barred, client_id = EXCLUDED.client_id,
           request_kind = EXCLUDED.request_kind, title = EXCLUDED.title,
           credit_cents = EXCLUDED.credit_cents, effective_date = EXCLUDED.effective_date,
           reverses_id = EXCLUDED.reverses_id
     WHERE (t.request_id, t.assignee_user_id, t.assignee_role,
            t.since, t.barred, t.client_id, t.request_kind,
            t.title, t.credit_cents, t.effective_date,
            t.reverses_id)
           IS DISTINCT FROM
           (EXCLUDED.request_id, EXCLUDED.assignee_user_id, EXCLUDED.assignee_role,
            EXCLUDED.since, EXCLUDED.barred, EXCLUDED.client_id, EXCLUDED.request_kind,
            EXCLUDED.title, EXCLUDED.credit_cents, EXCLUDED.effective_date,
            EXCLUDED.reverses_id);
END
$$;
-- Only the triggers call it: the app's role is granted it (src/db/roles.rs), no one else.
REVOKE EXECUTE ON FUNCTION work_items_refresh(bigint[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION set_request_account_manager() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- FOR SHARE waits for a hand-over of the client in flight and reads what it committed.
    NEW.client_account_manager_id :=
        (SELECT account_manager_id FROM clients WHERE id = NEW.client_id FOR SHARE);
    RETURN NEW;
END
$$;
