-- Questions the account manager asks the client's SEM specialist on a change request.
CREATE TABLE request_questions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    asked_by          bigint NOT NULL REFERENCES users (id),
    asked_to          bigint NOT NULL REFERENCES users (id),
    question          text NOT NULL CHECK (btrim(question) <> ''),
    asked_at          timestamptz NOT NULL DEFAULT now(),
    answer            text,
    answered_by       bigint REFERENCES users (id),
    answered_at       timestamptz,
    CONSTRAINT answered_whole CHECK ((answer IS NULL) = (answered_at IS NULL)
                                     AND (answer IS NULL) = (answered_by IS NULL))
);
CREATE INDEX request_questions_request_idx ON request_questions (change_request_id, id);
CREATE INDEX request_questions_waiting_idx ON request_questions (asked_to, asked_at)
    WHERE answer IS NULL;
