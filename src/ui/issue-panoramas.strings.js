// Every user-visible string of the issue panel that lists the panoramas
// holding the issue.
export const S = {
	title: "Panoramas with this issue",
	loading: "Loading panoramas…",
	count: "In {n} panoramas",
	countOne: "In 1 panorama",
	open: "Open {name} in Panoramas",
	nodes: "{n} items",
	nodesOne: "1 item",
	first100: "Only the first {n} panoramas, by name, are listed.",
	empty: "This issue is in no panorama.",
	emptyHint: "Add it to one from the Panoramas page.",
	goToPanoramas: "Go to Panoramas",
	allPanoramas: "All panoramas",
	tryAgain: "Try again",
	noIssue: "Jira did not say which issue this is. Reload the issue.",
	err401: "cellar could not confirm who you are: your Jira session " +
	    "may have ended. Reload the page.",
	err403: "You do not have the Jira permission \"Use panoramas\". A " +
	    "Jira admin can grant it in Jira's global permissions.",
	err404: "This issue cannot be found, or you may not browse it.",
	errUnavailable: "cellar cannot reach Jira right now, or is busy. Try " +
	    "again in a minute.",
	errNetwork: "cellar could not be reached. Check your connection, " +
	    "then try again.",
	errNoHost: "This panel works only inside Jira.",
	noStatus: "no status",
	errOther: "cellar answered with an error ({status}). Try again.",
	errNavigate: "Jira could not open the Panoramas page.",
};
