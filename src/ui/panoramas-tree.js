// The tree of one panorama in the browser: the model (Tree: nodes as
// the API's pre-order rows build them, and the batch actions applied
// to it as cellar applies them) and the widget (TreeView: an ARIA tree
// drawn as a virtual list).
//
// The widget draws only the rows in sight (and a few around them):
// the open rows are flattened into one array, every row has the same
// height, and a sizer as tall as all of them gives the scroll bar its
// length, so a panorama of 10,000 nodes is a few dozen elements.  The
// focused row (roving tabindex) and a row being dragged are always kept
// in the document, wherever the scroll position is.
import { h, fmt } from "./lib/cellar.js";
import { S } from "./panoramas.strings.js";

export const ROW = 32;		// px; panoramas.css .pano-row says the same
const OVERSCAN = 8;

export class Tree {
	constructor() {
		this.root = { id: null, kind: "root", parent: null, children: [] };
		this.nodes = new Map();
		this.stack = [this.root];
	}

	get size() {
		return this.nodes.size;
	}

	// One page of rows in pre-order ({node, depth, kind, issueId |
	// title | restricted}), continuing the pages before it.
	append(rows) {
		for (const r of rows) {
			let d = Number.isInteger(r.depth) && r.depth >= 0 ?
			    r.depth : 0;
			if (d > this.stack.length - 1)
				d = this.stack.length - 1;
			this.stack.length = d + 1;
			const parent = this.stack[d];
			const n = {
				id: String(r.node),
				kind: r.kind === "folder" ? "folder" : "issue",
				issueId: typeof r.issueId === "string" ?
				    r.issueId : null,
				title: typeof r.title === "string" ? r.title : "",
				restricted: r.restricted === true,
				parent,
				children: [],
			};
			parent.children.push(n);
			this.nodes.set(n.id, n);
			this.stack.push(n);
		}
	}

	get(id) {
		return id === null ? this.root : this.nodes.get(id) ?? null;
	}

	// Is n inside a's subtree (or a itself)?
	within(n, a) {
		for (let x = n; x !== null; x = x.parent)
			if (x === a)
				return true;
		return false;
	}

	index(n) {
		return n.parent.children.indexOf(n);
	}

	prev(n) {
		const i = this.index(n);
		return i > 0 ? n.parent.children[i - 1] : null;
	}

	last(p) {
		return p.children.length ? p.children[p.children.length - 1] :
		    null;
	}

	insert(parent, after, list) {
		const i = after === null ? 0 : parent.children.indexOf(after) + 1;
		for (const n of list)
			n.parent = parent;
		parent.children.splice(i, 0, ...list);
	}

	detach(n) {
		const i = this.index(n);
		if (i >= 0)
			n.parent.children.splice(i, 1);
	}

	// One action of a batch cellar accepted, with the node ids it
	// added (in order): the same change on this copy.
	apply(a, added) {
		const parent = a.parent === undefined ? null : this.get(a.parent);
		const after = a.after === undefined || a.after === null ? null :
		    this.get(a.after);
		switch (a.op) {
		case "add": {
			const list = a.issueIds.map((iid, i) => ({
			    id: added[i], kind: "issue", issueId: iid, title: "",
			    restricted: false, parent, children: [] }));
			this.insert(parent, after, list);
			for (const n of list)
				this.nodes.set(n.id, n);
			break;
		}
		case "addFolder": {
			const n = { id: added[0], kind: "folder", issueId: null,
			    title: a.title, restricted: false, parent,
			    children: [] };
			this.insert(parent, after, [n]);
			this.nodes.set(n.id, n);
			break;
		}
		case "move": {
			const n = this.get(a.node);
			this.detach(n);
			this.insert(parent, after, [n]);
			break;
		}
		case "remove": {
			const n = this.get(a.node);
			this.detach(n);
			const todo = [n];
			while (todo.length) {
				const x = todo.pop();
				this.nodes.delete(x.id);
				todo.push(...x.children);
			}
			break;
		}
		case "rename":
			this.get(a.node).title = a.title;
			break;
		}
	}

	// The open rows in order: [{n, level, pos, size}] (level from 1).
	flatten(collapsed) {
		const out = [];
		const st = [{ list: this.root.children, i: 0, level: 1 }];
		while (st.length) {
			const top = st[st.length - 1];
			if (top.i >= top.list.length) {
				st.pop();
				continue;
			}
			const n = top.list[top.i++];
			out.push({ n, level: top.level, pos: top.i,
			    size: top.list.length });
			if (n.children.length && !collapsed.has(n.id))
				st.push({ list: n.children, i: 0,
				    level: top.level + 1 });
		}
		return out;
	}
}

