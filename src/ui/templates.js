// The template manager (a generalPages page, /ui/templates): the
// templates the user may change (GET /api/templates?manage=true), paged
// with keyset cursors; create, edit, delete (a stale version is a 409:
// told in plain words, reloaded, the user's text kept); scope editing
// with project and group pickers (names from Jira, ids to cellar);
// import from a file (all or nothing; a refused row named with its
// field) and export to a file (every page of the export, one file).
import { api, ApiError, jira, h, fmt, announce, debounce } from
    "./lib/cellar.js";
import { S } from "./templates.strings.js";

const PAGE_SIZE = 20;
// A reload that cannot GET the template (a group template of groups
// the user is not in) looks for it in the manager's list, this far.
const FIND_PAGES = 30;
// The import route's body limit (nginx and the app agree).
const IMPORT_MAX_BYTES = 16 * 1024 * 1024;
const SCOPES = ["personal", "projects", "groups", "global"];
// How long a list waits for Jira's names before it shows ids.
const NAMES_WAIT_MS = 5000;

const app = document.getElementById("app");
document.title = S.title;

const state = {
	q: "",
	cursors: [null],	// the cursor that loads page i
	at: 0,			// the page shown
	next: null,
	items: [],
	degraded: false,
	loaded: false,
	seq: 0,			// the newest list request
	admin: null,		// Jira admin: true, false, null unknown
	editing: null,		// the template in the form (null: a new one)
	open: false,
	saving: false,
	mine: null,		// the user's text kept over a conflict reload
};
// Names Jira gave for ids (project id -> "Name (KEY)", group id -> name).
const names = { projects: new Map(), groups: new Map() };

/* --- Small helpers ------------------------------------------------ */

function enc(s) {
	return encodeURIComponent(s);
}

// A section message: kind info, warning, error, success; actions are
// [label, fn] pairs shown as buttons.
function message(box, kind, text, actions) {
	const m = h("div", { class: "message " + kind,
	    role: kind === "error" || kind === "warning" ? "alert" : "status",
	    tabindex: "-1" },
	    (Array.isArray(text) ? text : [text]).map((t) => h("p", {}, t)));
	if (actions && actions.length)
		m.append(h("div", { class: "actions" }, actions.map(([label,
		    fn, cls]) => h("button", { type: "button", class: cls || null,
		    onclick: fn }, label))));
	box.replaceChildren(m);
	return m;
}

function clear(box) {
	box.replaceChildren();
}

// What a failed call means to the user, in plain words.
function failure(e) {
	if (!(e instanceof ApiError))
		return fmt(S.errOther, { status: e && e.status ? e.status : "?" });
	if (e.status === 0)
		return S.errNetwork;
	if (e.status === 401)
		return S.errAuth;
	if (e.status === 403)
		return S.errForbidden;
	if (e.status === 503)
		return S.errUnavailable;
	return fmt(S.errOther, { status: e.status });
}

function busy(yes) {
	app.setAttribute("aria-busy", yes ? "true" : "false");
}

function dateText(iso) {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return "";
	return new Intl.DateTimeFormat("en", { dateStyle: "medium" }).format(d);
}

function scopeLozenge(scope) {
	const text = { personal: S.lozPersonal, projects: S.lozProjects,
	    groups: S.lozGroups, global: S.lozGlobal }[scope] || scope;
	return h("span", { class: "lozenge" + (scope === "personal" ? "" :
	    " brand") }, text);
}

function projectName(id) {
	return names.projects.get(id) || fmt(S.unknownProject, { id });
}

function groupName(id) {
	return names.groups.get(id) || fmt(S.unknownGroup, { id });
}

function targetNames(t) {
	if (t.scope === "projects")
		return (t.projects || []).map(projectName).join(", ");
	if (t.scope === "groups")
		return (t.groups || []).map(groupName).join(", ");
	return "";
}

/* --- Names from Jira (never sent to cellar) ------------------------- */

function projectLabel(p) {
	return p.key ? fmt(S.projectLabel, { name: p.name, key: p.key }) :
	    String(p.name);
}

// Fills names for the ids of ts that have none yet; what Jira cannot
// answer stays an id.
async function fetchNames(ts) {
	const pids = new Set(), gids = new Set();
	for (const t of ts) {
		for (const id of t.projects || [])
			if (!names.projects.has(id))
				pids.add(id);
		for (const id of t.groups || [])
			if (!names.groups.has(id))
				gids.add(id);
	}
	const jobs = [];
	const p = [...pids], g = [...gids];
	for (let i = 0; i < p.length; i += 50) {
		const ids = p.slice(i, i + 50);
		jobs.push(jira("GET", "/rest/api/3/project/search?" +
		    ids.map((id) => "id=" + enc(id)).join("&") +
		    "&maxResults=50").then((r) => {
			for (const x of (r && r.values) || [])
				if (x && x.id != null)
					names.projects.set(String(x.id),
					    projectLabel(x));
		}, () => {}));
	}
	for (let i = 0; i < g.length; i += 50) {
		const ids = g.slice(i, i + 50);
		jobs.push(jira("GET", "/rest/api/3/group/bulk?" +
		    ids.map((id) => "groupId=" + enc(id)).join("&") +
		    "&maxResults=50").then((r) => {
			for (const x of (r && r.values) || [])
				if (x && x.groupId)
					names.groups.set(String(x.groupId),
					    String(x.name));
		}, () => {}));
	}
	await Promise.all(jobs);
}

