// The panoramas page (generalPages "panoramas", /ui/panoramas): the
// panoramas the user may view, a form to create one, and the open
// panorama's tree (panoramas-tree.js) with what an editor does to it:
// add issues by key and folders, rename, remove, move (drag and drop,
// Ctrl+arrows, buttons), undo of the user's own latest change, and the
// history.  Opens the panorama named by ?ac.panorama= (Connect's
// customData of AP.navigator.go) when present.
//
// Every change is one batch of actions against the version of the tree
// the page read.  The page changes its own copy only once cellar has
// accepted the batch; a stale version (409) changes nothing here
// either: the user is told, the tree is read again, and what they typed
// stays in its field.
//
// Issue keys and summaries come from Jira in the browser
// (panoramas-issues.js), only for the rows drawn, and never go to
// cellar: the add action carries the ids Jira resolved the keys to.
import { api, ApiError, jira, page, h, fmt, announce, debounce }
    from "./lib/cellar.js";
import { S } from "./panoramas.strings.js";
import { Tree, TreeView } from "./panoramas-tree.js";
import { IssueInfo, resolveKeys } from "./panoramas-issues.js";

const FIRST_PAGE = 200;		// rows of the first tree page: drawn at once
const NEXT_PAGE = 5000;		// rows of each later page
const MAX_IDS = 1000;		// issue ids of one add action
const LIST_PAGE = 50;
const HISTORY_PAGE = 20;
const NAME_MAX = 255;
const DESCRIPTION_MAX = 2000;

const app = document.getElementById("app");
document.title = S.title;

const st = {
	next: null,		// cursor of the list's next page
	p: null,		// the open panorama
	version: 0,		// the tree's version (actions send it)
	loaded: false,		// every page of the tree is here
	gen: 0,			// bumps when another tree walk starts
	saving: false,
	ready: false,
	me: undefined,		// the user's account id (history's "You")
	historyNext: null,
	historyGen: 0,		// bumps when another history read starts
};

const info = new IssueInfo(() => view.render());
let tree = new Tree();
const view = new TreeView(tree, {
	info,
	label: S.title,
	describedBy: "pano-tree-help",
	canEdit: () => canEdit(),
	onKey: (n, what) => keyEdit(n, what),
	onDrop: (n, parent, after) => move(n, parent, after),
	onSelect: () => controls(),
	// The first rows are in the document: mark the frame that paints
	// them (the browser tests measure the time to first rows with it).
	onFirstRows: () => window.requestAnimationFrame(() => {
		try {
			performance.mark("cellar-first-rows");
		} catch (e) {
			// Old browsers: nothing to measure with.
		}
	}),
});

function enc(id) {
	return encodeURIComponent(id);
}

function num(n) {
	return Number(n).toLocaleString("en");
}

// A panorama's size in words ("1 item", "1,234 items").
function size(n) {
	return n === 1 ? S.itemsOne : fmt(S.items, { n: num(n) });
}

const when = new Intl.DateTimeFormat("en",
    { dateStyle: "medium", timeStyle: "short" });

function ready() {
	st.ready = true;
	app.setAttribute("aria-busy", "false");
}

// Messages: one at a time, above the tree.

const messages = h("div", { class: "pano-messages" });

function say(kind, text) {
	const urgent = kind === "error" || kind === "warning";
	messages.replaceChildren(h("div", {
		class: "message " + kind, role: urgent ? "alert" : "status",
		dataset: { kind },
	}, h("p", {}, text), h("div", { class: "actions" },
	    h("button", { type: "button", class: "subtle",
		onclick: () => messages.replaceChildren() }, S.dismiss))));
}

function quiet() {
	messages.replaceChildren();
}

