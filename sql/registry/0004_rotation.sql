-- Key rotation (cellar-reaper rotate; README, "The reaper").
--
-- A tenant's data keys: 'current' opens its file; 'pending' is a new
-- key recorded before the file is re-encrypted under it (a rotation
-- under way: the next run finishes or redoes it); 'retired' opened the
-- file before, and is kept while its old file or a kept backup needs it.
-- SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE tenant_keys_v4 (
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	version		INTEGER NOT NULL,
	master_version	INTEGER NOT NULL,
	wrapped		BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	state		TEXT NOT NULL CHECK (state IN ('current', 'pending',
			    'retired')),
	retired_at	INTEGER,
	PRIMARY KEY (tenant_id, version)
);
INSERT INTO tenant_keys_v4 (tenant_id, version, master_version, wrapped,
    created_at, state)
    SELECT tenant_id, version, master_version, wrapped, created_at, state
    FROM tenant_keys;
DROP TABLE tenant_keys;
ALTER TABLE tenant_keys_v4 RENAME TO tenant_keys;
CREATE INDEX tenant_keys_master ON tenant_keys (master_version);

-- Master key versions: when each was made, and when it was destroyed
-- (its file deleted once no key, secret, registry or kept backup needs
-- it).  The key itself is never here: only in [keys] dir.
CREATE TABLE master_keys (
	version		INTEGER PRIMARY KEY,
	created_at	INTEGER NOT NULL,
	destroyed_at	INTEGER
);