async function fetchAdmin() {
	try {
		const r = await jira("GET",
		    "/rest/api/3/mypermissions?permissions=ADMINISTER");
		const p = r && r.permissions && r.permissions.ADMINISTER;
		state.admin = p ? p.havePermission === true : null;
	} catch (e) {
		state.admin = null;	// unknown: cellar decides on save
	}
	scopeRights();
}

/* --- The page's frame --------------------------------------------- */

const pageMsg = h("div", { class: "tp-page-msg" });
const searchIn = h("input", { type: "search", id: "tp-search",
    autocomplete: "off", "aria-describedby": "tp-search-hint" });
const createBtn = h("button", { type: "button", class: "primary",
    id: "tp-create", onclick: () => openForm(null) }, S.create);
const fileIn = h("input", { type: "file", id: "tp-import-file",
    accept: "application/json,.json", hidden: true,
    "aria-label": S.importFileLabel });
const importBtn = h("button", { type: "button", id: "tp-import",
    onclick: () => fileIn.click() }, S.importFile);
const exportBtn = h("button", { type: "button", id: "tp-export",
    onclick: () => exportAll() }, S.exportFile);

const listTitle = h("h2", { id: "tp-list-title", tabindex: "-1" },
    S.listHeading);
const degradedMsg = h("div", {});
const tbody = h("tbody", {});
const table = h("table", { class: "tp-table",
    "aria-labelledby": "tp-list-title" },
    h("thead", {}, h("tr", {},
	h("th", { scope: "col" }, S.colName),
	h("th", { scope: "col" }, S.colScope),
	h("th", { scope: "col" }, S.colState),
	h("th", { scope: "col", class: "num" }, S.colUses),
	h("th", { scope: "col" }, S.colChanged),
	h("th", { scope: "col" }, h("span", { class: "sr-only" },
	    S.colActions)))),
    tbody);
const emptyMsg = h("p", { class: "subtle tp-empty", hidden: true });
const prevBtn = h("button", { type: "button", id: "tp-prev",
    onclick: () => goPage(-1) }, S.previous);
const nextBtn = h("button", { type: "button", id: "tp-next",
    onclick: () => goPage(1) }, S.next);
const pageText = h("span", { class: "subtle", id: "tp-page" });
const pager = h("nav", { class: "tp-pager", "aria-label": S.paging },
    prevBtn, pageText, nextBtn);

const listSection = h("section", { class: "tp-list",
    "aria-labelledby": "tp-list-title" }, listTitle, degradedMsg, table,
    emptyMsg, pager);

/* --- The form ----------------------------------------------------- */

const formTitle = h("h2", { id: "tp-form-title", tabindex: "-1" });
const formMsg = h("div", { class: "tp-form-msg" });
const fields = {};

function fieldError(id) {
	return h("div", { class: "field-error", id: id + "-err" });
}

const nameIn = h("input", { type: "text", id: "tp-name", name: "name",
    autocomplete: "off", "aria-describedby": "tp-name-err" });
const bodyIn = h("textarea", { id: "tp-body", name: "body", rows: "6",
    "aria-describedby": "tp-body-err" });
const positionIn = h("input", { type: "number", id: "tp-position",
    name: "position", step: "1",
    "aria-describedby": "tp-position-hint tp-position-err" });
const activeIn = h("input", { type: "checkbox", id: "tp-active",
    name: "active" });

const scopeRadios = {};
const scopeHints = { personal: S.scopeHintPersonal,
    projects: S.scopeHintProjects, groups: S.scopeHintGroups,
    global: S.scopeHintGlobal };
const scopeLabels = { personal: S.scopePersonal, projects: S.scopeProjects,
    groups: S.scopeGroups, global: S.scopeGlobal };
const scopeSet = h("fieldset", { class: "tp-scope", id: "tp-scope",
    "aria-describedby": "tp-scope-err" },
    h("legend", {}, S.scopeLegend),
    SCOPES.map((s) => {
	scopeRadios[s] = h("input", { type: "radio", name: "scope",
	    id: "tp-scope-" + s, value: s,
	    "aria-describedby": "tp-scope-" + s + "-hint",
	    onchange: () => scopeShown() });
	return h("div", { class: "tp-radio" }, scopeRadios[s],
	    h("label", { for: "tp-scope-" + s }, scopeLabels[s]),
	    h("div", { class: "subtlest", id: "tp-scope-" + s + "-hint" },
		scopeHints[s]));
    }),
    h("p", { class: "subtlest tp-who" }, S.scopeWho),
    h("p", { class: "subtlest", id: "tp-admin-only", hidden: true },
	S.adminOnly),
    fieldError("tp-scope"));