// An error of cellar's or Jira's as words for the user.
function words(e) {
	if (!(e instanceof ApiError))
		return S.jiraDown;
	switch (e.status) {
	case 0:
		return S.network;
	case 403:
		return S.forbidden;
	case 404:
		return S.gone;
	case 409:
		return S.conflict;
	case 413:
		return fmt(S.limitActions, { limit: num(e.limit ?? MAX_IDS) });
	case 422:
		if (e.code === "limit_nodes")
			return fmt(S.limitNodes, { limit: num(e.limit ?? 0) });
		if (e.reason === "issue_not_browsable")
			return S.notBrowsable;
		if (e.reason === "cycle")
			return S.cycle;
		return fmt(S.refused, { reason: e.reason ?? e.code });
	case 503:
		return S.jiraDown;
	default:
		return fmt(S.failed, { status: e.status });
	}
}

function fieldError(input, box, text) {
	input.setAttribute("aria-invalid", "true");
	box.textContent = text;
	input.focus();
}

function fieldOk(input, box) {
	input.removeAttribute("aria-invalid");
	box.textContent = "";
}

// The list of panoramas and the create form.

const filter = h("input", { type: "search", id: "pano-filter",
    placeholder: S.filterPlaceholder, autocomplete: "off",
    oninput: debounce(() => loadList(true), 250) });
const list = h("ul", { class: "pano-list", id: "pano-list",
    "aria-label": S.listLabel });
const listNote = h("p", { class: "subtle", hidden: true });
const more = h("button", { type: "button", hidden: true,
    onclick: () => loadList(false) }, S.listMore);

const nameIn = h("input", { type: "text", id: "pano-name",
    maxlength: NAME_MAX, autocomplete: "off",
    "aria-describedby": "pano-name-err" });
const nameErr = h("div", { class: "field-error", id: "pano-name-err" });
const descIn = h("textarea", { id: "pano-description", rows: 2,
    maxlength: DESCRIPTION_MAX, "aria-describedby": "pano-description-err" });
const descErr = h("div", { class: "field-error",
    id: "pano-description-err" });
const createBtn = h("button", { type: "submit", class: "primary",
    id: "pano-create" }, S.createButton);
const createErr = h("div", { class: "field-error", role: "alert" });

function item(p) {
	return h("li", {}, h("button", {
		type: "button", class: "pano-link", dataset: { id: p.id },
		"aria-current": st.p && st.p.id === p.id ? "true" : null,
		onclick: () => open(p.id, false),
	}, h("span", { class: "pano-link-name" }, p.name),
	    h("span", { class: "subtlest" }, size(p.nodes))));
}

async function loadList(reset) {
	const q = filter.value.trim();
	let path = "/api/panoramas?limit=" + LIST_PAGE;
	if (q !== "")
		path += "&q=" + encodeURIComponent(q);
	if (!reset && st.next)
		path += "&cursor=" + encodeURIComponent(st.next);
	let r;
	try {
		r = await api("GET", path);
	} catch (e) {
		say("error", words(e));
		return;
	}
	if (q !== filter.value.trim())
		return;		// a newer search runs
	if (reset)
		list.replaceChildren();
	list.append(...r.panoramas.map(item));
	st.next = r.next;
	more.hidden = !r.next;
	listNote.hidden = list.children.length > 0;
	listNote.textContent = q === "" ? S.listEmpty : S.listNoMatch;
}

function markCurrent() {
	for (const b of list.querySelectorAll(".pano-link")) {
		if (st.p && b.dataset.id === st.p.id)
			b.setAttribute("aria-current", "true");
		else
			b.removeAttribute("aria-current");
	}
}

