-- The client's monthly budget when a request was filed, kept on the request: Reports read it
-- for every request they add up, and looking it up in the status history each time made the
-- page cost seconds on a department's years of requests.

ALTER TABLE change_requests ADD COLUMN filed_budget_cents bigint;

-- The budget in force at the request's creation: the status history's last entry by then, or
-- the client's budget when the history has none.
CREATE FUNCTION budget_when_filed(client bigint, filed timestamptz) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT h.monthly_budget_cents FROM client_status_history h
                      WHERE h.client_id = client AND h.at <= filed
                      ORDER BY h.at DESC, h.id DESC LIMIT 1),
                    (SELECT c.monthly_budget_cents FROM clients c WHERE c.id = client))
$$;

-- Every way a request is made (the filing form, the import, a reinstatement) gets it.
CREATE FUNCTION set_filed_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.filed_budget_cents IS NULL THEN
        NEW.filed_budget_cents := budget_when_filed(NEW.client_id, NEW.created_at);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER change_requests_filed_budget BEFORE INSERT ON change_requests
    FOR EACH ROW EXECUTE FUNCTION set_filed_budget();

-- Existing requests: the same rule, without touching their updated_at (an open tab's stale
-- check reads it).
ALTER TABLE change_requests DISABLE TRIGGER change_requests_updated_at;
UPDATE change_requests SET filed_budget_cents = budget_when_filed(client_id, created_at);
ALTER TABLE change_requests ENABLE TRIGGER change_requests_updated_at;
ALTER TABLE change_requests ALTER COLUMN filed_budget_cents SET NOT NULL;

-- When Retention first recorded its call: a correction later moves `recorded_at`, and Reports
-- time "filed → Retention call" and follow a save from the first (a row without it, written
-- outside the app, is read at `recorded_at`). Existing attempts take it from their first
-- recorded outcome in the audit log.
ALTER TABLE save_attempts ADD COLUMN first_recorded_at timestamptz;
UPDATE save_attempts s
   SET first_recorded_at = COALESCE(
           (SELECT min(a.at) FROM audit_events a
             WHERE a.entity_type = 'change_request' AND a.entity_id = s.change_request_id::text
               AND a.action = 'change_request.retention_outcome'),
           s.recorded_at)
 WHERE s.recorded_at IS NOT NULL;

-- The same figures as migration 20 defined, on the kept budget, with the request's dates that
-- the "where it waits" and "do saves last" panels read (so they need not join the request again).
CREATE OR REPLACE VIEW request_figures AS
SELECT r.id,
       r.client_id,
       r.created_at,
       r.filed_by,
       r.reason_id,
       COALESCE(r.original_kind, r.kind) AS filed_kind,
       r.kind AS final_kind,
       r.state,
       s.outcome,
       s.recorded_by AS retention_user,
       s.id IS NOT NULL AS escalated,
       c.sem_specialist_id,
       r.state IN ('approved', 'completed', 'withdrawn') AS decided,
       f.at_risk_cents,
       l.lost_cents,
       f.at_risk_cents - l.lost_cents AS saved_cents,
       r.approved_at,
       r.effective_date,
       r.resume_date,
       r.reinstated_at,
       COALESCE(s.first_recorded_at, s.recorded_at) AS call_recorded_at
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
  LEFT JOIN save_attempts s ON s.change_request_id = r.id
 CROSS JOIN LATERAL (
       SELECT CASE COALESCE(r.original_kind, r.kind)
                WHEN 'cancellation' THEN r.filed_budget_cents
                -- A budget cut as filed (Retention converts cancellations and pauses only).
                WHEN 'addendum' THEN GREATEST(r.current_budget_cents - r.new_budget_cents, 0)
                WHEN 'pause' THEN r.filed_budget_cents * pause_months(
                    CASE WHEN r.original_kind IS NULL THEN r.effective_date
                         ELSE r.original_effective_date END,
                    CASE WHEN r.original_kind IS NULL THEN r.resume_date
                         ELSE r.original_resume_date END)
              END AS at_risk_cents) f
 CROSS JOIN LATERAL (
       SELECT CASE
                WHEN r.state NOT IN ('approved', 'completed', 'withdrawn') THEN NULL
                WHEN r.state = 'withdrawn' OR r.reinstated_at IS NOT NULL THEN 0
                ELSE LEAST(f.at_risk_cents, CASE r.kind
                    WHEN 'cancellation' THEN r.filed_budget_cents
                    WHEN 'addendum' THEN GREATEST(r.current_budget_cents - r.new_budget_cents, 0)
                    WHEN 'pause' THEN r.filed_budget_cents * pause_months(r.effective_date, r.resume_date)
                END)
              END AS lost_cents) l
 WHERE r.reverses_id IS NULL;
