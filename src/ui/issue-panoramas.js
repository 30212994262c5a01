// The issue panel (jiraIssueContexts "issue-panoramas"): the panoramas
// the user may view that hold this issue, by name, each a button that
// opens the Panoramas page at that panorama (AP.navigator.go; Connect
// hands customData to that page as "ac.panorama").  Only the issue's id
// goes to cellar; its key stays with Jira.  The iframe is fitted to the
// content (resize()) after every render.
import { api, ApiError, page, h, fmt, announce, resize } from
    "./lib/cellar.js";
import { S } from "./issue-panoramas.strings.js";

// The panoramas page's module key (descriptor generalPages).
const PANORAMAS_MODULE = "panoramas";
// The API lists at most this many (the first, by name), without a cursor.
const API_MAX = 100;
const ISSUE_ID = /^[1-9][0-9]{0,17}$/;

const app = document.getElementById("app");
document.title = S.title;

const issueId = page.params.get("issueId") || "";

// Opens the Panoramas page, at one panorama when id is given.
function go(id) {
	const AP = window.AP;
	const opts = { moduleKey: PANORAMAS_MODULE };
	if (id !== undefined)
		opts.customData = { panorama: id };
	try {
		AP.navigator.go("addonmodule", opts);
	} catch (e) {
		showError(S.errNavigate, false);
	}
}

function errorText(e) {
	if (!(e instanceof ApiError))
		return fmt(S.errOther, { status: S.noStatus });
	switch (e.status) {
	case 0:
		return e.code === "no_host" ? S.errNoHost : S.errNetwork;
	case 401:
		return S.err401;
	case 403:
		return S.err403;
	case 404:
		return S.err404;
	case 503:
		return S.errUnavailable;
	default:
		return fmt(S.errOther, { status: String(e.status) });
	}
}

function heading() {
	return h("h1", { class: "sr-only" }, S.title);
}

function done() {
	app.setAttribute("aria-busy", "false");
	resize();
}

// An error in place of the list; retry: offer to ask again.
function showError(text, retry) {
	app.replaceChildren(heading(), h("div", { class: "message error",
	    role: "alert", id: "error" }, h("p", {}, text),
	    retry ? h("div", { class: "actions" }, h("button", {
	    type: "button", id: "retry", onclick: () => load(true) },
	    S.tryAgain)) : null));
	done();
}

function nodes(n) {
	if (typeof n !== "number")
		return null;
	return n === 1 ? S.nodesOne : fmt(S.nodes,
	    { n: new Intl.NumberFormat().format(n) });
}

function render(list) {
	if (list.length === 0) {
		app.replaceChildren(heading(), h("div", { class: "empty",
		    id: "empty" },
		    h("p", {}, S.empty),
		    h("p", { class: "subtle" }, S.emptyHint),
		    h("button", { type: "button", id: "go-panoramas",
		    onclick: () => go() }, S.goToPanoramas)));
		done();
		return;
	}
	const items = list.map((p) => {
		const n = nodes(p.nodes);
		return h("li", { dataset: { panorama: p.id } },
		    h("button", { type: "button", class: "open link",
		    "aria-label": fmt(S.open, { name: p.name }),
		    onclick: () => go(p.id) }, p.name),
		    n ? h("span", { class: "subtlest" }, n) : null);
	});
	// replaceChildren() would write a null as "null" (h() skips it).
	app.replaceChildren(...[heading(),
	    h("p", { class: "count subtle", id: "count" },
	    list.length === 1 ? S.countOne : fmt(S.count,
	    { n: String(list.length) })),
	    h("ul", { class: "panoramas", "aria-labelledby": "count" }, items),
	    list.length >= API_MAX ? h("p", { class: "subtlest" },
	    fmt(S.first100, { n: String(API_MAX) })) : null,
	    h("button", { type: "button", class: "link", id: "all",
	    onclick: () => go() }, S.allPanoramas)].filter((x) => x !== null));
	done();
}

let busy = false;

async function load(byUser) {
	if (busy)
		return;
	if (!ISSUE_ID.test(issueId)) {
		showError(S.noIssue, false);
		return;
	}
	busy = true;
	app.setAttribute("aria-busy", "true");
	let list = null, err = null;
	try {
		const r = await api("GET", "/api/issues/" +
		    encodeURIComponent(issueId) + "/panoramas");
		list = r && Array.isArray(r.panoramas) ? r.panoramas : [];
	} catch (e) {
		err = e;
	}
	busy = false;
	if (err !== null) {
		const s = err instanceof ApiError ? err.status : -1;
		showError(errorText(err), s !== 401 && s !== 403 && s !== 404);
		if (byUser && document.getElementById("retry"))
			document.getElementById("retry").focus();
		return;
	}
	render(list.filter((p) => p && typeof p.id === "string" &&
	    typeof p.name === "string"));
	if (byUser) {
		const first = app.querySelector("button");
		if (first)
			first.focus();
		announce(list.length === 0 ? S.empty : list.length === 1 ?
		    S.countOne : fmt(S.count, { n: String(list.length) }));
	}
}

app.replaceChildren(heading(), h("p", { class: "subtle" }, S.loading));
load(false);