// A combobox with a listbox of Jira's answers (ARIA 1.2 pattern) and
// the chosen ones as a list of removable chips.
function makePicker(key, o) {
	const chosen = new Map();
	const inputId = "tp-" + key + "-input";
	const listId = "tp-" + key + "-list";
	let options = [], active = -1, seq = 0, open = false;
	const chips = h("ul", { class: "tp-chips", id: "tp-" + key + "-chosen",
	    "aria-label": o.chosenLabel });
	const input = h("input", { type: "text", id: inputId, role: "combobox",
	    "aria-autocomplete": "list", "aria-expanded": "false",
	    "aria-controls": listId, autocomplete: "off",
	    "aria-describedby": "tp-" + key + "-hint tp-" + key + "-err" });
	const list = h("ul", { id: listId, role: "listbox",
	    class: "tp-options", "aria-label": o.label, hidden: true });
	const status = h("div", { class: "subtlest", id: "tp-" + key + "-hint" },
	    S.pickerHint);
	const err = h("div", { class: "field-error", id: "tp-" + key + "-err" });
	const root = h("div", { class: "tp-picker", id: "tp-" + key },
	    h("label", { for: inputId }, o.searchLabel), chips,
	    h("div", { class: "tp-combo" }, input, list), status, err);

	function show(yes) {
		open = yes;
		list.hidden = !yes;
		input.setAttribute("aria-expanded", yes ? "true" : "false");
		if (!yes) {
			active = -1;
			input.removeAttribute("aria-activedescendant");
		}
	}
	function mark() {
		[...list.children].forEach((li, i) => {
			li.setAttribute("aria-selected", i === active ?
			    "true" : "false");
			li.classList.toggle("active", i === active);
		});
		if (active >= 0 && list.children[active]) {
			input.setAttribute("aria-activedescendant",
			    list.children[active].id);
			list.children[active].scrollIntoView({ block: "nearest" });
		} else
			input.removeAttribute("aria-activedescendant");
	}
	function renderChips() {
		chips.replaceChildren(...[...chosen].map(([id, label]) =>
		    h("li", { dataset: { id } }, h("span", {}, label),
			h("button", { type: "button", class: "subtle",
			    "aria-label": fmt(S.remove, { name: label }),
			    onclick: () => {
				chosen.delete(id);
				renderChips();
				announce(fmt(S.removed, { name: label }));
				input.focus();
			    } }, "×"))));
		chips.hidden = chosen.size === 0;
	}
	function choose(i) {
		const opt = options[i];
		if (!opt)
			return;
		chosen.set(opt.id, opt.label);
		renderChips();
		input.value = "";
		show(false);
		// The box is empty again: the count of the last search no
		// longer says anything.
		seq++;
		status.textContent = S.pickerHint;
		announce(fmt(S.added, { name: opt.label }));
	}
	async function search(q) {
		const mine = ++seq;
		status.textContent = S.pickerSearching;
		let found;
		try {
			found = await o.search(q);
		} catch (e) {
			if (mine === seq) {
				status.textContent = S.pickerFailed;
				show(false);
			}
			return;
		}
		if (mine !== seq || document.activeElement !== input)
			return;
		options = found.filter((x) => !chosen.has(x.id));
		list.replaceChildren(...options.map((x, i) => h("li", {
		    id: listId + "-" + i, role: "option",
		    "aria-selected": "false", dataset: { id: x.id },
		    onmousedown: (ev) => ev.preventDefault(),
		    onclick: () => choose(i) }, x.label)));
		// The hint is the input's description, which screen readers
		// do not read again when it changes: the count is announced.
		if (options.length === 0) {
			status.textContent = S.pickerNone;
			show(false);
		} else {
			status.textContent = options.length === 1 ?
			    S.pickerResult :
			    fmt(S.pickerResults, { n: options.length });
			active = -1;
			show(true);
			mark();
		}
		announce(status.textContent);
	}
	const later = debounce((q) => search(q), 200);
	input.addEventListener("input", () => later(input.value.trim()));
	input.addEventListener("keydown", (ev) => {
		if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
			ev.preventDefault();
			if (!open) {
				search(input.value.trim());
				return;
			}
			const n = options.length;
			active = ev.key === "ArrowDown" ? (active + 1) % n :
			    (active <= 0 ? n - 1 : active - 1);
			mark();
		} else if (ev.key === "Enter") {
			// Never submits the form from here.
			ev.preventDefault();
			if (open && active >= 0)
				choose(active);
		} else if (ev.key === "Escape" && open) {
			ev.preventDefault();
			ev.stopPropagation();
			show(false);
		}
	});
	input.addEventListener("blur", () => show(false));
	return {
		root, input, err,
		ids: () => [...chosen.keys()],
		set(ids, nameOf) {
			chosen.clear();
			for (const id of ids || [])
				chosen.set(id, nameOf(id));
			renderChips();
			input.value = "";
			show(false);
			status.textContent = S.pickerHint;
		},
		snapshot: () => new Map(chosen),
		restore(m) {
			chosen.clear();
			for (const [k, v] of m)
				chosen.set(k, v);
			renderChips();
		},
	};
}

