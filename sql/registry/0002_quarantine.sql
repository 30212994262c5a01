-- A tenant whose file was found damaged (or not its own) is held: no
-- request opens the file until an operator has checked it
-- (cellarctl tenant release).  The file is never deleted or recreated.
ALTER TABLE tenants ADD COLUMN quarantined_at INTEGER;	-- NULL: not held
ALTER TABLE tenants ADD COLUMN quarantine_cause TEXT;	-- our reason code
-- How many times the tenant was held: a handle opened before a hold is
-- never used after it, even once released (the file may be restored).
ALTER TABLE tenants ADD COLUMN holds INTEGER NOT NULL DEFAULT 0;
