// cellar's pages: what every page shares.
//
// - api(): cellar's own API.  A Connect page's iframe JWT (?jwt= on its
//   first URL) cannot be refreshed and expires in minutes, so every call
//   asks AP.context.getToken() first (Atlassian: "call it right before
//   each backend request"; all.js caches it while it is fresh) and sends
//   it as "Authorization: JWT <token>".  The token is never put in a URL.
// - jira(): Jira's REST API through AP.request, as the signed-in user
//   with the user's own rights.  What it returns (issue keys, summaries,
//   user names) stays in the browser: cellar stores ids only.
// - h(): builds DOM from text; nothing here or in the pages assigns
//   innerHTML, so no value from Jira or cellar is ever parsed as markup.
//
// The page's Content-Security-Policy (nginx, from the worker) allows
// scripts from cellar's origin and the all.js origin only, styles from
// cellar's origin only, and connections to cellar's origin only.

// The page's own query parameters, read once; the iframe JWT is then
// taken out of the address bar so nothing later copies it (a bookmark,
// a shared link, a Referer: the page reply also says no-referrer).
const first = new URL(window.location.href);
export const page = { params: new URLSearchParams(first.search) };
page.params.delete("jwt");
if (first.searchParams.has("jwt")) {
	first.searchParams.delete("jwt");
	try {
		window.history.replaceState(window.history.state, "",
		    first.pathname + first.search + first.hash);
	} catch (e) {
		// Some hosts forbid it; the token simply stays in the URL.
	}
}

// cellar's base: the page is <base>/ui/<page>, the API <base>/api/...
const base = new URL("../", first);

function ap() {
	if (typeof window.AP === "undefined")
		throw new ApiError(0, { error: "no_host",
		    message: "this page must be opened from Jira" });
	return window.AP;
}

// An error reply of cellar's API: {"error", "message", "field",
// "index", "limit", "reason", "version"}; status 0 when the request
// never got an answer.
export class ApiError extends Error {
	constructor(status, body) {
		const b = body && typeof body === "object" ? body : {};
		super(typeof b.message === "string" ? b.message :
		    "request failed (" + status + ")");
		this.name = "ApiError";
		this.status = status;
		this.code = typeof b.error === "string" ? b.error : "";
		this.field = b.field ?? null;
		this.index = b.index ?? null;
		this.limit = b.limit ?? null;
		this.reason = b.reason ?? null;
		this.version = b.version ?? null;
		this.body = b;
	}
}

// A failed AP.request: Jira's status (0: no answer) and its JSON body
// when there was one.
export class JiraError extends Error {
	constructor(status, body) {
		super("Jira answered " + status);
		this.name = "JiraError";
		this.status = status;
		this.body = body ?? null;
	}
}

async function token() {
	const AP = ap();
	// all.js has both forms; the callback one is the oldest.
	return await new Promise((resolve, reject) => {
		let done = false;
		const ok = (t) => {
			if (!done) {
				done = true;
				if (typeof t === "string" && t !== "")
					resolve(t);
				else
					reject(new ApiError(0, { error: "no_token",
					    message: "Jira gave no token" }));
			}
		};
		try {
			const p = AP.context.getToken(ok);
			if (p && typeof p.then === "function")
				p.then(ok, (e) => { if (!done) { done = true;
				    reject(e); } });
		} catch (e) {
			done = true;
			reject(e);
		}
	});
}

function parse(text) {
	if (text === "" || text == null)
		return null;
	try {
		return JSON.parse(text);
	} catch (e) {
		return null;
	}
}

// One call to cellar's API.  path: "/api/...", with its query.  Resolves
// to the parsed JSON body (null for 204); throws ApiError otherwise.
export async function api(method, path, body) {
	const t = await token();
	const init = {
		method,
		headers: { "Authorization": "JWT " + t,
		    "Accept": "application/json" },
		credentials: "omit",
		cache: "no-store",
		referrerPolicy: "no-referrer",
	};
	if (body !== undefined) {
		init.headers["Content-Type"] = "application/json";
		init.body = typeof body === "string" ? body :
		    JSON.stringify(body);
	}
	let r;
	try {
		r = await fetch(new URL(path.replace(/^\//, ""), base), init);
	} catch (e) {
		throw new ApiError(0, { error: "network",
		    message: "cellar could not be reached" });
	}
	const text = await r.text();
	const json = parse(text);
	if (!r.ok)
		throw new ApiError(r.status, json);
	return json;
}

// One call to Jira's REST API as the user (AP.request).  url: Jira's
// path, e.g. "/rest/api/3/issue/10001".  Resolves to the parsed JSON
// (null when the body is empty); throws JiraError.
export async function jira(method, url, body) {
	const AP = ap();
	const opts = { url, type: method, headers: { Accept: "application/json" } };
	if (body !== undefined) {
		opts.contentType = "application/json";
		opts.data = typeof body === "string" ? body : JSON.stringify(body);
	}
	let res;
	try {
		res = await AP.request(opts);
	} catch (e) {
		const xhr = e && e.xhr ? e.xhr : null;
		throw new JiraError(xhr ? xhr.status : 0,
		    xhr ? parse(xhr.responseText) : null);
	}
	const text = res && typeof res === "object" && "body" in res ?
	    res.body : res;
	return typeof text === "string" ? parse(text) : (text ?? null);
}

// An element: h("button", {class: "primary", onclick: fn}, "Save").
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === false || v === null || v === undefined)
			continue;
		if (k === "class")
			el.className = v;
		else if (k === "dataset")
			Object.assign(el.dataset, v);
		else if (k.startsWith("on") && typeof v === "function")
			el.addEventListener(k.slice(2), v);
		else if (k === "value" || k === "checked" || k === "selected" ||
		    k === "disabled" && typeof v === "boolean")
			el[k] = v;
		else
			el.setAttribute(k, v === true ? "" : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.append(c);
		else
			el.append(document.createTextNode(String(c)));
	}
}

// "{n} of {total}" with {n: 1, total: 2}.  A missing name stays as is.
export function fmt(s, vars) {
	return s.replace(/\{([A-Za-z0-9_]+)\}/g, (m, k) =>
	    vars && k in vars ? String(vars[k]) : m);
}

let live = null;

// Says text to screen-reader users (a polite live region).
export function announce(text) {
	if (live === null) {
		live = h("div", { class: "sr-only", role: "status",
		    "aria-live": "polite" });
		document.body.append(live);
	}
	live.textContent = "";
	// A change the reader notices even when the text repeats.
	window.setTimeout(() => { live.textContent = text; }, 30);
}

// Asks the host to fit the iframe to the content (issue panels).
export function resize() {
	if (typeof window.AP !== "undefined" && window.AP.resize)
		window.AP.resize();
}

export function debounce(fn, ms) {
	let t = null;
	return (...args) => {
		if (t !== null)
			window.clearTimeout(t);
		t = window.setTimeout(() => { t = null; fn(...args); }, ms);
	};
}
