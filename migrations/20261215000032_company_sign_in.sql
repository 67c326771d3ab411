-- Signing in with the company account (OpenID Connect): how each session began, the roles the
-- identity provider's groups grant, the admin's two choices, and the sign-ins under way.

-- Roles granted from the identity provider's groups at the person's last company sign-in; they
-- are among `roles` and come and go with the groups.
ALTER TABLE users ADD COLUMN idp_roles text[] NOT NULL DEFAULT '{}';
ALTER TABLE users ADD CONSTRAINT users_idp_roles_held CHECK (idp_roles <@ roles);

ALTER TABLE sessions ADD COLUMN method text NOT NULL DEFAULT 'password'
    CHECK (method IN ('password', 'company'));

-- One row: whether a person of an allowed domain without an account gets one (with no role, or
-- only those their groups grant), and whether passwords are refused (company sign-in only).
CREATE TABLE sign_in_settings (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    create_unknown  boolean NOT NULL DEFAULT false,
    company_only    boolean NOT NULL DEFAULT false,
    updated_by      bigint REFERENCES users (id),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sign_in_settings DEFAULT VALUES;

-- A company sign-in between its start (the redirect to the provider) and its callback: the
-- `state` (kept as its SHA-256; the browser holds it in a cookie too), the nonce the ID token
-- must carry and the PKCE verifier. Used once (deleted by the callback), worthless after ten
-- minutes.
CREATE TABLE company_sign_ins (
    state_hash      bytea PRIMARY KEY,
    nonce           text NOT NULL,
    pkce_verifier   text NOT NULL,
    next            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX company_sign_ins_created_idx ON company_sign_ins (created_at);