async function create(e) {
	e.preventDefault();
	fieldOk(nameIn, nameErr);
	fieldOk(descIn, descErr);
	createErr.textContent = "";
	const name = nameIn.value.trim();
	if (name === "")
		return fieldError(nameIn, nameErr, S.nameRequired);
	if (name.length > NAME_MAX)
		return fieldError(nameIn, nameErr, S.nameTooLong);
	if (descIn.value.length > DESCRIPTION_MAX)
		return fieldError(descIn, descErr, S.descriptionTooLong);
	createBtn.disabled = true;
	let p;
	try {
		p = await api("POST", "/api/panoramas",
		    { name, description: descIn.value });
	} catch (err) {
		if (err instanceof ApiError && err.field === "name")
			fieldError(nameIn, nameErr, S.nameRequired);
		else if (err instanceof ApiError && err.field === "description")
			fieldError(descIn, descErr, S.descriptionTooLong);
		else if (err instanceof ApiError &&
		    err.code === "limit_panoramas")
			createErr.textContent = fmt(S.limitPanoramas,
			    { limit: num(err.limit ?? 0) });
		else
			createErr.textContent = words(err);
		return;
	} finally {
		createBtn.disabled = false;
	}
	nameIn.value = "";
	descIn.value = "";
	list.prepend(item(p));
	listNote.hidden = true;
	await open(p.id, false);
	say("success", fmt(S.created, { name: p.name }));
	title.focus();
}

// The open panorama.

const title = h("h2", { id: "pano-title", tabindex: "-1" });
const viewOnly = h("span", { class: "lozenge", hidden: true }, S.viewOnly);
const meta = h("p", { class: "subtle pano-meta" });
const description = h("p", { class: "pano-description" });
const progress = h("p", { class: "subtlest pano-progress" });
const empty = h("p", { class: "subtle pano-empty", hidden: true },
    S.treeEmpty);
const help = h("p", { class: "subtlest pano-help", id: "pano-tree-help" },
    S.treeHelp);

const whereSel = h("select", { id: "pano-where" },
    h("option", { value: "top" }, S.whereTop),
    h("option", { value: "inside" }, S.whereInside),
    h("option", { value: "after" }, S.whereAfter));
const keysIn = h("input", { type: "text", id: "pano-keys",
    placeholder: S.keysPlaceholder, autocomplete: "off", spellcheck: "false",
    "aria-describedby": "pano-keys-err" });
const keysErr = h("div", { class: "field-error", id: "pano-keys-err" });
const keysBtn = h("button", { type: "submit", class: "primary",
    id: "pano-add-issues" }, S.addIssuesButton);
const folderIn = h("input", { type: "text", id: "pano-folder",
    maxlength: NAME_MAX, autocomplete: "off",
    "aria-describedby": "pano-folder-err" });
const folderErr = h("div", { class: "field-error", id: "pano-folder-err" });
const folderBtn = h("button", { type: "submit", id: "pano-add-folder" },
    S.addFolderButton);

const renameIn = h("input", { type: "text", id: "pano-rename",
    maxlength: NAME_MAX, autocomplete: "off",
    "aria-describedby": "pano-rename-err",
    onkeydown: (e) => { if (e.key === "Escape") endRename(true); } });
const renameErr = h("div", { class: "field-error", id: "pano-rename-err" });
const renameForm = h("form", { class: "pano-rename", hidden: true,
    onsubmit: (e) => rename(e) },
    h("label", { for: "pano-rename" }, S.renameLabel),
    h("div", { class: "pano-inline" }, renameIn,
	h("button", { type: "submit", class: "primary" }, S.saveButton),
	h("button", { type: "button", onclick: () => endRename(true) },
	    S.cancelButton)),
    renameErr);
let renaming = null;

function rowButton(id, text, shortcut, fn) {
	return h("button", { type: "button", id, "aria-keyshortcuts": shortcut,
	    onclick: () => { const n = view.selected(); if (n) fn(n); } }, text);
}

const rowButtons = {
	rename: rowButton("pano-rename-row", S.renameButton, "F2",
	    (n) => keyEdit(n, "rename")),
	remove: rowButton("pano-remove-row", S.removeButton, "Delete",
	    (n) => keyEdit(n, "remove")),
	up: rowButton("pano-move-up", S.moveUpButton, "Control+ArrowUp",
	    (n) => keyEdit(n, "up")),
	down: rowButton("pano-move-down", S.moveDownButton, "Control+ArrowDown",
	    (n) => keyEdit(n, "down")),
	indent: rowButton("pano-indent", S.indentButton, "Control+ArrowRight",
	    (n) => keyEdit(n, "indent")),
	outdent: rowButton("pano-outdent", S.outdentButton, "Control+ArrowLeft",
	    (n) => keyEdit(n, "outdent")),
};
const undoBtn = h("button", { type: "button", id: "pano-undo",
    onclick: () => undo() }, S.undoButton);
