-- An approval step's role is read as a role: like every other column holding a fixed set of
-- keys, it now allows only those (the app never wrote anything else).
ALTER TABLE approval_chain_steps
    ADD CONSTRAINT approver_role_known CHECK (approver_role IN (
        'account_manager', 'retention', 'team_lead', 'department_manager', 'approver', 'finance',
        'accounting', 'ops_lead', 'dm_leadership', 'sem_specialist', 'contractor', 'admin'));
ALTER TABLE request_approvals
    ADD CONSTRAINT approver_role_known CHECK (approver_role IN (
        'account_manager', 'retention', 'team_lead', 'department_manager', 'approver', 'finance',
        'accounting', 'ops_lead', 'dm_leadership', 'sem_specialist', 'contractor', 'admin'));
