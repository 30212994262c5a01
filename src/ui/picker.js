// The canned-responses picker: a panel in Jira's issue view
// (/ui/picker?issueId=&issueKey=&projectId=).
//
// - The list is GET /api/templates (q= as the user types, debounced;
//   projectId= the issue's project), shown in the API's order.
// - The issue's values (key, summary, reporter, assignee, current user)
//   come from Jira through jira(), as the user, and stay in the browser.
// - The preview is rendered HERE, by render() below, with the server's
//   rules (src/fcgi/render.c): POST /api/templates/{id}/render counts a
//   use, and a preview that counted would inflate the counts each time
//   someone looked.  Nothing of the issue is ever sent to cellar.
// - "Post as comment" posts the text through jira() (Jira REST v3, ADF)
//   and only then counts the use (POST /api/templates/{id}/uses, kind
//   "posted"); a comment Jira refused counts nothing.
// - Keyboard: focus stays in the search box (a combobox whose listbox is
//   always shown); Up/Down move the active option (aria-activedescendant),
//   Enter posts it, Esc clears the search.
import { api, ApiError, jira, JiraError, page, h, fmt, announce, resize }
    from "./lib/cellar.js";
import { S } from "./picker.strings.js";

const DEBOUNCE_MS = 200;
const LIMIT = 100;		/* the API's page maximum: one page */
const QUERY_MAX = 200;		/* bytes of q the API takes */

const app = document.getElementById("app");
const issueId = page.params.get("issueId") || "";
const issueKeyParam = page.params.get("issueKey") || "";
const projectId = page.params.get("projectId") || "";

// What the page knows.
const state = {
	templates: [],		/* the current list, in the API's order */
	more: false,		/* the API has more than one page */
	degraded: false,
	active: -1,		/* index in templates, -1 none */
	query: "",		/* q of the list shown */
	values: {},		/* render values from Jira */
	jiraFailed: false,
	listError: null,	/* ApiError of the last list load */
	busy: false,		/* a post or copy runs */
};

// Template variables, as src/fcgi/render.c reads them.
const KNOWN = new Set(["issue.key", "issue.summary", "reporter.displayName",
    "assignee.displayName", "currentUser.displayName", "today"]);

// Blanks around a name or a fallback: spaces and tabs only.
function trimBlanks(s) {
	return s.replace(/^[ \t]+/, "").replace(/[ \t]+$/, "");
}

// Today as the server's render has it: the UTC date, YYYY-MM-DD.
function todayUtc() {
	return new Date().toISOString().slice(0, 10);
}

/*
 * body rendered with values, by the server's rules (render.c): a variable
 * is "{{" name [ "|" fallback ] "}}" with optional blanks; the innermost
 * "{{" before a "}}" opens it (so "{{{issue.key}}}" gives "{OPS-42}"); a
 * known name takes its value when non-empty, else the fallback, else
 * nothing ("today" always the date); an unknown name, or a "{{" without
 * "}}", stays as typed; values are never expanded again.
 */
export function render(body, values, today) {
	let out = "";
	let p = 0;
	for (;;) {
		let open = body.indexOf("{{", p);
		if (open === -1)
			break;
		const close = body.indexOf("}}", open + 2);
		if (close === -1)
			break;
		for (let s = close - 2; s > open; s--)
			if (body[s] === "{" && body[s + 1] === "{") {
				open = s;
				break;
			}
		out += body.slice(p, open);
		const inner = body.slice(open + 2, close);
		const bar = inner.indexOf("|");
		const name = trimBlanks(bar === -1 ? inner : inner.slice(0, bar));
		const fb = bar === -1 ? null : trimBlanks(inner.slice(bar + 1));
		if (!KNOWN.has(name)) {
			out += "{{";
			p = open + 2;
			continue;
		}
		const v = values[name];
		if (name === "today" && (typeof v !== "string" || v === ""))
			out += today;
		else if (typeof v === "string" && v !== "")
			out += v;
		else if (fb !== null)
			out += fb;
		p = close + 2;
	}
	return out + body.slice(p);
}

/*
 * Text as an Atlassian Document Format body (Jira REST v3 comments):
 * paragraphs at blank lines, lines inside one joined by hard breaks.
 * Empty text nodes are not valid ADF, so blank lines make none.
 */
export function adf(text) {
	const paras = text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)
	    .map((p) => p.replace(/^\n+|\n+$/g, ""))
	    .filter((p) => p.trim() !== "");
	return {
		type: "doc", version: 1,
		content: paras.map((p) => {
			const content = [];
			p.split("\n").forEach((line, i) => {
				if (i > 0)
					content.push({ type: "hardBreak" });
				if (line !== "")
					content.push({ type: "text", text: line });
			});
			return { type: "paragraph", content };
		}),
	};
}