// The widget.  opts: {info (IssueInfo), label, canEdit() -> bool,
// onKey(node, key) for the editing keys ("up", "down", "indent",
// "outdent", "rename", "remove"), onDrop(node, parent, after),
// onFirstRows()}.
export class TreeView {
	constructor(tree, opts) {
		this.tree = tree;
		this.opts = opts;
		this.collapsed = new Set();
		this.rows = [];
		this.at = new Map();	// node id -> index in rows
		this.els = new Map();	// node id -> element
		this.current = null;	// node id of the roving tabindex
		this.dragging = null;
		this.drop = null;	// {el, zone}
		this.frame = 0;
		this.shown = false;

		this.sizer = h("div", { class: "pano-sizer" });
		this.el = h("div", {
			class: "pano-tree", role: "tree",
			"aria-label": opts.label,
			"aria-describedby": opts.describedBy ?? null,
			"aria-busy": "true",
			onkeydown: (e) => this.key(e),
			onclick: (e) => this.click(e),
			onscroll: () => this.schedule(),
			ondragstart: (e) => this.dragStart(e),
			ondragover: (e) => this.dragOver(e),
			ondragleave: (e) => this.dragLeave(e),
			ondrop: (e) => this.dropped(e),
			ondragend: () => this.dragEnd(),
		}, this.sizer);
	}

	setTree(tree) {
		this.tree = tree;
		for (const el of this.els.values())
			el.remove();
		this.els.clear();
		this.refresh();
	}

	// The model changed: flatten again and draw.
	refresh() {
		this.rows = this.tree.flatten(this.collapsed);
		this.at = new Map();
		this.rows.forEach((r, i) => this.at.set(r.n.id, i));
		if (this.current !== null && !this.at.has(this.current))
			this.current = null;
		this.sizer.style.height = (this.rows.length * ROW) + "px";
		this.render();
	}

	schedule() {
		if (this.frame === 0)
			this.frame = window.requestAnimationFrame(() => {
				this.frame = 0;
				this.render();
			});
	}

	render() {
		const top = this.el.scrollTop;
		const height = this.el.clientHeight || 600;
		const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
		const end = Math.min(this.rows.length,
		    Math.ceil((top + height) / ROW) + OVERSCAN);
		const want = new Map();
		for (let i = first; i < end; i++)
			want.set(this.rows[i].n.id, i);
		for (const id of [this.current, this.dragging?.id])
			if (id != null && this.at.has(id))
				want.set(id, this.at.get(id));
		for (const [id, el] of this.els)
			if (!want.has(id)) {
				el.remove();
				this.els.delete(id);
			}
		const wanted = [];
		const tabbable = this.current !== null ? this.current :
		    this.rows.length ? this.rows[first]?.n.id : null;
		for (const [id, i] of want) {
			const r = this.rows[i];
			let el = this.els.get(id);
			if (!el) {
				el = h("div", { role: "treeitem", class: "pano-row",
				    dataset: { node: id } });
				this.els.set(id, el);
				this.sizer.append(el);
			}
			this.fill(el, r, i, id === tabbable);
			if (r.n.issueId !== null)
				wanted.push(r.n.issueId);
		}
		this.order(want);
		if (wanted.length)
			this.opts.info.want(wanted);
		if (!this.shown && this.rows.length) {
			this.shown = true;
			this.opts.onFirstRows?.();
		}
	}

	// Puts the drawn rows in the document in their visual order: rows
	// are reused and placed by transform, and screen readers read the
	// document order.  The focused (or dragged) row stays where it is,
	// the others go around it: moving it would drop the focus (or the
	// drag).
	order(want) {
		const els = [...want].sort((a, b) => a[1] - b[1])
		    .map(([id]) => this.els.get(id));
		const kids = this.sizer.children;
		if (els.every((el, i) => kids[i] === el))
			return;
		const active = document.activeElement;
		let k = els.findIndex((el) => el.contains(active));
		if (k < 0 && this.dragging)
			k = els.indexOf(this.els.get(this.dragging.id));
		if (k < 0) {
			this.sizer.append(...els);
			return;
		}
		for (let i = k - 1; i >= 0; i--)
			if (els[i].nextSibling !== els[i + 1])
				this.sizer.insertBefore(els[i], els[i + 1]);
		for (let i = k + 1; i < els.length; i++)
			if (els[i - 1].nextSibling !== els[i])
				els[i - 1].after(els[i]);
	}

