// Every user-visible string of the template manager page (English).
// Placeholders in braces are filled with fmt() from lib/cellar.js.
export const S = {
	title: "Canned responses",
	intro: "Templates you can change: your personal ones and the shared " +
	    "ones you manage. Anyone they are shared with can insert them " +
	    "from an issue.",

	// Toolbar.
	search: "Search templates",
	searchHint: "Searches names and text.",
	create: "Create template",
	importFile: "Import from file",
	importFileLabel: "Template file to import (JSON)",
	exportFile: "Export to file",
	exporting: "Exporting…",
	importing: "Importing…",

	// The list.
	listHeading: "Templates",
	colName: "Name",
	colScope: "Shared with",
	colState: "State",
	colUses: "Uses (30 days)",
	colChanged: "Changed",
	colActions: "Actions",
	active: "Active",
	inactive: "Inactive",
	uses: "{n}",
	usesPosted: "{posted} posted as comments",
	usesPostedOne: "1 posted as a comment",
	edit: "Edit",
	editNamed: "Edit {name}",
	del: "Delete",
	delNamed: "Delete {name}",
	empty: "You have no templates yet. Create one, or import a file.",
	emptySearch: "No template matches your search.",
	loading: "Loading templates…",
	previous: "Previous page",
	next: "Next page",
	pageOf: "Page {n}",
	range: "Templates {from} to {to}",
	paging: "Pages of templates",
	degraded: "Jira could not be reached: templates shared with projects " +
	    "or groups may be missing from this list and cannot be changed " +
	    "right now.",
	listLoaded: "{n} templates shown.",
	retry: "Try again",

	// Scopes.
	scopePersonal: "Only me",
	scopeProjects: "Projects",
	scopeGroups: "Groups",
	scopeGlobal: "Everyone",
	lozPersonal: "Personal",
	lozProjects: "Projects",
	lozGroups: "Groups",
	lozGlobal: "Everyone",
	scopeLegend: "Who can use it",
	scopeHintPersonal: "Nobody else sees it.",
	scopeHintProjects: "People working on issues of the chosen projects.",
	scopeHintGroups: "Members of the chosen groups.",
	scopeHintGlobal: "Everyone in this Jira site.",
	scopeWho: "Jira administrators can share with anyone; administrators " +
	    "of a project, with their projects.",
	adminOnly: "Only Jira administrators can share templates with groups " +
	    "or with everyone.",

	// Pickers.
	projects: "Projects",
	projectsSearch: "Add a project",
	projectsChosen: "Chosen projects",
	groups: "Groups",
	groupsSearch: "Add a group",
	groupsChosen: "Chosen groups",
	pickerHint: "Type to search, then use the arrow keys and Enter.",
	pickerNone: "Nothing found.",
	pickerFailed: "Jira did not answer the search. Try again.",
	pickerSearching: "Searching…",
	pickerResults: "{n} results. Use the arrow keys to choose.",
	pickerResult: "1 result. Use the arrow keys to choose.",
	remove: "Remove {name}",
	added: "{name} added.",
	removed: "{name} removed.",
	projectLabel: "{name} ({key})",
	unknownProject: "Project {id}",
	unknownGroup: "Group {id}",

	// The form.
	formCreate: "Create template",
	formEdit: "Edit template",
	name: "Name",
	body: "Text",
	bodyVars: "Variables you can use",
	bodyVarList: ["{{issue.key}}", "{{issue.summary}}",
	    "{{reporter.displayName}}", "{{assignee.displayName}}",
	    "{{currentUser.displayName}}", "{{today}}"],
	bodyFallback: "A fallback after a bar, used when the value is empty: " +
	    "{{assignee.displayName | the team}}.",
	position: "Position",
	positionHint: "Lower comes first in lists.",
	activeBox: "Active (offered in the issue view)",
	save: "Save",
	saving: "Saving…",
	cancel: "Cancel",
	saved: "Template “{name}” saved.",
	created: "Template “{name}” created.",
	fixFields: "The template was not saved: check the fields marked below.",

	// Field errors (the API names the field; these say what is wrong).
	errName: "Enter a name.",
	errNameLimit: "A name holds 1 to 120 characters.",
	errBody: "Enter the text of the template.",
	errBodyLimit: "The text holds at most 10,000 characters.",
	errScope: "Choose who can use the template.",
	errProjects: "Choose at least one project.",
	errProjectsLimit: "Choose 1 to 50 projects.",
	errGroups: "Choose at least one group.",
	errGroupsLimit: "Choose 1 to 20 groups.",
	errPosition: "Enter a whole number.",
	errActive: "Choose whether the template is active.",
	errField: "This field is not valid.",
	errForbiddenScope: "You may not share a template this way: only Jira " +
	    "administrators, or administrators of every chosen project, can.",
	errLimitPersonal: "You already have as many personal templates as " +
	    "this site allows ({limit}). Delete one first.",
	errLimitShared: "This site already holds as many shared templates as " +
	    "it allows ({limit}).",

	// Conflicts.
	conflictSave: "Someone else changed this template after you opened " +
	    "it, so it was not saved. Reload to see their version; your text " +
	    "is kept.",
	conflictReload: "Reload their version",
	reloadedMine: "The form now shows the saved version. Your text is " +
	    "below: copy what you need, or put it back in the form, then save.",
	yourText: "Your text (not saved)",
	yourName: "Your name (not saved)",
	useMine: "Put my text back in the form",
	mineBack: "Your text is back in the form. Save to replace their version.",
	goneMeanwhile: "This template was deleted meanwhile. Your text is still " +
	    "in the form: you can save it as a new template.",
	saveAsNew: "Save as a new template",
	conflictDelete: "“{name}” was changed after this list was loaded, so it " +
	    "was not deleted. Reload the list and check it first.",
	reloadList: "Reload the list",
	notFound: "This template no longer exists or you may no longer see it.",

	// Delete.
	confirmTitle: "Delete template?",
	confirmText: "“{name}” will be deleted for everyone it is shared with. " +
	    "This cannot be undone.",
	confirmTextPersonal: "Your personal template “{name}” will be " +
	    "deleted. This cannot be undone.",
	confirmDelete: "Delete",
	deleted: "Template “{name}” deleted.",

	// Import and export.
	imported: "{n} templates imported.",
	importedOne: "1 template imported.",
	renamed: "“{from}” was imported as “{to}” (the name was taken).",
	importNotJson: "Nothing was imported: the file is not a template " +
	    "export (it is not JSON).",
	importNotExport: "Nothing was imported: the file holds no list of " +
	    "templates.",
	importTooLarge: "Nothing was imported: the file is larger than an " +
	    "import allows (16 MiB).",
	importTooMany: "Nothing was imported: a file holds at most {limit} " +
	    "templates.",
	importRow: "Nothing was imported: template {row} in the file{name} " +
	    "has a problem with its {field}. {why}",
	importRowForbidden: "Nothing was imported: template {row} in the " +
	    "file{name} is shared in a way you may not set.",
	importRowName: " (“{name}”)",
	importBadFile: "Nothing was imported: the file's {field} is not " +
	    "valid. {why}",
	importLimit: "Nothing was imported. {why}",
	fieldWords: {
		name: "name",
		body: "text",
		scope: "scope (who can use it)",
		projects: "projects",
		groups: "groups",
		position: "position",
		active: "active setting",
		templates: "list of templates",
		format: "format",
		version: "format version",
	},
	exported: "{n} templates exported to {file}.",
	exportName: "cellar-templates-{date}.json",

	// Page-wide errors.
	errNetwork: "cellar could not be reached. Check your connection and " +
	    "try again.",
	errUnavailable: "cellar is not available right now. Try again in a " +
	    "moment.",
	errAuth: "Your session has ended. Reload the page.",
	errForbidden: "You are not allowed to do this.",
	errOther: "Something went wrong ({status}). Try again.",
	dismiss: "Dismiss",
};
