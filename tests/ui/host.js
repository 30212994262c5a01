// The Jira host of the browser tests (the top document).  It frames
// cellar's page and answers the fake all.js (tests/ui/fake-all.js) in
// that frame, by postMessage only, the way Jira answers Atlassian's:
// context tokens from the fake site's token endpoint, AP.request as a
// fetch to the site's REST API in the user's session, resize, flags,
// navigation.  Every AP call is recorded in window.apLog (kept in
// sessionStorage across a reload of this page), each entry
// {fn, t (ms), ...what was asked}.  Messages from any other window or
// origin are dropped and counted in window.apIgnored.
"use strict";
(function () {
	const cfg = JSON.parse(document.getElementById("host-config").textContent);
	const appOrigin = new URL(cfg.appOrigin).origin;
	const logKey = "apLog:" + cfg.sid;
	let saved = [];
	try {
		saved = JSON.parse(window.sessionStorage.getItem(logKey) || "[]");
	} catch (e) {
		saved = [];
	}
	window.apLog = saved;
	window.apIgnored = 0;
	window.hostConfig = cfg;

	function save() {
		try {
			window.sessionStorage.setItem(logKey,
			    JSON.stringify(window.apLog));
		} catch (e) {
			// Too big to keep: the in-memory log stays complete.
		}
	}

	function log(entry) {
		entry.t = Date.now();
		window.apLog.push(entry);
		save();
		return entry;
	}

	let frame = null;

	function reply(id, ok, payload) {
		save();
		if (frame && frame.contentWindow)
			frame.contentWindow.postMessage({ cellarTestHost: 1,
			    channel: cfg.channel, id, ok, payload }, appOrigin);
	}

	async function token(id, entry) {
		try {
			const r = await fetch(cfg.tokenPath, { method: "POST",
			    headers: { "X-Test-Session": cfg.sid },
			    cache: "no-store" });
			const j = await r.json();
			if (!r.ok || typeof j.token !== "string")
				throw new Error("token endpoint answered " + r.status);
			entry.ok = true;
			reply(id, true, j.token);
		} catch (e) {
			entry.ok = false;
			reply(id, false, { message: String(e) });
		}
	}

	async function request(id, p, entry) {
		const url = typeof p.url === "string" ? p.url : "";
		if (!url.startsWith("/") || url.startsWith("//")) {
			entry.status = 0;
			reply(id, false, { status: 0, statusText: "error", body: "",
			    message: "AP.request takes a URL relative to the " +
			    "product, starting with /" });
			return;
		}
		const method = (p.type || "GET").toUpperCase();
		const headers = { "X-Test-Session": cfg.sid };
		if (p.headers && typeof p.headers.Accept === "string")
			headers.Accept = p.headers.Accept;
		const init = { method, headers, cache: "no-store" };
		if (p.data !== undefined && p.data !== null && method !== "GET") {
			headers["Content-Type"] = p.contentType ||
			    "application/x-www-form-urlencoded";
			init.body = typeof p.data === "string" ? p.data :
			    JSON.stringify(p.data);
		}
		let target = cfg.siteBase + url;
		if (method === "GET" && p.data && typeof p.data === "object") {
			// jQuery-style: data of a GET becomes the query.
			const q = new URLSearchParams(p.data).toString();
			if (q)
				target += (target.includes("?") ? "&" : "?") + q;
		}
		try {
			const r = await fetch(target, init);
			const body = await r.text();
			entry.status = r.status;
			reply(id, r.ok, { status: r.status,
			    statusText: r.statusText || String(r.status), body,
			    contentType: r.headers.get("Content-Type") || "" });
		} catch (e) {
			entry.status = 0;
			reply(id, false, { status: 0, statusText: "error", body: "",
			    message: String(e) });
		}
	}

	function showFlag(p) {
		const el = document.createElement("div");
		el.className = "flag " + (p.type || "info");
		el.dataset.flagId = String(p.flagId);
		el.setAttribute("role", "alert");
		const title = document.createElement("div");
		title.className = "flag-title";
		title.textContent = p.title || "";
		const body = document.createElement("div");
		body.className = "flag-body";
		body.textContent = p.body || "";
		el.append(title, body);
		document.getElementById("flags").append(el);
		if (p.close === "auto")
			window.setTimeout(() => el.remove(), 8000);
	}

	function onMessage(ev) {
		if (!frame || ev.source !== frame.contentWindow ||
		    ev.origin !== appOrigin) {
			window.apIgnored++;
			return;
		}
		const m = ev.data;
		if (!m || m.cellarTestHost !== 1 || m.channel !== cfg.channel) {
			window.apIgnored++;
			return;
		}
		const p = m.payload || {};
		switch (m.type) {
		case "init":
			log({ fn: "init", options: p.options || {} });
			break;
		case "getToken":
			token(m.id, log({ fn: "context.getToken",
			    form: p.form || "promise" }));
			break;
		case "getContext":
			log({ fn: "context.getContext" });
			reply(m.id, true, { jira: {
			    issue: cfg.issue ? { id: cfg.issue.id,
			    key: cfg.issue.key } : undefined,
			    project: cfg.project ? { id: cfg.project.id,
			    key: cfg.project.key } : undefined } });
			break;
		case "getCurrentUser":
			log({ fn: "user.getCurrentUser" });
			reply(m.id, true, { atlassianAccountId: cfg.user.accountId });
			break;
		case "request":
			request(m.id, p, log({ fn: "request", url: p.url,
			    type: (p.type || "GET").toUpperCase(),
			    contentType: p.contentType || null,
			    data: typeof p.data === "string" ? p.data :
			    (p.data === undefined ? null : JSON.stringify(p.data)),
			    form: p.form || "promise" }));
			break;
		case "resize": {
			log({ fn: p.auto ? "resize.auto" : "resize",
			    width: p.width, height: p.height });
			if (cfg.kind === "panel" && p.height)
				frame.style.height = /^\d+$/.test(String(p.height)) ?
				    p.height + "px" : String(p.height);
			break;
		}
		case "sizeToParent":
			log({ fn: "sizeToParent" });
			break;
		case "flag.create":
			log({ fn: "flag.create", flagId: p.flagId, title: p.title,
			    body: p.body, type: p.type || "info",
			    close: p.close || "manual", actions: p.actions || {} });
			showFlag(p);
			break;
		case "flag.close": {
			log({ fn: "flag.close", flagId: p.flagId });
			const el = document.querySelector(
			    "[data-flag-id=\"" + String(Number(p.flagId)) + "\"]");
			if (el)
				el.remove();
			break;
		}
		case "navigator.go":
			log({ fn: "navigator.go", target: p.target,
			    context: p.context || {} });
			break;
		case "navigator.reload":
			log({ fn: "navigator.reload" });
			window.setTimeout(() => window.location.reload(), 50);
			break;
		default:
			log({ fn: "unknown", type: String(m.type) });
			if (m.id !== undefined)
				reply(m.id, false, { message: "not in the fake all.js" });
		}
	}

	window.addEventListener("message", onMessage);
	document.addEventListener("DOMContentLoaded", () => {
		frame = document.getElementById("app-frame");
		document.body.classList.add(cfg.kind);
		if (cfg.kind === "panel" && cfg.issue) {
			document.getElementById("issue-head").hidden = false;
			document.getElementById("issue-crumb").textContent =
			    (cfg.project && cfg.project.key ? cfg.project.key +
			    " / " : "") + cfg.issue.key;
			document.getElementById("issue-summary").textContent =
			    cfg.issue.summary;
		}
		frame.src = cfg.frameUrl;
	});
})();
