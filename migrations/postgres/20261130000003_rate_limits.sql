-- Rate-limit budgets shared by every instance on this database (RATE_LIMIT_STORE=database):
-- one row per budget, holding the GCRA's theoretical arrival time in Unix milliseconds.
-- Rows whose time has passed are full budgets again and are pruned every minute.
CREATE TABLE rate_limits (
    key TEXT   PRIMARY KEY NOT NULL,
    tat BIGINT NOT NULL
);
