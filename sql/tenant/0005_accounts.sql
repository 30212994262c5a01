-- Personal-data reporting (src/lib/accounts.c): where this tenant is in
-- its cycle of reporting the Atlassian account ids it stores to
-- Atlassian's report-accounts API.  One row.  The account ids
-- themselves stay where they are (templates.owner, panoramas.owner,
-- pano_nodes.creator, pano_history.actor, pano_undo.creator,
-- pano_access.target of 'account' entries); the only one kept here is
-- the cursor, the last id of the batches answered in this cycle that is
-- still stored (never a closed account's: those are erased in the
-- transaction that moves the cursor past them, and the ids after the
-- cursor are read again from what is stored).  Times are seconds since
-- the epoch; 0 is "never" or "none".
CREATE TABLE account_report (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	cycle_started_at INTEGER NOT NULL DEFAULT 0,	-- 0: no cycle open
	cursor		TEXT NOT NULL DEFAULT '',	-- '': from the first id
	next_due_at	INTEGER NOT NULL DEFAULT 0,	-- next cycle from then
	cycle_days	INTEGER NOT NULL DEFAULT 7
			    CHECK (cycle_days BETWEEN 1 AND 90),
	retry_at	INTEGER NOT NULL DEFAULT 0,	-- a 429/503: not before
	-- The cycle open now, so far.
	cur_reported	INTEGER NOT NULL DEFAULT 0,
	cur_closed	INTEGER NOT NULL DEFAULT 0,
	cur_updated	INTEGER NOT NULL DEFAULT 0,
	-- The last completed cycle.
	last_completed_at INTEGER NOT NULL DEFAULT 0,
	last_reported	INTEGER NOT NULL DEFAULT 0,
	last_closed	INTEGER NOT NULL DEFAULT 0,
	last_updated	INTEGER NOT NULL DEFAULT 0,
	-- The last answer (HTTP status; 0: none, or no answer) and when.
	last_status	INTEGER NOT NULL DEFAULT 0,
	last_attempt_at	INTEGER NOT NULL DEFAULT 0,
	-- Closed accounts erased since the file was made.
	erased_total	INTEGER NOT NULL DEFAULT 0,
	-- The run working this cycle (a worker after a Forge trigger, or
	-- the reaper) holds it until then; 0 or past: free.  Taken in a
	-- write transaction, renewed with each batch, released at the end:
	-- two runs at once never report one account twice.  claimed_pid:
	-- the holder's process (the workers and the reaper share a host);
	-- gone (killed), its claim is free at once.
	claimed_until	INTEGER NOT NULL DEFAULT 0,
	claimed_pid	INTEGER NOT NULL DEFAULT 0
);
INSERT INTO account_report (id) VALUES (1);