const historyBtn = h("button", { type: "button", id: "pano-history-toggle",
    "aria-expanded": "false", "aria-controls": "pano-history",
    onclick: () => toggleHistory() }, S.historyButton);

const historyBody = h("tbody");
const historyNote = h("p", { class: "subtle", hidden: true },
    S.historyEmpty);
const historyMore = h("button", { type: "button", hidden: true,
    onclick: () => loadHistory(false) }, S.historyMore);
const historyHead = h("h3", { id: "pano-history-h", tabindex: "-1" },
    S.historyHeading);
const history = h("section", { id: "pano-history", class: "pano-history",
    hidden: true, "aria-labelledby": "pano-history-h" }, historyHead,
    h("table", {}, h("thead", {}, h("tr", {},
	h("th", { scope: "col" }, S.historyWhen),
	h("th", { scope: "col" }, S.historyWho),
	h("th", { scope: "col" }, S.historyWhat))), historyBody),
    historyNote, historyMore);

const editing = h("div", { class: "pano-editing" },
    h("div", { class: "pano-adds", role: "group",
	"aria-labelledby": "pano-add-h" },
	h("h3", { id: "pano-add-h", class: "sr-only" }, S.addHeading),
	h("div", { class: "pano-field pano-where" },
	    h("label", { for: "pano-where" }, S.whereLabel), whereSel),
	h("form", { class: "pano-field pano-grow",
	    onsubmit: (e) => addIssues(e) },
	    h("label", { for: "pano-keys" }, S.keysLabel),
	    h("div", { class: "pano-inline" }, keysIn, keysBtn), keysErr),
	h("form", { class: "pano-field pano-grow",
	    onsubmit: (e) => addFolder(e) },
	    h("label", { for: "pano-folder" }, S.folderLabel),
	    h("div", { class: "pano-inline" }, folderIn, folderBtn),
	    folderErr)),
    h("div", { class: "toolbar pano-rowbar", role: "group",
	"aria-label": S.selectedHeading },
	Object.values(rowButtons), h("span", { class: "spacer" }), undoBtn),
    renameForm);

view.el.id = "pano-tree";
const treeArea = h("section", { class: "pano-open", hidden: true,
    "aria-labelledby": "pano-title" },
    h("div", { class: "pano-head" }, title, viewOnly,
	h("span", { class: "spacer" }), historyBtn),
    meta, description, editing, empty, view.el, progress, help, history);
const none = h("p", { class: "subtle pano-none" }, S.noneOpen);

app.append(h("h1", {}, S.title),
    h("div", { class: "pano-layout" },
	h("aside", { class: "pano-side", "aria-labelledby": "pano-list-h" },
	    h("h2", { id: "pano-list-h" }, S.listHeading),
	    h("label", { for: "pano-filter" }, S.filterLabel), filter,
	    list, listNote, more,
	    h("form", { class: "pano-create", onsubmit: (e) => create(e),
		"aria-labelledby": "pano-create-h", novalidate: true },
		h("h2", { id: "pano-create-h" }, S.createHeading),
		h("label", { for: "pano-name" }, S.nameLabel), nameIn,
		nameErr,
		h("label", { for: "pano-description" }, S.descriptionLabel),
		descIn, descErr, createBtn, createErr)),
	h("div", { class: "pano-main" }, messages, none, treeArea)));

function canEdit() {
	return !!(st.p && st.p.canEdit);
}

