-- Indexes found missing by the load benchmark (cargo bench --bench load).

-- The contractor's "done in the last 14 days" on its desk.
CREATE INDEX checklist_items_done_by_idx ON checklist_items (done_by, done_at DESC)
    WHERE done_at IS NOT NULL;

-- The offboarding sheet walks cancellations in its own order and stops when a page is full.
CREATE INDEX change_requests_offboarding_idx ON change_requests (effective_date DESC, id DESC)
    WHERE kind = 'cancellation' AND state IN ('approved', 'completed');
