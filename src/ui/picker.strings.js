// Every user-visible string of the picker page (the canned-responses
// panel in Jira's issue view).  {name} style holes are filled by fmt().
export const S = {
	title: "Canned responses",
	searchLabel: "Search canned responses",
	searchPlaceholder: "Type to search names and text",
	searchTooLong: "Search: at most 200 bytes (shorten the text).",
	keysHint: "Up and Down choose a response, Enter posts it as a " +
	    "comment, Esc clears the search.",
	listLabel: "Canned responses",
	previewHeading: "Preview",
	previewFor: "Preview of {name}",
	previewEmpty: "(this response renders to no text for this issue)",
	copy: "Copy",
	insert: "Post as comment",

	// Scope lozenges (the template manager's words), and what they
	// mean (a tooltip and the screen-reader text).
	scope: {
		personal: "Personal",
		projects: "Projects",
		groups: "Groups",
		global: "Everyone",
	},
	scopeHint: {
		personal: "Only you see this response",
		projects: "Shared with this project",
		groups: "Shared with a group you are in",
		global: "Shared with everyone on this site",
	},

	// Lists and their empty states.
	count: "{n} responses",
	countOne: "1 response",
	more: "Showing the first {n}: search to narrow the list.",
	none: "There are no canned responses for this issue yet.",
	noneHint: "Create them in Canned responses (Apps menu).",
	openManager: "Open Canned responses",
	noMatch: "No canned response matches \u201c{q}\u201d. Search " +
	    "ignores case but not accents.",
	degraded: "cellar could not reach Jira, so responses shared with " +
	    "projects or groups may be missing from this list.",
	loading: "Loading canned responses\u2026",

	// Errors, in plain words.
	cellarDown: "Canned responses could not be loaded: cellar could " +
	    "not be reached.",
	cellarError: "Canned responses could not be loaded (cellar " +
	    "answered {status}).",
	retry: "Try again",
	jiraDown: "Jira could not be reached, so the preview shows the " +
	    "fallback text instead of this issue's values.",
	noIssue: "This panel must be opened from an issue.",

	// Posting and copying.
	posting: "Posting \u201c{name}\u201d as a comment\u2026",
	posted: "Posted \u201c{name}\u201d as a comment on {key}.",
	postedNotCounted: "Posted \u201c{name}\u201d as a comment on {key}, " +
	    "but cellar could not count the use.",
	postEmpty: "Nothing was posted: \u201c{name}\u201d renders to no " +
	    "text for this issue.",
	postFailed: "Jira did not accept the comment (error {status}). " +
	    "Nothing was posted.",
	postForbidden: "Jira did not accept the comment: you may not " +
	    "comment on this issue. Nothing was posted.",
	postUnreachable: "Jira could not be reached. Nothing was posted.",
	copied: "Copied \u201c{name}\u201d. Paste it where you need it.",
	copyEmpty: "Nothing was copied: \u201c{name}\u201d renders to no " +
	    "text for this issue.",
	copyFailed: "The browser did not allow copying. Select the " +
	    "preview text and press Ctrl+C.",
	escEmpty: "The search is empty. This panel stays open: close it " +
	    "from the issue view.",
	cleared: "Search cleared.",
};
