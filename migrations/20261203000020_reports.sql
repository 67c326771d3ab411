-- Reports: whether a reason is one Retention can act on, and the figures of each request that
-- the Reports page adds up (written once, here; src/reports/figures.rs says what each means).

-- A client closing the business is not Retention's failure: the admin marks such reasons.
ALTER TABLE change_reasons ADD COLUMN controllable boolean NOT NULL DEFAULT true;
UPDATE change_reasons SET controllable = false WHERE label = 'Dealership sold or closing';

-- The client's budget when a request was filed is read from its status history.
CREATE INDEX client_status_history_client_at_idx ON client_status_history (client_id, at);
-- Reports cut requests by when they were filed.
CREATE INDEX change_requests_created_idx ON change_requests (created_at);

-- Whole months a pause runs: its days over an average month, at least one; an open-ended pause
-- counts as one.
CREATE FUNCTION pause_months(effective date, resume date) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN resume IS NULL THEN 1
                ELSE GREATEST(1, round((resume - effective) / 30.4375))::integer END
$$;

-- One row per request a client filed to leave, pause or cut (reinstatements excluded: they
-- bring a client back). Money in cents of monthly budget, except a pause: budget × months.
--   budget    the client's monthly budget when the request was filed (its status history).
--   at_risk   what the request as filed put at risk: a cancellation the whole budget, a budget
--             cut the reduction, a pause the budget times the pause's months.
--   lost      once decided: nothing if withdrawn (saved with no change, or not pursued) or later
--             undone by a reinstatement; otherwise what the final terms take away, computed
--             like at_risk on them, and never more than was at risk.
--   saved     at_risk - lost, once decided.
CREATE VIEW request_figures AS
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
       f.at_risk_cents - l.lost_cents AS saved_cents
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
  LEFT JOIN save_attempts s ON s.change_request_id = r.id
 CROSS JOIN LATERAL (
       SELECT COALESCE((SELECT h.monthly_budget_cents FROM client_status_history h
                         WHERE h.client_id = r.client_id AND h.at <= r.created_at
                         ORDER BY h.at DESC, h.id DESC LIMIT 1),
                       c.monthly_budget_cents) AS budget_cents) b
 CROSS JOIN LATERAL (
       SELECT CASE COALESCE(r.original_kind, r.kind)
                WHEN 'cancellation' THEN b.budget_cents
                -- A budget cut as filed (Retention converts cancellations and pauses only).
                WHEN 'addendum' THEN GREATEST(r.current_budget_cents - r.new_budget_cents, 0)
                WHEN 'pause' THEN b.budget_cents * pause_months(
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
                    WHEN 'cancellation' THEN b.budget_cents
                    WHEN 'addendum' THEN GREATEST(r.current_budget_cents - r.new_budget_cents, 0)
                    WHEN 'pause' THEN b.budget_cents * pause_months(r.effective_date, r.resume_date)
                END)
              END AS lost_cents) l
 WHERE r.reverses_id IS NULL;