const projectPicker = makePicker("projects", {
	label: S.projects, searchLabel: S.projectsSearch,
	chosenLabel: S.projectsChosen,
	async search(q) {
		const r = await jira("GET", "/rest/api/3/project/search?query=" +
		    enc(q));
		return ((r && r.values) || []).filter((p) => p && p.id != null)
		    .map((p) => {
			const id = String(p.id), label = projectLabel(p);
			names.projects.set(id, label);
			return { id, label };
		    });
	},
});
const groupPicker = makePicker("groups", {
	label: S.groups, searchLabel: S.groupsSearch,
	chosenLabel: S.groupsChosen,
	async search(q) {
		const r = await jira("GET", "/rest/api/3/groups/picker?query=" +
		    enc(q));
		return ((r && r.groups) || []).filter((g) => g && g.groupId)
		    .map((g) => {
			const id = String(g.groupId), label = String(g.name);
			names.groups.set(id, label);
			return { id, label };
		    });
	},
});

const mineName = h("input", { type: "text", id: "tp-mine-name",
    readonly: true });
const mineBody = h("textarea", { id: "tp-mine-body", readonly: true,
    rows: "6" });
const minePanel = h("div", { class: "tp-mine", id: "tp-mine", hidden: true },
    h("label", { for: "tp-mine-name" }, S.yourName), mineName,
    h("label", { for: "tp-mine-body" }, S.yourText), mineBody,
    h("div", { class: "tp-mine-actions" }, h("button", { type: "button",
	id: "tp-use-mine", onclick: () => useMine() }, S.useMine)));

const saveBtn = h("button", { type: "submit", class: "primary",
    id: "tp-save" }, S.save);
const cancelBtn = h("button", { type: "button", id: "tp-cancel",
    onclick: () => closeForm(true) }, S.cancel);

const form = h("form", { class: "tp-form", id: "tp-form", novalidate: true,
    "aria-labelledby": "tp-form-title", onsubmit: (ev) => {
	ev.preventDefault();
	save();
    } },
    formTitle, formMsg,
    h("label", { for: "tp-name" }, S.name), nameIn, fieldError("tp-name"),
    h("label", { for: "tp-body" }, S.body), bodyIn,
    fieldError("tp-body"),
    h("details", { class: "tp-vars", id: "tp-body-hint" },
	h("summary", {}, S.bodyVars),
	h("ul", {}, S.bodyVarList.map((v) => h("li", {}, h("code", {}, v)))),
	h("p", { class: "subtlest" }, S.bodyFallback)),
    scopeSet, projectPicker.root, groupPicker.root,
    // One grid (templates.css .tp-row): Active beside the Position box,
    // on its line whatever the label and hint above and below it take.
    h("div", { class: "tp-row" },
	h("label", { for: "tp-position" }, S.position), positionIn,
	h("div", { class: "subtlest", id: "tp-position-hint" },
	    S.positionHint),
	fieldError("tp-position"),
	h("div", { class: "tp-check" }, activeIn,
	    h("label", { for: "tp-active" }, S.activeBox)),
	fieldError("tp-active")),
    minePanel,
    h("div", { class: "tp-buttons" }, saveBtn, cancelBtn));
form.addEventListener("keydown", (ev) => {
	if (ev.key === "Escape" && !ev.defaultPrevented)
		closeForm(true);
});

const formPanel = h("section", { class: "tp-form-panel", hidden: true,
    "aria-labelledby": "tp-form-title" }, form);

fields.name = { input: nameIn, err: form.querySelector("#tp-name-err") };
fields.body = { input: bodyIn, err: form.querySelector("#tp-body-err") };
fields.scope = { input: scopeSet, err: form.querySelector("#tp-scope-err") };
fields.projects = { input: projectPicker.input, err: projectPicker.err };
fields.groups = { input: groupPicker.input, err: groupPicker.err };
fields.position = { input: positionIn,
    err: form.querySelector("#tp-position-err") };
fields.active = { input: activeIn, err: form.querySelector("#tp-active-err") };

/* --- The delete confirmation -------------------------------------- */

const dlgText = h("p", { id: "tp-confirm-text" });
const dlgMsg = h("div", {});
const dlgDelete = h("button", { type: "button", class: "danger",
    id: "tp-confirm-delete" }, S.confirmDelete);
const dlgCancel = h("button", { type: "button", id: "tp-confirm-cancel",
    onclick: () => dialog.close() }, S.cancel);
const dialog = h("dialog", { class: "tp-dialog", id: "tp-confirm",
    role: "alertdialog", "aria-modal": "true",
    "aria-labelledby": "tp-confirm-title",
    "aria-describedby": "tp-confirm-text" },
    h("h2", { id: "tp-confirm-title" }, S.confirmTitle), dlgText, dlgMsg,
    h("div", { class: "tp-buttons" }, dlgDelete, dlgCancel));

/* --- Layout ------------------------------------------------------- */

const layout = h("div", { class: "tp-layout" }, listSection, formPanel);
app.append(
    h("h1", {}, S.title),
    h("p", { class: "subtle" }, S.intro),
    h("div", { class: "toolbar" },
	h("div", { class: "tp-search" },
	    h("label", { for: "tp-search", class: "sr-only" }, S.search),
	    searchIn,
	    h("span", { class: "sr-only", id: "tp-search-hint" },
		S.searchHint)),
	h("span", { class: "spacer" }),
	createBtn, importBtn, fileIn, exportBtn),
    pageMsg, layout, dialog);
searchIn.setAttribute("placeholder", S.search);

/* --- The list ----------------------------------------------------- */