	// Draws row r (index i) into el.
	fill(el, r, i, tabbable) {
		const n = r.n;
		const edit = this.opts.canEdit();
		el.style.transform = "translateY(" + (i * ROW) + "px)";
		el.style.setProperty("--level", String(r.level - 1));
		el.setAttribute("aria-level", String(r.level));
		el.setAttribute("aria-setsize", String(r.size));
		el.setAttribute("aria-posinset", String(r.pos));
		el.setAttribute("aria-selected", n.id === this.current ?
		    "true" : "false");
		el.tabIndex = tabbable ? 0 : -1;
		el.draggable = edit;
		if (n.children.length)
			el.setAttribute("aria-expanded",
			    this.collapsed.has(n.id) ? "false" : "true");
		else
			el.removeAttribute("aria-expanded");
		const kind = n.restricted ? "restricted" : n.kind;
		let sig;
		let parts;
		if (n.restricted) {
			sig = "r";
			parts = [h("span", { class: "pano-text" }, S.restricted),
			    h("span", { class: "pano-hint" }, S.restrictedHint)];
		} else if (n.kind === "folder") {
			sig = "f" + n.title;
			parts = [h("span", { class: "pano-text" }, n.title)];
		} else {
			const info = this.opts.info.get(n.issueId);
			if (info === undefined) {
				sig = "l";
				parts = [h("span", { class: "pano-text subtle" },
				    S.issueLoading)];
			} else if (info.missing || info.failed) {
				sig = info.missing ? "m" : "x";
				parts = [h("span", { class: "pano-text subtle" },
				    info.missing ? S.issueUnavailable :
				    S.issueFailed)];
			} else {
				sig = "i" + info.key + "\n" + info.summary;
				parts = [h("span", { class: "pano-key" }, info.key),
				    h("span", { class: "pano-text" }, info.summary)];
			}
		}
		if (el.dataset.sig !== sig || el.dataset.kind !== kind) {
			el.dataset.sig = sig;
			el.dataset.kind = kind;
			el.replaceChildren(
			    h("span", { class: "pano-twisty", "aria-hidden": "true" }),
			    h("span", { class: "pano-icon", "aria-hidden": "true" }),
			    ...parts);
		}
	}

	// Puts row id in sight (scrolling the least), makes it the roving
	// row, draws, and focuses it when focus is asked for.
	select(id, focus) {
		if (!this.at.has(id))
			return;
		this.current = id;
		const i = this.at.get(id);
		const top = i * ROW;
		const h0 = this.el.clientHeight || ROW;
		if (top < this.el.scrollTop)
			this.el.scrollTop = top;
		else if (top + ROW > this.el.scrollTop + h0)
			this.el.scrollTop = top + ROW - h0;
		this.render();
		if (focus)
			this.els.get(id)?.focus({ preventScroll: true });
		this.opts.onSelect?.(this.tree.get(id));
	}

	focusCurrent() {
		const id = this.current ?? this.rows[0]?.n.id;
		if (id != null)
			this.select(id, true);
	}

	selected() {
		return this.current === null ? null : this.tree.get(this.current);
	}

	toggle(n, open) {
		if (!n.children.length)
			return;
		if (open === undefined)
			open = this.collapsed.has(n.id);
		if (open)
			this.collapsed.delete(n.id);
		else
			this.collapsed.add(n.id);
		this.refresh();
	}

	rowOf(target) {
		const el = target instanceof Element ?
		    target.closest(".pano-row") : null;
		return el ? this.tree.get(el.dataset.node) : null;
	}

	click(e) {
		const n = this.rowOf(e.target);
		if (!n)
			return;
		if (e.target.closest(".pano-twisty"))
			this.toggle(n);
		this.select(n.id, true);
	}

	key(e) {
		const n = this.rowOf(e.target);
		if (!n)
			return;
		const i = this.at.get(n.id);
		const mod = e.ctrlKey || e.metaKey;
		let to = null;
		let edit = null;
		switch (e.key) {
		case "ArrowDown":
			if (mod)
				edit = "down";
			else
				to = this.rows[i + 1]?.n;
			break;
		case "ArrowUp":
			if (mod)
				edit = "up";
			else
				to = this.rows[i - 1]?.n;
			break;
		case "ArrowRight":
			if (mod)
				edit = "indent";
			else if (n.children.length && this.collapsed.has(n.id))
				this.toggle(n, true);
			else if (n.children.length)
				to = n.children[0];
			break;
		case "ArrowLeft":
			if (mod)
				edit = "outdent";
			else if (n.children.length && !this.collapsed.has(n.id))
				this.toggle(n, false);
			else if (n.parent !== this.tree.root)
				to = n.parent;
			break;
		case "Home":
			to = this.rows[0]?.n;
			break;
		case "End":
			to = this.rows[this.rows.length - 1]?.n;
			break;
		case "PageDown":
		case "PageUp": {
			const step = Math.max(1,
			    Math.floor(this.el.clientHeight / ROW) - 1);
			const j = e.key === "PageDown" ?
			    Math.min(this.rows.length - 1, i + step) :
			    Math.max(0, i - step);
			to = this.rows[j]?.n;
			break;
		}
		case "Enter":
		case " ":
			if (n.children.length)
				this.toggle(n);
			break;
		case "F2":
			edit = "rename";
			break;
		case "Delete":
			edit = "remove";
			break;
		default:
			return;
		}
		e.preventDefault();
		if (edit !== null)
			this.opts.onKey(n, edit);
		else
			this.select((to ?? n).id, true);
	}