// Enables what may be used now.
function controls() {
	const edit = canEdit();
	editing.hidden = !edit;
	viewOnly.hidden = !st.p || edit;
	const idle = st.loaded && !st.saving;
	const n = view.selected();
	keysBtn.disabled = !idle;
	folderBtn.disabled = !idle;
	undoBtn.disabled = !idle;
	for (const b of Object.values(rowButtons))
		b.disabled = !idle || n === null;
	if (n && idle) {
		rowButtons.rename.disabled = n.kind !== "folder" || n.restricted;
		rowButtons.up.disabled = tree.prev(n) === null;
		rowButtons.down.disabled = tree.index(n) ===
		    n.parent.children.length - 1;
		rowButtons.indent.disabled = tree.prev(n) === null;
		rowButtons.outdent.disabled = n.parent === tree.root;
	}
	empty.hidden = !st.loaded || tree.size > 0;
	treeArea.dataset.loaded = st.loaded ? "true" : "false";
	view.setBusy(!st.loaded || st.saving);
}

function head() {
	const p = st.p;
	title.textContent = p.name;
	meta.textContent = size(st.loaded ? tree.size :
	    Math.max(p.nodes, tree.size));
	const link = list.querySelector(".pano-link[data-id=\"" + p.id +
	    "\"] .subtlest");
	const n = st.loaded ? tree.size : p.nodes;
	if (link)
		link.textContent = size(n);
	description.textContent = p.description;
	description.hidden = p.description === "";
	view.label(p.name);
	controls();
}

// Reads panorama id and its tree, page by page; the first page is
// drawn as soon as it is here.  again: the same panorama read again
// (after a 409 or an undo): what is open and selected stays so.
async function open(id, again) {
	const gen = ++st.gen;
	const hadFocus = view.el.contains(document.activeElement);
	st.loaded = false;
	app.setAttribute("aria-busy", "true");
	if (!again) {
		quiet();
		view.collapsed.clear();
		view.current = null;
		view.el.scrollTop = 0;
		endRename(false);
		history.hidden = true;
		historyBtn.setAttribute("aria-expanded", "false");
		historyBtn.textContent = S.historyButton;
	}
	info.retry();
	controls();
	let p;
	try {
		p = await api("GET", "/api/panoramas/" + enc(id));
	} catch (e) {
		if (gen !== st.gen)
			return;
		say("error", e instanceof ApiError && e.status === 404 ?
		    S.notFound : words(e));
		st.p = null;
		treeArea.hidden = true;
		none.hidden = false;
		markCurrent();
		ready();
		return;
	}
	if (gen !== st.gen)
		return;
	st.p = p;
	none.hidden = true;
	treeArea.hidden = false;
	markCurrent();
	if (!again) {
		tree = new Tree();
		view.setTree(tree);
	}
	head();
	progress.textContent = S.loadingTree;
	for (let attempt = 0; ; attempt++) {
		try {
			await walk(gen, hadFocus);
			break;
		} catch (e) {
			if (gen !== st.gen)
				return;
			if (e instanceof ApiError && e.status === 409 &&
			    attempt < 3) {
				say("info", S.treeRestarted);
				continue;
			}
			say("error", e instanceof ApiError && e.status === 404 ?
			    S.gone : words(e));
			progress.textContent = "";
			ready();
			return;
		}
	}
	if (gen !== st.gen)
		return;
	if (!history.hidden)
		loadHistory(true);
}

async function walk(gen, hadFocus) {
	const base = "/api/panoramas/" + enc(st.p.id) + "/tree?limit=";
	let r = await api("GET", base + FIRST_PAGE);
	if (gen !== st.gen)
		return;
	const t = new Tree();
	t.append(r.rows);
	tree = t;
	st.version = r.version;
	view.setTree(t);
	head();
	ready();
	if (hadFocus)
		view.focusCurrent();
	const total = st.p.nodes;
	while (r.next) {
		progress.textContent = fmt(S.loadingRows,
		    { n: num(t.size), total: num(Math.max(total, t.size)) });
		r = await api("GET", base + NEXT_PAGE + "&from=" +
		    encodeURIComponent(r.next));
		if (gen !== st.gen)
			return;
		t.append(r.rows);
		view.refresh();
	}
	progress.textContent = "";
	st.loaded = true;
	head();
	try {
		performance.mark("cellar-tree-loaded");
	} catch (e) {
		// Nothing to measure with.
	}
}