function row(t) {
	const preview = t.body.split("\n", 1)[0];
	const who = targetNames(t);
	const posted = t.usage ? t.usage.postedLast30Days : 0;
	return h("tr", { dataset: { id: String(t.id) } },
	    h("td", { class: "tp-cell-name" },
		h("div", { class: "tp-name" }, t.name),
		h("div", { class: "subtlest tp-preview" }, preview)),
	    h("td", { class: "tp-cell-scope" }, scopeLozenge(t.scope),
		who ? h("div", { class: "tp-targets" }, who) : null),
	    h("td", {}, h("span", { class: "lozenge" + (t.active ?
		" success" : "") }, t.active ? S.active : S.inactive)),
	    h("td", { class: "num" },
		h("div", {}, fmt(S.uses, { n: t.usage ? t.usage.last30Days :
		    0 })),
		posted > 0 ? h("div", { class: "subtlest" }, posted === 1 ?
		    S.usesPostedOne : fmt(S.usesPosted, { posted })) : null),
	    h("td", {}, dateText(t.updatedAt)),
	    h("td", { class: "tp-actions" },
		h("button", { type: "button", class: "subtle tp-edit",
		    "aria-label": fmt(S.editNamed, { name: t.name }),
		    disabled: !t.canEdit, onclick: () => openForm(t) }, S.edit),
		h("button", { type: "button", class: "subtle tp-delete",
		    "aria-label": fmt(S.delNamed, { name: t.name }),
		    disabled: !t.canEdit, onclick: () => askDelete(t) },
		    S.del)));
}

function renderList() {
	tbody.replaceChildren(...state.items.map(row));
	table.hidden = state.items.length === 0;
	emptyMsg.hidden = state.items.length !== 0;
	emptyMsg.textContent = state.q ? S.emptySearch : S.empty;
	prevBtn.disabled = state.at === 0;
	nextBtn.disabled = state.next === null;
	pager.hidden = state.at === 0 && state.next === null;
	const from = state.at * PAGE_SIZE + 1;
	pageText.textContent = state.items.length ? fmt(S.range, { from,
	    to: from + state.items.length - 1 }) : "";
	if (state.degraded)
		message(degradedMsg, "warning", S.degraded);
	else
		clear(degradedMsg);
}

// Loads the page state.at of the list (with state.q).  Resolves true
// when it rendered.
async function loadList() {
	const mine = ++state.seq;
	busy(true);
	let path = "/api/templates?manage=true&limit=" + PAGE_SIZE;
	if (state.q)
		path += "&q=" + enc(state.q);
	const cursor = state.cursors[state.at];
	if (cursor)
		path += "&cursor=" + enc(cursor);
	let r;
	try {
		r = await api("GET", path);
	} catch (e) {
		if (mine !== state.seq)
			return false;
		message(pageMsg, "error", failure(e), [[S.retry, () => {
			clear(pageMsg);
			loadList();
		}]]);
		if (!state.loaded)
			busy(false);
		return false;
	}
	if (mine !== state.seq)
		return false;
	state.items = Array.isArray(r.templates) ? r.templates : [];
	state.next = typeof r.nextCursor === "string" ? r.nextCursor : null;
	state.degraded = r.degraded === true;
	renderList();
	// Names are a nicety: a Jira that does not answer leaves ids shown
	// and the page usable.
	const named = fetchNames(state.items);
	const late = await Promise.race([named.then(() => false),
	    new Promise((resolve) => window.setTimeout(() => resolve(true),
	    NAMES_WAIT_MS))]);
	if (late)
		named.then(() => {
			if (mine === state.seq)
				renderList();
		});
	if (mine !== state.seq)
		return false;
	renderList();
	state.loaded = true;
	busy(false);
	return true;
}

async function goPage(step) {
	if (step > 0) {
		if (state.next === null)
			return;
		state.cursors[state.at + 1] = state.next;
		state.cursors.length = state.at + 2;
		state.at++;
	} else {
		if (state.at === 0)
			return;
		state.at--;
	}
	const ok = await loadList();
	if (ok) {
		announce(pageText.textContent);
		// A button that went disabled would leave the focus nowhere.
		if (document.activeElement === null ||
		    document.activeElement === document.body ||
		    (document.activeElement instanceof HTMLButtonElement &&
		    document.activeElement.disabled))
			listTitle.focus();
	}
}

searchIn.addEventListener("input", debounce(() => {
	const q = searchIn.value.trim();
	if (q === state.q)
		return;
	state.q = q;
	state.cursors = [null];
	state.at = 0;
	loadList().then((ok) => {
		if (ok)
			announce(fmt(S.listLoaded, { n: state.items.length }));
	});
}, 250));

// After a change: the list again from its current page, the focus on
// the template's row when it is there, else on the list's title.
async function refreshAndFocus(id) {
	await loadList();
	const btn = id == null ? null : tbody.querySelector(
	    "tr[data-id=\"" + String(id) + "\"] .tp-edit");
	if (btn && !btn.disabled)
		btn.focus();
	else
		listTitle.focus();
}

/* --- The form's behaviour ----------------------------------------- */

function clearErrors() {
	for (const f of Object.values(fields)) {
		f.err.textContent = "";
		f.input.removeAttribute("aria-invalid");
	}
	clear(formMsg);
}

