-- What search (q) reads: a template's name and body folded for search
-- (cellar_fold, NFKC_Casefold; db.c registers it on every connection,
-- before the migrations), one row per template.  Folding at query time
-- ran ICU over every body of the tenant on every search; this table
-- is written with the template, in the same transaction, and read
-- without touching the templates' own pages.
CREATE TABLE template_search (
	template_id	INTEGER PRIMARY KEY
			    REFERENCES templates (id) ON DELETE CASCADE,
	folded		TEXT NOT NULL	-- folded name, a newline, folded body
);
INSERT INTO template_search (template_id, folded)
    SELECT id, cellar_fold(name) || char(10) || cellar_fold(body)
    FROM templates;
