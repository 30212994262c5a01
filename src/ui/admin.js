// The admin page (adminPages "cellar-admin" and the app's configurePage):
// what cellar stores for this site and the evidence of its data-protection
// promises, from GET /api/tenant, in plain words for a Jira admin.
//
// Only what the API reports is shown as a fact (counts, the file's
// encryption read from the file, key version and dates, the last
// verified backup, a scheduled deletion); the promises themselves
// (deletion within 30 days, keys replaced every 90 days, what is never
// stored) are said as cellar's promises, not as measurements.  Dates
// are shown in the user's locale and time zone (Jira's, when the host
// tells them; the browser's otherwise), each in a <time datetime>.
import { api, ApiError, h, fmt, announce } from "./lib/cellar.js";
import { S } from "./admin.strings.js";

// The README's promise: a departed site's data is gone within 30 days,
// backups included ([reaper] grace_days is at most 30).
const DELETION_DAYS = 30;
// How long to wait for the host's locale and time zone.
const HOST_WAIT_MS = 1500;

const app = document.getElementById("app");
document.title = S.title;

let dateFmt = null;
let numFmt = null;

// One answer of AP.user.getLocale / getTimeZone (callback form), or
// null when the host has none or is slow.
function hostAnswer(name) {
	const AP = window.AP;
	if (!AP || !AP.user || typeof AP.user[name] !== "function")
		return Promise.resolve(null);
	return new Promise((resolve) => {
		const t = window.setTimeout(() => resolve(null), HOST_WAIT_MS);
		const done = (v) => {
			window.clearTimeout(t);
			resolve(typeof v === "string" && v !== "" ? v : null);
		};
		try {
			const p = AP.user[name](done);
			if (p && typeof p.then === "function")
				p.then(done, () => done(null));
		} catch (e) {
			done(null);
		}
	});
}

// Formatters for the user's locale and time zone.  A locale or zone
// the browser does not know is ignored, never an error.
async function formatters() {
	const [loc, zone] = await Promise.all([hostAnswer("getLocale"),
	    hostAnswer("getTimeZone")]);
	let locale;
	if (loc !== null) {
		const tag = loc.replace(/_/g, "-");
		try {
			const known = Intl.DateTimeFormat.supportedLocalesOf(
			    [tag]);
			if (known.length)
				locale = tag;
		} catch (e) {
			locale = undefined;
		}
	}
	const opts = { dateStyle: "long", timeStyle: "short" };
	if (zone !== null) {
		try {
			new Intl.DateTimeFormat(locale, { timeZone: zone });
			opts.timeZone = zone;
		} catch (e) {
			// Unknown zone: the browser's.
		}
	}
	dateFmt = new Intl.DateTimeFormat(locale, opts);
	numFmt = new Intl.NumberFormat(locale);
}

function num(n) {
	return typeof n === "number" ? numFmt.format(n) : S.missing;
}

// A date of the API (ISO 8601 UTC) as <time>, or the text for none.
function date(iso, none) {
	if (typeof iso !== "string" || iso === "")
		return none;
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return none;
	return h("time", { datetime: iso }, dateFmt.format(d));
}

function age(days) {
	if (typeof days !== "number" || days < 0)
		return "";
	if (days === 0)
		return S.ageToday;
	if (days === 1)
		return S.ageOneDay;
	return fmt(S.ageDays, { n: num(days) });
}

// One row of a definition list: term, value, optional note.  The id
// lets tests and readers find a fact by what it is.
function fact(id, term, value, note) {
	return [
		h("dt", { id: "t-" + id }, term),
		h("dd", { dataset: { fact: id } },
		    h("div", { class: "value" }, value),
		    note ? h("div", { class: "note subtle" }, note) : null),
	];
}

function section(id, heading, ...children) {
	return h("section", { "aria-labelledby": "h-" + id, id: "s-" + id },
	    h("h2", { id: "h-" + id }, heading), ...children);
}

function status(t) {
	if (t.state !== "installed")
		return h("span", { class: "lozenge" }, S.statusDeparted);
	if (!t.enabled)
		return h("span", { class: "lozenge warning" },
		    S.statusDisabled);
	return h("span", { class: "lozenge success" }, S.statusInstalled);
}

function renderSite(t) {
	return section("site", S.siteHeading, h("dl", { class: "facts" },
	    fact("site-id", S.siteId, h("code", {}, t.id || S.missing),
	    S.siteIdNote),
	    fact("status", S.status, status(t)),
	    fact("installed", S.installedAt, date(t.installedAt, S.missing)),
	    fact("updated", S.updatedAt, date(t.updatedAt, S.missing),
	    S.updatedAtNote)));
}

function renderStored(r) {
	return section("stored", S.storedHeading,
	    h("dl", { class: "facts" },
	    fact("templates", S.templates, num(r.templates), S.templatesNote),
	    fact("panoramas", S.panoramas, num(r.panoramas), S.panoramasNote)),
	    h("div", { class: "columns" },
	    h("div", {},
	    h("h3", { id: "h-stored-list" }, S.storedListHeading),
	    h("ul", { "aria-labelledby": "h-stored-list" },
	    S.stored.map((s) => h("li", {}, s)))),
	    h("div", {},
	    h("h3", { id: "h-never-list" }, S.neverListHeading),
	    h("ul", { "aria-labelledby": "h-never-list" },
	    S.never.map((s) => h("li", {}, s))))),
	    h("p", { class: "subtle" }, S.neverLogged));
}

