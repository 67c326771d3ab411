-- Indexes found by the load benchmark's CPU column (cargo bench --bench load): each lets a
-- desk walk its queue in order and stop when the page is full.

-- The Retention Team's queue, oldest first.
CREATE INDEX change_requests_with_retention_idx ON change_requests (state_changed_at, id)
    WHERE state = 'with_retention';

-- An account manager's open requests, oldest first.
CREATE INDEX change_requests_filed_open_idx ON change_requests (filed_by, state_changed_at, id)
    WHERE state IN ('draft', 'with_retention', 'in_approval', 'changes_requested');

-- An SEM specialist's open offboarding items: theirs and the unassigned ones, soonest due first.
CREATE INDEX checklist_items_open_assignee_idx ON checklist_items (assignee, due_on, id)
    WHERE owner_role = 'sem_specialist' AND done_at IS NULL AND cancelled_at IS NULL;