// Changes.

// May the user change the tree now?  Says why not.
function editable() {
	if (!canEdit())
		return false;
	if (!st.loaded) {
		announce(S.waitLoading);
		return false;
	}
	if (st.saving) {
		announce(S.waitSaving);
		return false;
	}
	return true;
}

// Sends one batch; on success applies it here too.  Resolves to the
// node ids it added, or null when it was refused (then the user has
// been told, and after a 409 the tree is being read again).
async function send(actions) {
	st.saving = true;
	controls();
	try {
		const r = await api("POST", "/api/panoramas/" + enc(st.p.id) +
		    "/actions", { version: st.version, actions });
		let k = 0;
		for (const a of actions) {
			const n = a.op === "add" ? a.issueIds.length :
			    a.op === "addFolder" ? 1 : 0;
			tree.apply(a, r.added.slice(k, k + n));
			k += n;
		}
		st.version = r.version;
		st.saving = false;
		view.refresh();
		head();
		if (!history.hidden)
			loadHistory(true);
		return r.added;
	} catch (e) {
		st.saving = false;
		await refused(e);
		return null;
	} finally {
		st.saving = false;
		controls();
	}
}

async function refused(e) {
	say(e instanceof ApiError && e.status === 409 ? "warning" : "error",
	    words(e));
	if (e instanceof ApiError && (e.status === 409 || e.status === 403))
		await open(st.p.id, true);
	else if (e instanceof ApiError && e.status === 404)
		open(st.p.id, false);
}

function keyEdit(n, what) {
	if (what === "rename")
		return startRename(n);
	if (!editable())
		return;
	const i = tree.index(n);
	const sibs = n.parent.children;
	switch (what) {
	case "up":
		if (i <= 0)
			return announce(S.cannotMoveUp);
		return move(n, n.parent, i >= 2 ? sibs[i - 2] : null);
	case "down":
		if (i >= sibs.length - 1)
			return announce(S.cannotMoveDown);
		return move(n, n.parent, sibs[i + 1]);
	case "indent": {
		const p = tree.prev(n);
		if (p === null)
			return announce(S.cannotIndent);
		return move(n, p, tree.last(p));
	}
	case "outdent":
		if (n.parent === tree.root)
			return announce(S.cannotOutdent);
		return move(n, n.parent.parent, n.parent);
	case "remove":
		return removeRow(n);
	}
}

async function move(n, parent, after) {
	if (!editable())
		return;
	const focus = view.el.contains(document.activeElement);
	const added = await send([{ op: "move", node: n.id, parent: parent.id,
	    after: after ? after.id : null }]);
	if (added === null)
		return;
	if (parent !== tree.root)
		view.collapsed.delete(parent.id);
	view.refresh();
	view.select(n.id, focus);
	announce(S.moved);
}

async function removeRow(n) {
	if (!editable())
		return;
	const focus = view.el.contains(document.activeElement);
	const i = view.at.get(n.id) ?? 0;
	const added = await send([{ op: "remove", node: n.id }]);
	if (added === null)
		return;
	say("success", S.removed);
	const next = view.rows[Math.min(i, view.rows.length - 1)];
	if (next)
		view.select(next.n.id, focus);
	else
		controls();
}

function startRename(n) {
	if (n.kind !== "folder" || n.restricted)
		return announce(S.notFolder);
	if (!editable())
		return;
	renaming = n;
	fieldOk(renameIn, renameErr);
	renameIn.value = n.title;
	renameForm.hidden = false;
	renameIn.focus();
	renameIn.select();
}

function endRename(focus) {
	const n = renaming;
	renaming = null;
	renameForm.hidden = true;
	if (focus && n && tree.get(n.id))
		view.select(n.id, true);
}