function setFieldError(field, text) {
	const f = fields[field];
	if (!f)
		return null;
	f.err.textContent = text;
	f.input.setAttribute("aria-invalid", "true");
	return f.input;
}

function scopeValue() {
	for (const s of SCOPES)
		if (scopeRadios[s].checked)
			return s;
	return "personal";
}

// Shows the picker the chosen scope needs.
function scopeShown() {
	const s = scopeValue();
	projectPicker.root.hidden = s !== "projects";
	groupPicker.root.hidden = s !== "groups";
}

// Groups and everyone: Jira admins only (the API decides; this only
// spares a refused save).  The template's own scope stays choosable.
function scopeRights() {
	const own = state.editing ? state.editing.scope : null;
	for (const s of ["groups", "global"])
		scopeRadios[s].disabled = state.admin === false && own !== s;
	form.querySelector("#tp-admin-only").hidden = state.admin !== false;
}

function fill(t) {
	nameIn.value = t ? t.name : "";
	bodyIn.value = t ? t.body : "";
	const scope = t ? t.scope : "personal";
	for (const s of SCOPES)
		scopeRadios[s].checked = s === scope;
	projectPicker.set(t && t.scope === "projects" ? t.projects : [],
	    projectName);
	groupPicker.set(t && t.scope === "groups" ? t.groups : [], groupName);
	positionIn.value = t ? String(t.position) : "0";
	activeIn.checked = t ? t.active : true;
	scopeShown();
	scopeRights();
}

function values() {
	const scope = scopeValue();
	const v = { name: nameIn.value, body: bodyIn.value, scope,
	    active: activeIn.checked };
	if (positionIn.value.trim() !== "") {
		const n = Number(positionIn.value);
		// Not a number: sent as typed, so cellar names the field.
		v.position = Number.isFinite(n) ? n : positionIn.value;
	}
	if (scope === "projects")
		v.projects = projectPicker.ids();
	if (scope === "groups")
		v.groups = groupPicker.ids();
	return v;
}

// The form's whole draft, pickers' names included.
function draft() {
	return { v: values(), projects: projectPicker.snapshot(),
	    groups: groupPicker.snapshot() };
}

function restore(d) {
	nameIn.value = d.v.name;
	bodyIn.value = d.v.body;
	for (const s of SCOPES)
		scopeRadios[s].checked = s === d.v.scope;
	projectPicker.restore(d.projects);
	groupPicker.restore(d.groups);
	positionIn.value = d.v.position === undefined ? "" :
	    String(d.v.position);
	activeIn.checked = d.v.active;
	scopeShown();
}

function openForm(t) {
	state.editing = t;
	state.open = true;
	state.mine = null;
	minePanel.hidden = true;
	clearErrors();
	clear(pageMsg);
	formTitle.textContent = t ? S.formEdit : S.formCreate;
	fill(t);
	formPanel.hidden = false;
	layout.classList.add("editing");
	nameIn.focus();
}

function closeForm(cancelled) {
	const t = state.editing;
	state.open = false;
	state.editing = null;
	state.mine = null;
	formPanel.hidden = true;
	layout.classList.remove("editing");
	clearErrors();
	if (cancelled) {
		const btn = t ? tbody.querySelector("tr[data-id=\"" +
		    String(t.id) + "\"] .tp-edit") : null;
		(btn || createBtn).focus();
	}
}

// What is wrong with a field the API named.  value: what was sent for
// it, when known (an empty one is "too short" to the API: the user is
// told to fill it in).
function fieldMessage(code, field, value) {
	const empty = typeof value === "string" && value.trim() === "";
	switch (field) {
	case "name":
		return code === "limit_name" && !empty ? S.errNameLimit :
		    S.errName;
	case "body":
		return code === "limit_body" && !empty ? S.errBodyLimit :
		    S.errBody;
	case "scope":
		return S.errScope;
	case "projects":
		return code === "limit_projects" ? S.errProjectsLimit :
		    S.errProjects;
	case "groups":
		return code === "limit_groups" ? S.errGroupsLimit : S.errGroups;
	case "position":
		return S.errPosition;
	case "active":
		return S.errActive;
	default:
		return S.errField;
	}
}

function limitMessage(e) {
	if (e.code === "limit_personal")
		return fmt(S.errLimitPersonal, { limit: e.limit ?? "" });
	if (e.code === "limit_templates")
		return fmt(S.errLimitShared, { limit: e.limit ?? "" });
	return null;
}

async function save() {
	if (state.saving)
		return;
	clearErrors();
	const v = values();
	const t = state.editing;
	state.saving = true;
	saveBtn.textContent = S.saving;
	saveBtn.setAttribute("aria-disabled", "true");
	try {
		let saved;
		if (t)
			saved = await api("PUT", "/api/templates/" + t.id,
			    Object.assign({}, v, { version: t.version }));
		else
			saved = await api("POST", "/api/templates", v);
		closeForm(false);
		const text = fmt(t ? S.saved : S.created, { name: saved.name });
		message(pageMsg, "success", text);
		announce(text);
		await refreshAndFocus(saved.id);
	} catch (e) {
		saveFailed(e, t);
	} finally {
		state.saving = false;
		saveBtn.textContent = S.save;
		saveBtn.removeAttribute("aria-disabled");
	}
}

