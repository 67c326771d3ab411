-- An approval decides its step and makes the next one pending. As two statements, each
-- recomputed the request's work items (migration 27), twice an approval, about 0.3 ms each. As
-- one statement, the rule "at most one step of a request is anyone's turn" must hold when the
-- statement ends, not after each row it changes (a unique index checks each row at once, so
-- the next step made pending before the decided one was updated would be refused, and the
-- order a statement updates its rows in is not defined). The same rule as a constraint checked
-- at the end of each statement.
DROP INDEX request_approvals_one_pending;
ALTER TABLE request_approvals ADD CONSTRAINT request_approvals_one_pending
    EXCLUDE USING btree (change_request_id WITH =) WHERE (state = 'pending')
    DEFERRABLE INITIALLY IMMEDIATE;