// ---- The page's parts.

const search = h("input", {
	type: "search", id: "q", autocomplete: "off", spellcheck: "false",
	role: "combobox", "aria-autocomplete": "list", "aria-expanded": "true",
	"aria-controls": "options", "aria-describedby": "keys-hint q-error",
	placeholder: S.searchPlaceholder,
	oninput: onInput, onkeydown: onKey,
});
const searchError = h("div", { class: "field-error", id: "q-error" });
const listbox = h("ul", { id: "options", role: "listbox",
    "aria-label": S.listLabel, class: "options" });
const listStatus = h("div", { class: "list-status", id: "list-status" });
const previewTitle = h("h2", { id: "preview-title", class: "preview-title" });
const previewScope = h("span", { class: "lozenge" });
const previewText = h("div", { id: "preview", class: "preview-text",
    "aria-labelledby": "preview-title", role: "region", tabindex: "0" });
const copyButton = h("button", { type: "button", id: "copy",
    onclick: () => copy() }, S.copy);
const insertButton = h("button", { type: "button", id: "insert",
    class: "primary", onclick: () => insert() }, S.insert);
const message = h("div", { id: "message", class: "message", hidden: true });
const issueNote = h("div", { id: "jira-note", class: "message warning",
    hidden: true }, S.jiraDown);
const degradedNote = h("div", { id: "degraded-note", class: "message info",
    hidden: true }, S.degraded);
const preview = h("section", { class: "preview", id: "preview-box",
    hidden: true },
    h("div", { class: "preview-head" }, previewTitle, previewScope),
    previewText,
    h("div", { class: "actions" }, insertButton, copyButton));

function build() {
	document.title = S.title;
	app.append(
	    h("label", { for: "q" }, S.searchLabel),
	    search,
	    searchError,
	    h("p", { id: "keys-hint", class: "subtlest" }, S.keysHint),
	    message,
	    issueNote,
	    degradedNote,
	    h("div", { class: "picker" },
		h("div", { class: "list" }, listbox, listStatus),
		preview));
}

function setBusy(yes) {
	app.setAttribute("aria-busy", yes ? "true" : "false");
}

// One message at a time: kind is info, success, warning or error.
function say(kind, text, extra) {
	message.replaceChildren(h("p", {}, text), ...(extra ? [extra] : []));
	message.className = "message " + kind;
	message.setAttribute("role", kind === "error" ? "alert" : "status");
	message.hidden = false;
	resize();
}

// ---- The list.

function optionId(t) {
	return "tpl-" + t.id;
}

function scopeLozenge(scope, el) {
	const cls = { personal: "", projects: "brand", groups: "warning",
	    global: "success" }[scope] ?? "";
	const node = el || h("span", {});
	node.className = "lozenge" + (cls ? " " + cls : "");
	node.textContent = S.scope[scope] ?? scope;
	node.title = S.scopeHint[scope] ?? "";
	return node;
}

function renderList() {
	const items = state.templates.map((t, i) => h("li", {
		id: optionId(t), role: "option",
		"aria-selected": i === state.active ? "true" : "false",
		class: i === state.active ? "option active" : "option",
		dataset: { id: String(t.id) },
		onmousedown: (e) => e.preventDefault(),
		onclick: () => { setActive(i); search.focus(); },
	    },
	    h("span", { class: "option-name" }, t.name),
	    scopeLozenge(t.scope)));
	listbox.replaceChildren(...items);
	listbox.hidden = items.length === 0;

	let status = null;
	if (state.listError !== null) {
		const e = state.listError;
		status = h("div", { class: "message error", role: "alert" },
		    h("p", {}, e.status === 0 ? S.cellarDown :
			fmt(S.cellarError, { status: e.status })),
		    h("div", { class: "actions" }, h("button", { type: "button",
			id: "retry", onclick: () => load(state.query) },
			S.retry)));
	} else if (state.templates.length === 0 && state.query === "") {
		status = h("div", { class: "message info", id: "empty" },
		    h("p", {}, S.none), h("p", { class: "subtle" }, S.noneHint),
		    managerButton());
	} else if (state.templates.length === 0) {
		status = h("div", { class: "message info", id: "no-match" },
		    fmt(S.noMatch, { q: state.query }));
	} else if (state.more) {
		status = h("p", { class: "subtlest" },
		    fmt(S.more, { n: state.templates.length }));
	}
	listStatus.replaceChildren(...(status ? [status] : []));
	degradedNote.hidden = !state.degraded;
	renderActive();
}

function managerButton() {
	if (typeof window.AP === "undefined" || !window.AP.navigator)
		return null;
	return h("div", { class: "actions" }, h("button", { type: "button",
	    onclick: () => window.AP.navigator.go("addonmodule",
		{ moduleKey: "canned-responses-manager" }) }, S.openManager));
}