	// Drag and drop (HTML5).  Over a row: its top quarter means "before
	// it", its bottom quarter "after it" (inside it, first, when it is
	// open with children), the middle "inside it, last".  Below the last
	// row: the end of the top level.
	dragStart(e) {
		const n = this.rowOf(e.target);
		if (!n || !this.opts.canEdit()) {
			e.preventDefault();
			return;
		}
		this.dragging = n;
		if (e.dataTransfer) {
			e.dataTransfer.effectAllowed = "move";
			e.dataTransfer.setData("application/x-cellar-node", n.id);
			e.dataTransfer.setData("text/plain", "");
		}
		this.els.get(n.id)?.classList.add("pano-dragging");
	}

	target(e) {
		const n = this.dragging;
		if (!n)
			return null;
		const t = this.rowOf(e.target);
		if (t === null) {
			if (e.target !== this.sizer && e.target !== this.el)
				return null;
			const last = this.tree.last(this.tree.root);
			if (last === null || last === n)
				return null;
			return { el: null, zone: "end", parent: this.tree.root,
			    after: last };
		}
		if (this.tree.within(t, n))
			return null;
		const el = this.els.get(t.id);
		const box = el.getBoundingClientRect();
		const y = (e.clientY - box.top) / (box.height || ROW);
		const open = t.children.length && !this.collapsed.has(t.id);
		if (y < 0.25) {
			let p = this.tree.prev(t);
			if (p === n)
				p = this.tree.prev(n);
			return { el, zone: "before", parent: t.parent, after: p };
		}
		if (y > 0.75 && !open)
			return { el, zone: "after", parent: t.parent, after: t };
		if (y > 0.75)
			return { el, zone: "after", parent: t, after: null };
		let last = this.tree.last(t);
		if (last === n)
			last = this.tree.prev(n);
		return { el, zone: "into", parent: t, after: last };
	}

	showDrop(d) {
		if (this.drop && (!d || this.drop.el !== d.el ||
		    this.drop.zone !== d.zone)) {
			this.drop.el?.classList.remove("pano-drop-" +
			    this.drop.zone);
			this.el.classList.remove("pano-drop-end");
		}
		this.drop = d;
		if (d) {
			if (d.el)
				d.el.classList.add("pano-drop-" + d.zone);
			else
				this.el.classList.add("pano-drop-end");
		}
	}

	dragOver(e) {
		const d = this.target(e);
		this.showDrop(d);
		if (!d)
			return;
		e.preventDefault();
		if (e.dataTransfer)
			e.dataTransfer.dropEffect = "move";
		// Near the edges, scroll.
		const box = this.el.getBoundingClientRect();
		if (e.clientY < box.top + ROW)
			this.el.scrollTop -= ROW / 2;
		else if (e.clientY > box.bottom - ROW)
			this.el.scrollTop += ROW / 2;
	}

	dragLeave(e) {
		if (!e.relatedTarget || !this.el.contains(e.relatedTarget))
			this.showDrop(null);
	}

	dropped(e) {
		const d = this.target(e);
		const n = this.dragging;
		e.preventDefault();
		this.dragEnd();
		if (!d || !n)
			return;
		// A drop where the row already is changes nothing.
		if (d.parent === n.parent &&
		    d.after === this.tree.prev(n))
			return;
		this.opts.onDrop(n, d.parent, d.after);
	}

	dragEnd() {
		this.showDrop(null);
		if (this.dragging)
			this.els.get(this.dragging.id)?.classList.remove(
			    "pano-dragging");
		this.dragging = null;
		this.render();
	}

	setBusy(busy) {
		this.el.setAttribute("aria-busy", busy ? "true" : "false");
	}

	get count() {
		return this.rows.length;
	}

	label(name) {
		this.el.setAttribute("aria-label", fmt(S.treeLabel, { name }));
	}
}
