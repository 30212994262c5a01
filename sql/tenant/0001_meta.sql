-- Every tenant file names its owner, so a file put in another tenant's
-- place is refused even before its key would fail.
CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
);