function activeTemplate() {
	return state.active >= 0 ? state.templates[state.active] : null;
}

function setActive(i) {
	if (i === state.active || i < 0 || i >= state.templates.length)
		return;
	const old = listbox.children[state.active];
	if (old) {
		old.setAttribute("aria-selected", "false");
		old.classList.remove("active");
	}
	state.active = i;
	const li = listbox.children[i];
	li.setAttribute("aria-selected", "true");
	li.classList.add("active");
	li.scrollIntoView({ block: "nearest" });
	renderActive();
}

// The preview of the active template, and the combobox's pointer to it.
function renderActive() {
	const t = activeTemplate();
	if (t === null) {
		search.removeAttribute("aria-activedescendant");
		preview.hidden = true;
		resize();
		return;
	}
	search.setAttribute("aria-activedescendant", optionId(t));
	previewTitle.textContent = t.name;
	previewTitle.setAttribute("aria-label",
	    fmt(S.previewFor, { name: t.name }));
	scopeLozenge(t.scope, previewScope);
	const text = render(t.body, state.values, todayUtc());
	previewText.textContent = text !== "" ? text : S.previewEmpty;
	previewText.classList.toggle("empty", text === "");
	preview.hidden = false;
	resize();
}

// ---- Loading.

let timer = null;
let loading = null;	/* the running load's promise */
let seq = 0;		/* replies of older loads are dropped */

// The search box's text as q: trimmed; null when over the API's limit.
function queryOf() {
	const q = search.value.trim();
	if (new TextEncoder().encode(q).length > QUERY_MAX)
		return null;
	return q;
}

async function load(q) {
	const mine = ++seq;
	setBusy(true);
	const params = new URLSearchParams({ limit: String(LIMIT) });
	if (projectId !== "")
		params.set("projectId", projectId);
	if (q !== "")
		params.set("q", q);
	const keep = activeTemplate();
	let reply = null, error = null;
	try {
		reply = await api("GET", "/api/templates?" + params.toString());
	} catch (e) {
		error = e instanceof ApiError ? e : new ApiError(0, null);
	}
	if (mine !== seq)
		return;
	state.query = q;
	state.listError = error;
	state.templates = reply && Array.isArray(reply.templates) ?
	    reply.templates : [];
	state.more = !!(reply && reply.nextCursor);
	state.degraded = !!(reply && reply.degraded);
	// The same template stays active when it is still listed.
	state.active = state.templates.length > 0 ? 0 : -1;
	if (keep !== null) {
		const i = state.templates.findIndex((t) => t.id === keep.id);
		if (i !== -1)
			state.active = i;
	}
	renderList();
	if (error === null && q !== "")
		announce(state.templates.length === 1 ? S.countOne :
		    fmt(S.count, { n: state.templates.length }));
	// Busy until the text typed last has its list.
	if (firstDone && timer === null)
		setBusy(false);
}

// Runs the search for the box's text now (Enter, or the debounce).
function searchNow() {
	if (timer !== null) {
		window.clearTimeout(timer);
		timer = null;
	}
	const q = queryOf();
	if (q === null) {
		search.setAttribute("aria-invalid", "true");
		searchError.textContent = S.searchTooLong;
		if (firstDone)
			setBusy(false);
		return Promise.resolve();
	}
	search.removeAttribute("aria-invalid");
	searchError.textContent = "";
	const p = loading = load(q).finally(() => {
		if (loading === p)
			loading = null;
	});
	return p;
}

function onInput() {
	if (timer !== null)
		window.clearTimeout(timer);
	setBusy(true);
	timer = window.setTimeout(searchNow, DEBOUNCE_MS);
}

// What Enter waits for: a search typed but not yet run, or running.
async function settled() {
	if (timer !== null)
		await searchNow();
	while (loading !== null)
		await loading;
}

// The issue's values, from Jira as the user.  Fails into fallbacks.
async function loadValues() {
	const values = {};
	if (issueKeyParam !== "")
		values["issue.key"] = issueKeyParam;
	const [issue, me] = await Promise.allSettled([
	    jira("GET", "/rest/api/3/issue/" + encodeURIComponent(issueId) +
		"?fields=summary,reporter,assignee"),
	    jira("GET", "/rest/api/3/myself"),
	]);
	if (issue.status === "fulfilled" && issue.value) {
		const f = issue.value.fields || {};
		if (typeof issue.value.key === "string")
			values["issue.key"] = issue.value.key;
		if (typeof f.summary === "string")
			values["issue.summary"] = f.summary;
		if (f.reporter && typeof f.reporter.displayName === "string")
			values["reporter.displayName"] = f.reporter.displayName;
		if (f.assignee && typeof f.assignee.displayName === "string")
			values["assignee.displayName"] = f.assignee.displayName;
	}
	if (me.status === "fulfilled" && me.value &&
	    typeof me.value.displayName === "string")
		values["currentUser.displayName"] = me.value.displayName;
	state.values = values;
	state.jiraFailed = issue.status === "rejected" ||
	    me.status === "rejected";
	issueNote.hidden = !state.jiraFailed;
	renderActive();
}