async function rename(e) {
	e.preventDefault();
	const n = renaming;
	if (!n || !editable())
		return;
	const t = renameIn.value.trim();
	if (t === "")
		return fieldError(renameIn, renameErr, S.folderRequired);
	if (t.length > NAME_MAX)
		return fieldError(renameIn, renameErr, S.folderTooLong);
	const added = await send([{ op: "rename", node: n.id, title: t }]);
	if (added === null)
		return;
	endRename(true);
	announce(S.renamed);
}

// Where an add goes: {parent, after}, or null (said why).
function place() {
	const sel = view.selected();
	const w = whereSel.value;
	if (w === "top")
		return { parent: tree.root, after: tree.last(tree.root) };
	if (sel === null) {
		say("info", S.noSelection);
		return null;
	}
	if (w === "inside")
		return { parent: sel, after: tree.last(sel) };
	return { parent: sel.parent, after: sel };
}

function placeAction(where) {
	return { parent: where.parent.id, after: where.after ?
	    where.after.id : null };
}

function added(where, ids) {
	if (where.parent !== tree.root)
		view.collapsed.delete(where.parent.id);
	view.refresh();
	if (ids.length)
		view.select(ids[0], false);
}

async function addIssues(e) {
	e.preventDefault();
	fieldOk(keysIn, keysErr);
	if (!editable())
		return;
	if (keysIn.value.trim() === "")
		return fieldError(keysIn, keysErr, S.keysRequired);
	const where = place();
	if (where === null)
		return;
	st.saving = true;
	controls();
	announce(S.keysChecking);
	let r;
	try {
		r = await resolveKeys(keysIn.value, info);
	} catch (err) {
		say("error", S.jiraDown);
		return;
	} finally {
		st.saving = false;
		controls();
	}
	if (r.invalid.length)
		return fieldError(keysIn, keysErr,
		    fmt(S.keysInvalid, { list: r.invalid.join(", ") }));
	if (r.unknown.length)
		return fieldError(keysIn, keysErr,
		    fmt(S.keysUnknown, { list: r.unknown.join(", ") }));
	if (r.ids.length > MAX_IDS)
		return fieldError(keysIn, keysErr,
		    fmt(S.keysTooMany, { limit: num(MAX_IDS) }));
	quiet();
	const ids = await send([Object.assign({ op: "add" },
	    placeAction(where), { issueIds: r.ids })]);
	if (ids === null)
		return;
	keysIn.value = "";
	added(where, ids);
	say("success", ids.length === 1 ? S.addedIssue :
	    fmt(S.addedIssues, { n: num(ids.length) }));
}

async function addFolder(e) {
	e.preventDefault();
	fieldOk(folderIn, folderErr);
	if (!editable())
		return;
	const t = folderIn.value.trim();
	if (t === "")
		return fieldError(folderIn, folderErr, S.folderRequired);
	if (t.length > NAME_MAX)
		return fieldError(folderIn, folderErr, S.folderTooLong);
	const where = place();
	if (where === null)
		return;
	quiet();
	const ids = await send([Object.assign({ op: "addFolder" },
	    placeAction(where), { title: t })]);
	if (ids === null)
		return;
	folderIn.value = "";
	added(where, ids);
	say("success", fmt(S.addedFolder, { title: t }));
}

async function undo() {
	if (!editable())
		return;
	st.saving = true;
	controls();
	try {
		await api("POST", "/api/panoramas/" + enc(st.p.id) + "/undo", {});
	} catch (e) {
		st.saving = false;
		if (e instanceof ApiError && e.status === 404)
			say("info", S.nothingToUndo);
		else if (e instanceof ApiError && e.status === 409)
			say("warning", S.undoBlocked);
		else
			say("error", words(e));
		controls();
		refocus();
		return;
	}
	st.saving = false;
	say("success", S.undone);
	await open(st.p.id, true);
	refocus();
}

