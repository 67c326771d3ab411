-- Shared helpers every later table uses.

-- Keeps `updated_at` honest without every UPDATE statement remembering it.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
