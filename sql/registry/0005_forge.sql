-- Forge installations (README, "Forge Remote").
--
-- A tenant may now have no Connect identity: a Forge installation
-- becomes a tenant on its first verified FIT, without a clientKey,
-- shared secret or the Connect payload's fields.  SQLite 3.15 cannot
-- drop NOT NULL: the tenants table is rebuilt.
--
-- Order matters.  The registry runs with foreign_keys = ON, which
-- cannot be turned off inside the migration's transaction, and
-- tenant_keys references tenants ON DELETE CASCADE: dropping tenants
-- while tenant_keys exists would delete every wrapped data key (every
-- tenant's data, gone).  So the keys are set aside in a table without
-- a foreign key first, tenant_keys is dropped, tenants is rebuilt, and
-- tenant_keys comes back exactly as 0004 left it.

-- 1. The wrapped data keys, set aside (no foreign key: nothing cascades).
CREATE TABLE tenant_keys_v5_keep (
	tenant_id	TEXT NOT NULL,
	version		INTEGER NOT NULL,
	master_version	INTEGER NOT NULL,
	wrapped		BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	state		TEXT NOT NULL,
	retired_at	INTEGER
);
INSERT INTO tenant_keys_v5_keep (tenant_id, version, master_version,
    wrapped, created_at, state, retired_at)
    SELECT tenant_id, version, master_version, wrapped, created_at, state,
    retired_at FROM tenant_keys;
DROP TABLE tenant_keys;

-- 2. The tenants, rebuilt: the Connect identity is optional.  A secret
-- goes with a clientKey (a purged row keeps both replaced, see
-- registry.c), and a sealed secret with the master version sealing it.
CREATE TABLE tenants_v5 (
	id		TEXT PRIMARY KEY,	-- random, 32 hex; names the file
	client_key	TEXT UNIQUE,		-- Connect clientKey; NULL: Forge only
	base_url	TEXT,			-- Connect site URL; NULL: Forge only
	display_url	TEXT,
	product_type	TEXT,
	server_version	TEXT,
	plugins_version	TEXT,
	sen		TEXT,			-- serviceEntitlementNumber
	oauth_client_id	TEXT,
	secret_sealed	BLOB,			-- XChaCha20-Poly1305
	secret_master	INTEGER,		-- master version sealing it
	state		TEXT NOT NULL CHECK (state IN ('installed', 'departed')),
	enabled		INTEGER NOT NULL DEFAULT 0,
	installed_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	uninstalled_at	INTEGER,
	delete_after	INTEGER,		-- set while departed
	quarantined_at	INTEGER,		-- NULL: not held
	quarantine_cause TEXT,			-- our reason code
	holds		INTEGER NOT NULL DEFAULT 0,
	purge_started_at INTEGER,		-- NULL: not purging
	backup_run	TEXT,
	backup_at	INTEGER,
	cloud_id	TEXT,			-- the site's cloud id, when told
	CHECK ((client_key IS NULL) = (secret_sealed IS NULL)),
	CHECK ((secret_sealed IS NULL) = (secret_master IS NULL))
);
INSERT INTO tenants_v5 (id, client_key, base_url, display_url, product_type,
    server_version, plugins_version, sen, oauth_client_id, secret_sealed,
    secret_master, state, enabled, installed_at, updated_at, uninstalled_at,
    delete_after, quarantined_at, quarantine_cause, holds, purge_started_at,
    backup_run, backup_at)
    SELECT id, client_key, base_url, display_url, product_type,
    server_version, plugins_version, sen, oauth_client_id, secret_sealed,
    secret_master, state, enabled, installed_at, updated_at, uninstalled_at,
    delete_after, quarantined_at, quarantine_cause, holds, purge_started_at,
    backup_run, backup_at FROM tenants;
-- Nothing references tenants any more: nothing cascades.
DROP TABLE tenants;
ALTER TABLE tenants_v5 RENAME TO tenants;

-- 3. The data keys back, as 0004 made them.
CREATE TABLE tenant_keys (
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
INSERT INTO tenant_keys (tenant_id, version, master_version, wrapped,
    created_at, state, retired_at)
    SELECT tenant_id, version, master_version, wrapped, created_at, state,
    retired_at FROM tenant_keys_v5_keep;
DROP TABLE tenant_keys_v5_keep;
CREATE INDEX tenant_keys_master ON tenant_keys (master_version);

-- 4. Forge installations: which tenant each installation id is, how
-- that became known (its first FIT or installed event, a verified
-- Connect install payload naming it, an operator), and when it was
-- last heard from (Forge has no uninstall event: the reaper's silence
-- job departs a tenant whose every installation fell silent).  Times in
-- seconds since the epoch; NULL: never.
CREATE TABLE installations (
	installation_id	TEXT PRIMARY KEY,	-- ari:cloud:ecosystem::installation/UUID
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	cloud_id	TEXT,
	api_base_url	TEXT,			-- where calls back go
	linked_by	TEXT NOT NULL CHECK (linked_by IN ('fit', 'event',
			    'connect', 'operator')),
	linked_at	INTEGER NOT NULL,
	last_seen_at	INTEGER,
	preuninstall_at	INTEGER
);
CREATE INDEX installations_tenant ON installations (tenant_id);
