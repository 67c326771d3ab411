-- The requests list filtered by state, newest first, a page at a time.
CREATE INDEX change_requests_state_id_idx ON change_requests (state, id DESC);
