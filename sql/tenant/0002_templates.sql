-- Canned responses: comment templates with a scope.  Only ids (account,
-- project, group) and our own text are stored; never rendered output.
CREATE TABLE templates (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,	-- never reused
	name		TEXT NOT NULL,
	body		TEXT NOT NULL,
	scope		TEXT NOT NULL
			    CHECK (scope IN ('personal', 'projects', 'groups',
			    'global')),
	owner		TEXT NOT NULL,		-- Atlassian account id
	position	INTEGER NOT NULL DEFAULT 0,
	active		INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version		INTEGER NOT NULL DEFAULT 1,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX templates_scope_owner ON templates (scope, owner);

-- The projects or groups a template is scoped to.
CREATE TABLE template_targets (
	template_id	INTEGER NOT NULL
			    REFERENCES templates (id) ON DELETE CASCADE,
	kind		TEXT NOT NULL CHECK (kind IN ('project', 'group')),
	target		TEXT NOT NULL,
	PRIMARY KEY (template_id, kind, target)
) WITHOUT ROWID;
CREATE INDEX template_targets_target ON template_targets (kind, target);

-- Uses per template and day (days since the epoch, UTC).
CREATE TABLE template_usage (
	template_id	INTEGER NOT NULL
			    REFERENCES templates (id) ON DELETE CASCADE,
	day		INTEGER NOT NULL,
	inserted	INTEGER NOT NULL DEFAULT 0,
	posted		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (template_id, day)
) WITHOUT ROWID;