function saveFailed(e, t) {
	if (!(e instanceof ApiError)) {
		message(formMsg, "error", failure(e)).focus();
		return;
	}
	if (e.status === 409) {
		message(formMsg, "warning", S.conflictSave,
		    [[S.conflictReload, () => reloadMine(), "primary"]]).focus();
		return;
	}
	if (e.status === 404 && t) {
		gone();
		return;
	}
	if (e.status === 403) {
		const at = setFieldError("scope", S.errForbiddenScope);
		message(formMsg, "error", S.fixFields);
		(scopeRadios[scopeValue()] || at).focus();
		return;
	}
	const lim = limitMessage(e);
	if (lim) {
		message(formMsg, "error", lim).focus();
		return;
	}
	if ((e.status === 422 || e.status === 400) && e.field &&
	    fields[e.field]) {
		const at = setFieldError(e.field, fieldMessage(e.code, e.field,
		    e.field === "name" ? nameIn.value : e.field === "body" ?
		    bodyIn.value : undefined));
		message(formMsg, "error", S.fixFields);
		if (e.field === "scope")
			scopeRadios[scopeValue()].focus();
		else
			at.focus();
		return;
	}
	message(formMsg, "error", failure(e)).focus();
}

// The template was deleted meanwhile: the form becomes a new one, the
// user's text still in it.
function gone() {
	state.editing = null;
	formTitle.textContent = S.formCreate;
	scopeRights();
	message(formMsg, "warning", S.goneMeanwhile,
	    [[S.saveAsNew, () => save(), "primary"]]).focus();
}

// The template as saved now: GET (with one of its projects, which a
// projects template needs on a page without an issue), else looked for
// in the manager's list; null when it is gone.
async function fetchTemplate(t) {
	const pq = t.scope === "projects" && t.projects && t.projects.length ?
	    "?projectId=" + enc(t.projects[0]) : "";
	try {
		return await api("GET", "/api/templates/" + t.id + pq);
	} catch (e) {
		if (!(e instanceof ApiError) || e.status !== 404)
			throw e;
	}
	let cursor = null;
	for (let i = 0; i < FIND_PAGES; i++) {
		const r = await api("GET", "/api/templates?manage=true&limit=100" +
		    (cursor ? "&cursor=" + enc(cursor) : ""));
		const hit = (r.templates || []).find((x) => x.id === t.id);
		if (hit)
			return hit;
		if (typeof r.nextCursor !== "string")
			return null;
		cursor = r.nextCursor;
	}
	return null;
}

// 409: the saved version into the form, the user's text beside it.
async function reloadMine() {
	const t = state.editing;
	if (!t)
		return;
	const mine = draft();
	busy(true);
	let fresh;
	try {
		fresh = await fetchTemplate(t);
		if (fresh)
			await fetchNames([fresh]);
	} catch (e) {
		busy(false);
		message(formMsg, "error", failure(e), [[S.conflictReload,
		    () => reloadMine()]]).focus();
		return;
	}
	busy(false);
	if (!state.open || state.editing !== t)
		return;
	if (!fresh) {
		gone();
		return;
	}
	state.editing = fresh;
	state.mine = mine;
	clearErrors();
	fill(fresh);
	mineName.value = mine.v.name;
	mineBody.value = mine.v.body;
	minePanel.hidden = false;
	message(formMsg, "info", S.reloadedMine).focus();
	// The list shows the new version too.
	loadList();
}

function useMine() {
	if (!state.mine)
		return;
	restore(state.mine);
	announce(S.mineBack);
	message(formMsg, "info", S.mineBack);
	bodyIn.focus();
}

/* --- Delete ------------------------------------------------------- */

function askDelete(t) {
	dlgText.textContent = fmt(t.scope === "personal" ?
	    S.confirmTextPersonal : S.confirmText, { name: t.name });
	clear(dlgMsg);
	dlgDelete.onclick = () => doDelete(t);
	dialog.showModal();
	dlgCancel.focus();
}

async function doDelete(t) {
	if (dlgDelete.getAttribute("aria-disabled") === "true")
		return;
	dlgDelete.setAttribute("aria-disabled", "true");
	try {
		await api("DELETE", "/api/templates/" + t.id + "?version=" +
		    enc(String(t.version)));
	} catch (e) {
		dlgDelete.removeAttribute("aria-disabled");
		dialog.close();
		if (e instanceof ApiError && e.status === 409) {
			message(pageMsg, "warning", fmt(S.conflictDelete,
			    { name: t.name }), [[S.reloadList, async () => {
				clear(pageMsg);
				await refreshAndFocus(t.id);
			    }, "primary"]]).focus();
		} else if (e instanceof ApiError && e.status === 404) {
			message(pageMsg, "warning", S.notFound);
			await refreshAndFocus(null);
		} else
			message(pageMsg, "error", failure(e)).focus();
		return;
	}
	dlgDelete.removeAttribute("aria-disabled");
	dialog.close();
	if (state.open && state.editing && state.editing.id === t.id)
		closeForm(false);
	const text = fmt(S.deleted, { name: t.name });
	message(pageMsg, "success", text);
	announce(text);
	// The last row of a page gone: the page before.
	if (state.items.length === 1 && state.at > 0)
		state.at--;
	await refreshAndFocus(null);
}

