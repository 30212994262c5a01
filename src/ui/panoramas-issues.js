// Issue keys and summaries for the panoramas page, asked of Jira in the
// browser (jira(): AP.request, with the user's own rights) and kept
// here: cellar stores issue ids only, and nothing of what this module
// learns is ever sent to it.
//
// - IssueInfo.want(ids): the rows about to be shown name their issues;
//   the ones not known yet are fetched WAIT ms later if still shown, in
//   batches of BATCH ids (one Jira call each, at most PARALLEL at a
//   time), then onchange() runs.
// - resolveKeys(text): "ABC-12, abc-13" -> issue ids (what the add
//   action sends), keys Jira does not show this user, and words that
//   are not keys at all.
//
// Jira's POST /rest/api/3/issue/bulkfetch takes up to 100 ids or keys
// and answers the ones the user may browse (the others come back in
// issueErrors).  Where it is missing (404/405), the JQL search is
// used instead: POST /rest/api/3/search/jql with "id in (...)" or
// "key in (...)" (the values are checked digits and keys, never free
// text).
import { jira, JiraError } from "./lib/cellar.js";

export const BATCH = 100;
const PARALLEL = 3;
const WAIT = 40;	// ms from a row drawn to its issue asked for
const KEY = /^[A-Z][A-Z0-9_]*-[1-9][0-9]*$/;
const ID = /^[1-9][0-9]{0,17}$/;

let useSearch = false;

// The issues Jira shows this user among list (ids or keys, at most
// BATCH): [{id, key, summary}].
async function lookup(list, byKey) {
	if (!useSearch) {
		try {
			const r = await jira("POST", "/rest/api/3/issue/bulkfetch",
			    { issueIdsOrKeys: list, fields: ["summary"] });
			return issues(r);
		} catch (e) {
			if (!(e instanceof JiraError) ||
			    (e.status !== 404 && e.status !== 405))
				throw e;
			useSearch = true;
		}
	}
	const jql = (byKey ? "key" : "id") + " in (" + list.join(",") + ")";
	const r = await jira("POST", "/rest/api/3/search/jql",
	    { jql, fields: ["summary"], maxResults: list.length });
	return issues(r);
}

function issues(r) {
	const out = [];
	const list = r && Array.isArray(r.issues) ? r.issues : [];
	for (const i of list) {
		if (!i || typeof i !== "object")
			continue;
		const id = typeof i.id === "number" ? String(i.id) : i.id;
		if (typeof id !== "string" || !ID.test(id) ||
		    typeof i.key !== "string")
			continue;
		const f = i.fields && typeof i.fields === "object" ? i.fields : {};
		out.push({ id, key: i.key,
		    summary: typeof f.summary === "string" ? f.summary : "" });
	}
	return out;
}

export class IssueInfo {
	// onchange(): some issues became known (or failed).
	constructor(onchange) {
		this.onchange = onchange;
		this.cache = new Map();	// id -> {key, summary} | {missing} | {failed}
		this.queue = new Set();
		this.pending = new Set();
		this.running = 0;
		this.timer = null;
	}

	// {key, summary}, {missing: true}, {failed: true}, or undefined
	// while not known yet.
	get(id) {
		return this.cache.get(id);
	}

	remember(list) {
		for (const i of list)
			this.cache.set(i.id, { key: i.key, summary: i.summary });
	}

	// Forget failures (a reload asks again).
	retry() {
		for (const [id, v] of this.cache)
			if (v.failed)
				this.cache.delete(id);
	}

	// The issues of the rows drawn now: they replace the ones asked
	// for before and not fetched yet (rows scrolled past quickly are
	// never fetched).
	want(ids) {
		this.queue = new Set();
		for (const id of ids)
			if (!this.cache.has(id) && !this.pending.has(id))
				this.queue.add(id);
		if (this.queue.size > 0 && this.timer === null)
			this.timer = window.setTimeout(() => {
				this.timer = null;
				this.flush();
			}, WAIT);
	}

	flush() {
		while (this.queue.size > 0 && this.running < PARALLEL) {
			const chunk = [];
			for (const id of this.queue) {
				chunk.push(id);
				if (chunk.length === BATCH)
					break;
			}
			for (const id of chunk) {
				this.queue.delete(id);
				this.pending.add(id);
			}
			this.running++;
			this.fetch(chunk).finally(() => {
				this.running--;
				for (const id of chunk)
					this.pending.delete(id);
				this.onchange();
				if (this.queue.size > 0)
					this.flush();
			});
		}
	}

	async fetch(chunk) {
		try {
			const got = await lookup(chunk, false);
			this.remember(got);
			for (const id of chunk)
				if (!this.cache.has(id))
					this.cache.set(id, { missing: true });
		} catch (e) {
			for (const id of chunk)
				if (!this.cache.has(id))
					this.cache.set(id, { failed: true });
		}
	}
}

// The words of text (commas, semicolons, white space between them):
// {ids: [issue ids in the order typed, once each], unknown: [keys],
// invalid: [words]}.  Throws JiraError when Jira fails.
export async function resolveKeys(text, info) {
	const words = text.split(/[\s,;]+/).filter((w) => w !== "");
	const keys = [];
	const invalid = [];
	for (const w of words) {
		const k = w.toUpperCase();
		if (!KEY.test(k))
			invalid.includes(w) || invalid.push(w);
		else if (!keys.includes(k))
			keys.push(k);
	}
	const byKey = new Map();
	if (invalid.length === 0)
		for (let i = 0; i < keys.length; i += BATCH) {
			const got = await lookup(keys.slice(i, i + BATCH), true);
			info.remember(got);
			for (const g of got)
				byKey.set(g.key.toUpperCase(), g.id);
		}
	const ids = [];
	const unknown = [];
	for (const k of keys) {
		const id = byKey.get(k);
		if (id === undefined)
			unknown.push(k);
		else if (!ids.includes(id))
			ids.push(id);
	}
	return { ids, unknown: invalid.length ? [] : unknown, invalid,
	    count: words.length };
}