function renderKeys(k) {
	const enc = k.fileEncrypted === true;
	return section("keys", S.keysHeading, h("dl", { class: "facts" },
	    fact("encrypted", S.fileEncrypted,
	    h("span", { class: enc ? "lozenge success" : "lozenge danger" },
	    enc ? S.encryptedYes : S.encryptedNo), S.fileNote),
	    fact("key", S.keyInUse, keyText(k)),
	    fact("rotated", S.lastRotation, date(k.lastRotatedAt, S.notRotated),
	    S.rotationNote)));
}

// "Version 2, made <time> (3 days ago)", the date an element.
function keyText(k) {
	const parts = fmt(S.keyVersion, { version: num(k.dataKeyVersion),
	    age: age(k.dataKeyAgeDays) }).split("{date}");
	return h("span", {}, parts[0], date(k.dataKeyCreatedAt, S.missing),
	    parts.slice(1).join(""));
}

function renderBackups(b) {
	return section("backups", S.backupsHeading, h("dl", { class: "facts" },
	    fact("backup", S.lastBackup,
	    date(b.lastVerifiedAt ?? b.lastBackupAt, S.noBackup), S.backupNote),
	    typeof b.lastRun === "string" && b.lastRun !== "" ?
	    fact("backup-run", S.backupRun, h("code", {}, b.lastRun),
	    S.backupRunNote) : null));
}

function renderDeletion(d) {
	return section("uninstall", S.uninstallHeading,
	    h("p", {}, fmt(S.uninstall, { days: num(DELETION_DAYS) })),
	    h("p", {}, S.reinstall),
	    h("dl", { class: "facts" },
	    fact("deletion", S.deletionScheduled,
	    date(d.scheduledAt, S.noDeletion))));
}

// The reporting state, when /api/tenant reports it ("personalData":
// lastReportedAt, nextReportAt, erasedAccounts); the promise alone
// otherwise.
function renderPersonal(p) {
	const rows = [];
	if (p && typeof p === "object") {
		rows.push(fact("last-report", S.lastReport,
		    date(p.lastReportedAt, S.noReport)));
		if ("nextReportAt" in p)
			rows.push(fact("next-report", S.nextReport,
			    date(p.nextReportAt, S.nextReportSoon)));
		if (typeof p.erasedAccounts === "number")
			rows.push(fact("erased", S.accountsErased,
			    num(p.erasedAccounts)));
	}
	return section("personal", S.personalHeading,
	    h("p", {}, S.personal), h("p", {}, S.reporting),
	    rows.length ? h("dl", { class: "facts" }, rows) : null);
}

function renderAnalytics() {
	return section("analytics", S.analyticsHeading,
	    h("p", {}, S.analytics));
}

function errorText(e) {
	if (!(e instanceof ApiError))
		return fmt(S.errOther, { status: S.noStatus });
	if (e.status === 0)
		return e.code === "no_host" ? S.errNoHost : S.errNetwork;
	if (e.status === 401)
		return S.err401;
	if (e.status === 403)
		return S.err403;
	if (e.status === 503)
		return e.code === "tenant_quarantined" ? S.errQuarantined :
		    S.errUnavailable;
	return fmt(S.errOther, { status: String(e.status) });
}

// The title, what the page is, and (over facts) the button that reads
// them again.
function header(failed) {
	return [
		h("h1", {}, S.title),
		h("p", { class: "intro" }, S.intro),
		failed ? null : h("div", { class: "toolbar" },
		    h("button", { type: "button", id: "refresh",
		    onclick: () => load(true) }, S.refresh)),
	];
}

let busy = false;

// Reads /api/tenant and renders it.  byUser: a button asked for it, so
// the focus goes back to a button of the new page (the page is rebuilt).
async function load(byUser) {
	if (busy)
		return;
	busy = true;
	app.setAttribute("aria-busy", "true");
	const btn = document.getElementById("refresh");
	if (btn) {
		btn.disabled = true;
		btn.textContent = S.refreshing;
	}
	let body, failed = false;
	try {
		if (dateFmt === null)
			await formatters();
		const t = await api("GET", "/api/tenant");
		const o = t && typeof t === "object" ? t : {};
		body = [
			renderSite(o.tenant || {}),
			renderStored(o.records || {}),
			renderKeys(o.keys || {}),
			renderBackups(o.backups || {}),
			renderDeletion(o.deletion || {}),
			renderPersonal(o.personalData),
			renderAnalytics(),
		];
	} catch (e) {
		failed = true;
		body = [h("div", { class: "message error", role: "alert",
		    id: "error" },
		    h("h2", {}, S.errorHeading),
		    h("p", {}, errorText(e)),
		    h("div", { class: "actions" }, h("button", { type: "button",
		    class: "primary", id: "retry", onclick: () => load(true) },
		    S.tryAgain)))];
	}
	app.replaceChildren(...header(failed).filter((x) => x !== null),
	    ...body);
	busy = false;
	app.setAttribute("aria-busy", "false");
	if (byUser)
		document.getElementById(failed ? "retry" : "refresh").focus();
	if (!failed)
		announce(byUser ? S.refreshed : S.loaded);
}

app.replaceChildren(h("h1", {}, S.title),
    h("p", { class: "subtle" }, S.loading));
load(false);