// ---- Keyboard.

function onKey(e) {
	if (e.isComposing)
		return;
	switch (e.key) {
	case "ArrowDown":
	case "Down":
		e.preventDefault();
		if (state.templates.length > 0)
			setActive(Math.min(state.active + 1,
			    state.templates.length - 1));
		break;
	case "ArrowUp":
	case "Up":
		e.preventDefault();
		if (state.templates.length > 0)
			setActive(Math.max(state.active - 1, 0));
		break;
	case "Enter":
		e.preventDefault();
		settled().then(() => insert());
		break;
	case "Escape":
	case "Esc":
		// A search box's own Escape clears it too; this one also
		// reloads the list.  Connect has no way to close an issue
		// panel, so an empty box only says so.
		e.preventDefault();
		if (search.value !== "") {
			search.value = "";
			announce(S.cleared);
			setBusy(true);
			searchNow();
		} else
			announce(S.escEmpty);
		break;
	default:
		break;
	}
}

// ---- Posting and copying.

function setWorking(yes) {
	state.busy = yes;
	copyButton.disabled = yes;
	insertButton.disabled = yes;
}

async function insert() {
	const t = activeTemplate();
	if (t === null || state.busy)
		return;
	const text = render(t.body, state.values, todayUtc());
	const key = state.values["issue.key"] || issueKeyParam;
	if (text.trim() === "") {
		say("warning", fmt(S.postEmpty, { name: t.name }));
		return;
	}
	if (issueId === "") {
		say("error", S.noIssue);
		return;
	}
	setWorking(true);
	say("info", fmt(S.posting, { name: t.name }));
	try {
		try {
			await jira("POST", "/rest/api/3/issue/" +
			    encodeURIComponent(issueId) + "/comment",
			    { body: adf(text) });
		} catch (e) {
			const status = e instanceof JiraError ? e.status : 0;
			const m = status === 0 ? S.postUnreachable :
			    status === 403 ? S.postForbidden :
			    fmt(S.postFailed, { status });
			say("error", m);
			announce(m);
			return;
		}
		let m = fmt(S.posted, { name: t.name, key });
		let kind = "success";
		try {
			await api("POST", "/api/templates/" +
			    encodeURIComponent(t.id) + "/uses", { kind: "posted" });
		} catch (e) {
			m = fmt(S.postedNotCounted, { name: t.name, key });
			kind = "warning";
		}
		say(kind, m);
		announce(m);
	} finally {
		setWorking(false);
		search.focus();
	}
}

// The fallback when the Clipboard API is refused (an iframe without the
// clipboard-write permission): a selected textarea and execCommand.
function copyBySelection(text) {
	const ta = h("textarea", { class: "copy-buffer", readonly: true,
	    "aria-hidden": "true", tabindex: "-1" });
	ta.value = text;
	document.body.append(ta);
	let ok = false;
	try {
		ta.select();
		ta.setSelectionRange(0, text.length);
		ok = document.execCommand("copy");
	} catch (e) {
		ok = false;
	}
	ta.remove();
	return ok;
}

async function copy() {
	const t = activeTemplate();
	if (t === null || state.busy)
		return;
	const text = render(t.body, state.values, todayUtc());
	if (text === "") {
		say("warning", fmt(S.copyEmpty, { name: t.name }));
		return;
	}
	const focused = document.activeElement;
	let ok = false;
	try {
		if (!navigator.clipboard || !navigator.clipboard.writeText)
			throw new Error("no clipboard API");
		await navigator.clipboard.writeText(text);
		ok = true;
	} catch (e) {
		ok = copyBySelection(text);
	}
	const m = ok ? fmt(S.copied, { name: t.name }) : S.copyFailed;
	say(ok ? "success" : "error", m);
	announce(m);
	if (focused instanceof HTMLElement && focused !== document.body)
		focused.focus();
}

// ---- Start.

let firstDone = false;

async function start() {
	build();
	search.focus();
	if (issueId === "")
		say("error", S.noIssue);
	listStatus.replaceChildren(h("p", { class: "subtlest" }, S.loading));
	await Promise.all([searchNow(), issueId !== "" ? loadValues() :
	    Promise.resolve()]);
	firstDone = true;
	// A search typed while the first data loaded keeps the page busy.
	if (timer === null && loading === null)
		setBusy(false);
	resize();
}

start();
