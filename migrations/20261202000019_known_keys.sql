-- Columns the app reads as enums allow only their keys, like every other such column (the app
-- never wrote anything else): an approval step's role, and the account status a change task
-- found before it changed it (a reinstatement restores it).
ALTER TABLE approval_chain_steps
    ADD CONSTRAINT approver_role_known CHECK (approver_role IN (
        'account_manager', 'retention', 'team_lead', 'department_manager', 'approver', 'finance',
        'accounting', 'ops_lead', 'dm_leadership', 'sem_specialist', 'contractor', 'admin'));
ALTER TABLE request_approvals
    ADD CONSTRAINT approver_role_known CHECK (approver_role IN (
        'account_manager', 'retention', 'team_lead', 'department_manager', 'approver', 'finance',
        'accounting', 'ops_lead', 'dm_leadership', 'sem_specialist', 'contractor', 'admin'));
ALTER TABLE change_tasks
    ADD CONSTRAINT status_before_known CHECK (status_before IN (
        'active', 'paused', 'cancelled_dms', 'left_platform'));
