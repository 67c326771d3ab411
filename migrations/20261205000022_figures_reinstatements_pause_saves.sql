-- Two corrections to the figures Reports add up (migration 21's view, otherwise unchanged):
--
-- * A cancellation Retention saved with a pause keeps the client: its whole monthly budget is
--   saved and nothing is lost (the pause's months without spend are the price of keeping it).
--   Counting the pause months as lost made every such save read "$0 saved".
-- * Reinstatements are in the view, marked `reinstatement`: they go through the approval chain
--   like any request, so "where it waits" and "open now" count them; the panels that count
--   requests filed and money leave them out (a reinstatement brings a client back).
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
       COALESCE(s.first_recorded_at, s.recorded_at) AS call_recorded_at,
       r.reverses_id IS NOT NULL AS reinstatement
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
                WHEN r.original_kind = 'cancellation' AND r.kind = 'pause' THEN 0
                ELSE LEAST(f.at_risk_cents, CASE r.kind
                    WHEN 'cancellation' THEN r.filed_budget_cents
                    WHEN 'addendum' THEN GREATEST(r.current_budget_cents - r.new_budget_cents, 0)
                    WHEN 'pause' THEN r.filed_budget_cents * pause_months(r.effective_date, r.resume_date)
                END)
              END AS lost_cents) l;