// Undo is disabled while it runs, which drops the focus to the page:
// back to the selected row, or to Undo when that row is gone.  Focus
// the user moved elsewhere meanwhile stays there.
function refocus() {
	const a = document.activeElement;
	if (a && a !== document.body && a !== undoBtn && !view.el.contains(a))
		return;
	if (view.selected() !== null)
		view.select(view.current, true);
	else if (!undoBtn.disabled)
		undoBtn.focus();
}

// History.

async function me() {
	if (st.me === undefined) {
		try {
			const r = await jira("GET", "/rest/api/3/myself");
			st.me = r && typeof r.accountId === "string" ?
			    r.accountId : null;
		} catch (e) {
			st.me = null;
		}
	}
	return st.me;
}

// Shown, the history is put in sight (it opens below the tree, often
// below the fold) and its heading gets the focus; once its rows are
// in, in sight again, as they make it taller.
function toggleHistory() {
	const show = history.hidden;
	history.hidden = !show;
	historyBtn.setAttribute("aria-expanded", show ? "true" : "false");
	historyBtn.textContent = show ? S.historyHide : S.historyButton;
	if (!show)
		return;
	historyHead.focus({ preventScroll: true });
	history.scrollIntoView({ block: "nearest" });
	loadHistory(true).then(() => {
		if (!history.hidden && history.contains(document.activeElement))
			history.scrollIntoView({ block: "nearest" });
	});
}

function what(b) {
	if (b.kind === "undo")
		return S.historyUndo;
	const parts = b.actions.map((a) => {
		switch (a.op) {
		case "add":
			return a.count === 1 ? S.opAddOne :
			    fmt(S.opAdd, { n: num(a.count ?? 0) });
		case "addFolder":
			return S.opAddFolder;
		case "move":
			return S.opMove;
		case "remove":
			return b.kind === "system" ? S.opDeleted : S.opRemove;
		case "rename":
			return S.opRename;
		default:
			return S.opOther;
		}
	});
	if (b.more)
		parts.push(fmt(S.historyMoreActions, { n: num(b.more) }));
	const text = parts.join(", ") || S.opOther;
	return text.charAt(0).toUpperCase() + text.slice(1);
}

async function loadHistory(reset) {
	if (!st.p)
		return;
	const id = st.p.id;
	const gen = ++st.historyGen;
	let path = "/api/panoramas/" + enc(id) + "/history?limit=" +
	    HISTORY_PAGE;
	if (!reset && st.historyNext)
		path += "&cursor=" + encodeURIComponent(st.historyNext);
	let r;
	let acct;
	try {
		[r, acct] = await Promise.all([api("GET", path), me()]);
	} catch (e) {
		say("error", words(e));
		return;
	}
	if (!st.p || st.p.id !== id || gen !== st.historyGen)
		return;
	if (reset)
		historyBody.replaceChildren();
	for (const b of r.batches) {
		const who = b.actor === null ? S.historySystem :
		    b.actor === acct ? S.historyYou : S.historySomeone;
		const at = new Date(b.at);
		historyBody.append(h("tr", { dataset: { batch: b.id,
		    kind: b.kind, undone: b.undone ? "true" : "false" } },
		    h("td", {}, h("time", { datetime: b.at },
			isNaN(at) ? b.at : when.format(at))),
		    h("td", {}, who),
		    h("td", {}, what(b), b.undone ? [" ",
			h("span", { class: "lozenge" }, S.historyUndoneMark)] :
			null)));
	}
	st.historyNext = r.next;
	historyMore.hidden = !r.next;
	historyNote.hidden = historyBody.children.length > 0;
}

// Start: the list, and the panorama asked for (customData) at once.
const wanted = page.params.get("ac.panorama");
controls();
if (wanted !== null && /^[1-9][0-9]{0,18}$/.test(wanted)) {
	treeArea.hidden = false;
	none.hidden = true;
	loadList(true);
	open(wanted, false);
} else {
	loadList(true).finally(() => ready());
}
