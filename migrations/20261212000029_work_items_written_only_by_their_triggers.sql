-- Work items are derived: only their recomputation writes them. It now runs with its owner's
-- rights (the schema's owner), so the app's own database role is granted reading them and
-- nothing more (src/db/roles.rs): the app cannot write a wrong item, and an instance still
-- running while a newer one migrates has nothing to be granted before its approvals work.
ALTER FUNCTION work_items_refresh(bigint[])
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp;
