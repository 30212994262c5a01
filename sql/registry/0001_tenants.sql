-- The registry: who our tenants are and how to reach their keys.
-- No customer data: identities, URLs, sealed secrets, wrapped keys, times.
CREATE TABLE tenants (
	id		TEXT PRIMARY KEY,	-- random, 32 hex; names the file
	client_key	TEXT NOT NULL UNIQUE,	-- Connect clientKey (iss)
	base_url	TEXT NOT NULL,
	display_url	TEXT,
	product_type	TEXT NOT NULL,
	server_version	TEXT,
	plugins_version	TEXT,
	sen		TEXT,			-- serviceEntitlementNumber
	oauth_client_id	TEXT,
	secret_sealed	BLOB NOT NULL,		-- XChaCha20-Poly1305
	secret_master	INTEGER NOT NULL,	-- master version sealing it
	state		TEXT NOT NULL CHECK (state IN ('installed', 'departed')),
	enabled		INTEGER NOT NULL DEFAULT 0,
	installed_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	uninstalled_at	INTEGER,
	delete_after	INTEGER		-- set while departed
);

-- Data keys, only ever wrapped.  One 'current' per tenant.
CREATE TABLE tenant_keys (
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	version		INTEGER NOT NULL,
	master_version	INTEGER NOT NULL,
	wrapped		BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	state		TEXT NOT NULL CHECK (state IN ('current', 'retired')),
	PRIMARY KEY (tenant_id, version)
);

-- What happened to tenants and keys; never customer data.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL,
	event		TEXT NOT NULL,
	tenant_id	TEXT,
	detail		TEXT
);
