-- The reaper's state (cellar-reaper; README, "The reaper").
--
-- A tenant being purged: its wrapped data keys and sealed secret are
-- already destroyed and its clientKey and URLs replaced by nothing that
-- names the customer; its files and backup copies are on their way out.
-- The row goes last, leaving an audit record.  NULL: not purging.
ALTER TABLE tenants ADD COLUMN purge_started_at INTEGER;
-- The newest verified backup run holding the tenant, and when it began.
ALTER TABLE tenants ADD COLUMN backup_run TEXT;
ALTER TABLE tenants ADD COLUMN backup_at INTEGER;

-- When each job last ran and last succeeded ("is it due").
CREATE TABLE jobs (
	name		TEXT PRIMARY KEY,	-- purge, rotate, backup, prune
	last_run_at	INTEGER,
	last_ok_at	INTEGER,
	last_status	TEXT,			-- ok, failed
	last_detail	TEXT			-- counts, never customer data
);

-- Backup runs the reaper made (the files under [backup] dir are the
-- truth; this is the evidence cellarctl audit and /api/tenant read).
CREATE TABLE backup_runs (
	run		TEXT PRIMARY KEY,	-- UTC start, 20261130T021500Z
	started_at	INTEGER NOT NULL,
	verified_at	INTEGER NOT NULL,
	tenants		INTEGER NOT NULL,
	bytes		INTEGER NOT NULL,
	offsite_at	INTEGER,		-- last offsite command run
	offsite_status	INTEGER			-- its exit status; 0: copied
);
