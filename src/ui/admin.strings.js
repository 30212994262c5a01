// Every user-visible string of the admin page (the configuration page
// Jira admins open from "Manage apps").  Plain words for a Jira admin:
// each technical word is explained where it first appears.
export const S = {
	title: "cellar: what is stored for this site",
	intro: "What cellar (canned responses and panoramas) keeps for " +
	    "this Jira site, and the evidence that its data-protection " +
	    "promises are kept. Each listed fact is read from cellar's own " +
	    "records for this site when the page opens; the text around " +
	    "them states cellar's promises.",
	loading: "Loading what cellar stores for this site…",
	refresh: "Check again",
	refreshing: "Checking again…",
	refreshed: "Updated: the facts below were read just now.",
	loaded: "Loaded what cellar stores for this site.",

	// This site.
	siteHeading: "This site",
	siteId: "cellar's id for this site",
	siteIdNote: "A random id. cellar's files and logs name your site " +
	    "only by it, never by its address.",
	status: "Status",
	statusInstalled: "Installed and enabled",
	statusDisabled: "Installed, but disabled in Jira",
	statusDeparted: "Uninstalled",
	installedAt: "Installed",
	updatedAt: "Installation last changed",
	updatedAtNote: "The last time this site's installation changed: " +
	    "installed again, enabled or disabled, for example.",

	// What is stored.
	storedHeading: "What cellar stores",
	templates: "Templates (canned responses)",
	templatesNote: "Shared templates, and your own personal ones. Other " +
	    "people's personal templates are stored too but not counted " +
	    "here: they are theirs.",
	panoramas: "Panoramas",
	panoramasNote: "Every panorama of this site.",
	storedListHeading: "Stored",
	stored: [
		"Ids: of this site, and of issues, projects, groups and " +
		    "Atlassian accounts. Ids only, never their names.",
		"What your users write in cellar: template names and text, " +
		    "panorama names and descriptions, folder titles.",
		"Dates, states (active or not, shared with whom) and how " +
		    "often each template was used.",
	],
	neverListHeading: "Never stored",
	never: [
		"Issue summaries, descriptions and comments. The pages " +
		    "fetch them from Jira in your browser, with your own " +
		    "rights, and never send them to cellar.",
		"People's names, e-mail addresses or pictures.",
		"A template's text once it is filled in with an issue's " +
		    "values.",
	],
	neverLogged: "Never written to cellar's logs: sign-in tokens, " +
	    "secrets, keys, template text, web addresses' parameters or the " +
	    "contents of requests.",

	// Encryption.
	keysHeading: "Encryption",
	fileEncrypted: "This site's data file",
	encryptedYes: "Encrypted",
	encryptedNo: "Not encrypted",
	fileNote: "All of this site's data is in one file of its own, " +
	    "encrypted with a key (a secret number that locks and unlocks " +
	    "it) used for no other site. This was checked on the file " +
	    "itself, not assumed.",
	keyInUse: "Key in use",
	keyVersion: "Version {version}, made {date} ({age})",
	ageToday: "today",
	ageOneDay: "1 day ago",
	ageDays: "{n} days ago",
	lastRotation: "Last key replacement",
	notRotated: "Not replaced yet: the key in use is this site's first.",
	rotationNote: "Replacing a key (\"rotation\") re-encrypts the file " +
	    "under a new key and destroys the old one once no backup needs " +
	    "it. cellar's promise: keys are replaced at least every 90 " +
	    "days. A site's key is stored only locked under cellar's own " +
	    "master keys, which are never stored in a database or a log.",

	// Backups.
	backupsHeading: "Backups",
	lastBackup: "Last verified backup",
	noBackup: "None recorded yet.",
	backupNote: "A backup is recorded here only after every copy of it " +
	    "was read back and checked.",
	backupRun: "Backup reference",
	backupRunNote: "Quote it if you ask the people who run cellar to " +
	    "restore this site's data.",

	// Uninstall.
	uninstallHeading: "If you uninstall cellar",
	uninstall: "Uninstalling stops cellar's access to this site at " +
	    "once. Within {days} days cellar deletes everything it holds for " +
	    "this site, backups included: it first destroys the site's key, " +
	    "so that no copy of the file, backup or not, can be opened " +
	    "again, and then removes the files.",
	reinstall: "Installing cellar again before then cancels the deletion " +
	    "and keeps your data.",
	deletionScheduled: "Deletion scheduled for",
	noDeletion: "None: cellar is installed on this site.",

	// Personal data.
	personalHeading: "Personal data",
	personal: "cellar stores Atlassian account ids and nothing else " +
	    "about people: who owns a template or a panorama, who changed a " +
	    "panorama, and whom a panorama is shared with.",
	reporting: "As Atlassian asks of every app, cellar reports these ids " +
	    "to Atlassian every 7 days (or as often as Atlassian asks). When " +
	    "Atlassian answers that an account was closed, cellar erases it: " +
	    "that person's personal templates are deleted, and they appear " +
	    "as \"former user\" in panorama histories. Their shared " +
	    "templates and their panoramas stay, owned by the site.",
	lastReport: "Last report to Atlassian",
	noReport: "None completed yet.",
	nextReport: "Next report due",
	nextReportSoon: "At cellar's next daily run.",
	accountsErased: "Closed accounts erased so far",

	// Analytics.
	analyticsHeading: "Analytics",
	analytics: "None. cellar sends no analytics or usage data anywhere " +
	    "and uses no tracking. The only counts it keeps are how often " +
	    "each template was used, in this site's own file, to list the " +
	    "most used templates first.",

	// Errors.
	errorHeading: "cellar could not show what it stores for this site",
	tryAgain: "Try again",
	err401: "cellar could not confirm who you are: your Jira session " +
	    "may have ended. Reload the page; if this persists, sign in to " +
	    "Jira again.",
	err403: "You may not see this page. Only Jira admins may; ask one " +
	    "of them.",
	errQuarantined: "cellar has put this site's data on hold because it " +
	    "found its file damaged. Nothing is written to it until the " +
	    "people who run cellar have restored it. Try again later.",
	errUnavailable: "cellar is busy right now. Try again in a minute.",
	errNetwork: "cellar could not be reached. Check your connection, " +
	    "then try again.",
	errNoHost: "This page works only inside Jira: open it from Jira's " +
	    "\"Manage apps\".",
	// A value cellar did not give.
	missing: "—",
	noStatus: "no status",
	errOther: "cellar answered with an error ({status}). Try again; if " +
	    "it persists, tell the people who run cellar.",
};