/* --- Import and export -------------------------------------------- */

function rowName(doc, i) {
	const x = doc && Array.isArray(doc.templates) ? doc.templates[i] : null;
	if (!x || typeof x.name !== "string" || x.name.trim() === "")
		return "";
	const n = x.name.length > 60 ? x.name.slice(0, 59) + "…" : x.name;
	return fmt(S.importRowName, { name: n });
}

function importFailed(e, doc) {
	if (!(e instanceof ApiError))
		return failure(e);
	if (e.index !== null && e.index !== undefined && e.status === 403)
		return fmt(S.importRowForbidden, { row: e.index + 1,
		    name: rowName(doc, e.index) });
	if (e.index !== null && e.index !== undefined) {
		const field = S.fieldWords[e.field] || String(e.field ?? "");
		const x = doc.templates[e.index];
		const why = e.code === "invalid" ? "" :
		    fieldMessage(e.code, e.field, x && typeof x === "object" &&
		    typeof x[e.field] === "string" ? x[e.field] : undefined);
		return fmt(S.importRow, { row: e.index + 1,
		    name: rowName(doc, e.index), field, why }).trim();
	}
	if (e.code === "limit_import")
		return fmt(S.importTooMany, { limit: e.limit ?? 2000 });
	if (e.code === "too_large")
		return S.importTooLarge;
	const lim = limitMessage(e);
	if (lim)
		return fmt(S.importLimit, { why: lim });
	if ((e.status === 422 || e.status === 400) && e.field)
		return fmt(S.importBadFile, { field: S.fieldWords[e.field] ||
		    String(e.field), why: "" }).trim();
	if (e.status === 400)
		return S.importNotExport;
	return failure(e);
}

async function importFile(file) {
	if (file.size > IMPORT_MAX_BYTES) {
		message(pageMsg, "error", S.importTooLarge).focus();
		return;
	}
	let doc;
	try {
		doc = JSON.parse(await file.text());
	} catch (e) {
		message(pageMsg, "error", S.importNotJson).focus();
		return;
	}
	if (!doc || typeof doc !== "object" || !Array.isArray(doc.templates)) {
		message(pageMsg, "error", S.importNotExport).focus();
		return;
	}
	const body = JSON.stringify({ format: doc.format, version: doc.version,
	    templates: doc.templates });
	if (new Blob([body]).size > IMPORT_MAX_BYTES) {
		message(pageMsg, "error", S.importTooLarge).focus();
		return;
	}
	importBtn.textContent = S.importing;
	importBtn.setAttribute("aria-disabled", "true");
	let r;
	try {
		r = await api("POST", "/api/templates/import", body);
	} catch (e) {
		message(pageMsg, "error", importFailed(e, doc)).focus();
		return;
	} finally {
		importBtn.textContent = S.importFile;
		importBtn.removeAttribute("aria-disabled");
	}
	const n = typeof r.created === "number" ? r.created : 0;
	const lines = [n === 1 ? S.importedOne : fmt(S.imported, { n })];
	for (const x of r.renamed || [])
		lines.push(fmt(S.renamed, { from: x.from, to: x.to }));
	message(pageMsg, "success", lines).focus();
	announce(lines[0]);
	state.cursors = [null];
	state.at = 0;
	await loadList();
}

fileIn.addEventListener("change", () => {
	const f = fileIn.files && fileIn.files[0];
	if (!f)
		return;
	importFile(f).finally(() => {
		fileIn.value = "";
	});
});

function today() {
	return new Date().toISOString().slice(0, 10);
}

// Every page of the export in one file of the same format (nextCursor
// null), saved through a Blob and <a download>.
async function exportAll() {
	if (exportBtn.getAttribute("aria-disabled") === "true")
		return;
	exportBtn.textContent = S.exporting;
	exportBtn.setAttribute("aria-disabled", "true");
	const all = [];
	const seen = new Set();
	let cursor = null;
	try {
		do {
			const r = await api("GET", "/api/templates/export" +
			    (cursor ? "?cursor=" + enc(cursor) : ""));
			for (const t of r.templates || [])
				all.push(t);
			cursor = typeof r.nextCursor === "string" ?
			    r.nextCursor : null;
			if (cursor !== null && seen.has(cursor))
				break;
			if (cursor !== null)
				seen.add(cursor);
		} while (cursor !== null);
	} catch (e) {
		message(pageMsg, "error", failure(e)).focus();
		return;
	} finally {
		exportBtn.textContent = S.exportFile;
		exportBtn.removeAttribute("aria-disabled");
	}
	const doc = { format: "cellar-templates", version: 1, templates: all,
	    nextCursor: null };
	const file = fmt(S.exportName, { date: today() });
	const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null,
	    2) + "\n"], { type: "application/json" }));
	const a = h("a", { href: url, download: file, hidden: true });
	document.body.append(a);
	a.click();
	a.remove();
	window.setTimeout(() => URL.revokeObjectURL(url), 60000);
	const text = fmt(S.exported, { n: all.length, file });
	message(pageMsg, "success", text);
	announce(text);
}

/* --- Start -------------------------------------------------------- */

fetchAdmin();
loadList();
