-- Clients (dealer accounts). The change-request work builds on this table.

CREATE TABLE clients (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL CHECK (btrim(name) <> ''),
    -- The CRM's account id, the key a CSV import matches on.
    crm_account_id       text NOT NULL CHECK (btrim(crm_account_id) <> ''),
    account_manager_id   bigint REFERENCES users (id),
    sem_specialist_id    bigint REFERENCES users (id),
    monthly_budget_cents bigint NOT NULL DEFAULT 0 CHECK (monthly_budget_cents >= 0),
    ad_products          text[] NOT NULL DEFAULT '{}',
    status               text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'paused', 'cancelled_dms', 'left_platform')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_crm_account_id_key ON clients (crm_account_id);
CREATE INDEX clients_name_idx ON clients (lower(name), id);
CREATE INDEX clients_account_manager_idx ON clients (account_manager_id, lower(name));
CREATE INDEX clients_sem_specialist_idx ON clients (sem_specialist_id, lower(name));
CREATE TRIGGER clients_updated_at BEFORE UPDATE ON clients
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
