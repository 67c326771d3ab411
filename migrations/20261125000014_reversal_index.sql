-- A request's page looks up the reinstatement filed against it: index the link both ways of its
-- life (in flight and approved), not only the approved one.
CREATE INDEX change_requests_reverses_idx ON change_requests (reverses_id)
    WHERE reverses_id IS NOT NULL;
