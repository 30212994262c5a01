// A fake of Atlassian's all.js for the browser tests (Atlassian's is not
// reachable offline).  Loaded by cellar's page from [ui] all_js_url, it
// defines window.AP in the page, as much of it as cellar's pages use,
// with the shapes of Atlassian's, and talks to the host page (the test
// Jira, tests/ui/host.js) by postMessage only:
//
//   AP.context.getToken([cb])      Promise of a fresh context token (and
//                                  cb(token)); the host mints one per call
//   AP.context.getContext([cb])    Promise of {jira: {issue, project}}
//   AP.request(url|opts[, opts])   Jira's REST API as the user: Promise
//                                  resolving {body, xhr} for 2xx and
//                                  rejecting {err, xhr} otherwise; the
//                                  success(body, statusText, xhr) and
//                                  error(xhr, statusText, err) callbacks
//   AP.resize([w, h]), AP.sizeToParent()
//   AP.flag.create({title, body, type, close, actions}) -> {close()}
//   AP.navigator.go(target, context), AP.navigator.reload()
//   AP.user.getCurrentUser(cb)
//
// The host's origin is the origin of the xdm_e parameter (as all.js has
// it); messages go to that origin only, and only messages from the
// parent window and that origin are read.  The script's data-options
// ("resize:true", "sizeToParent:true") are honoured: with resize (the
// default) the frame follows the document's height.
"use strict";
(function () {
	if (window.AP)
		return;
	const script = document.currentScript;
	const options = {};
	for (const part of ((script && script.getAttribute("data-options")) ||
	    "").split(";")) {
		const [k, v] = part.split(":").map((s) => s.trim());
		if (k)
			options[k] = v === undefined ? true : v === "true" ? true :
			    v === "false" ? false : v;
	}
	const params = new URLSearchParams(window.location.search);
	let hostOrigin = null;
	try {
		hostOrigin = new URL(params.get("xdm_e") || "").origin;
	} catch (e) {
		hostOrigin = null;
	}
	const channel = params.get("xdm_c") || "";
	const pending = new Map();
	let seq = 0;

	function post(msg) {
		if (hostOrigin === null || window.parent === window)
			throw new Error("fake all.js: no Jira host (xdm_e)");
		msg.cellarTestHost = 1;
		msg.channel = channel;
		window.parent.postMessage(msg, hostOrigin);
	}

	function call(type, payload) {
		return new Promise((resolve, reject) => {
			const id = ++seq;
			pending.set(id, { resolve, reject });
			try {
				post({ id, type, payload });
			} catch (e) {
				pending.delete(id);
				reject(e);
			}
		});
	}

	function notify(type, payload) {
		try {
			post({ type, payload });
		} catch (e) {
			// No host: nothing to tell.
		}
	}

	window.addEventListener("message", (ev) => {
		if (ev.source !== window.parent || ev.origin !== hostOrigin)
			return;
		const m = ev.data;
		if (!m || m.cellarTestHost !== 1 || m.channel !== channel)
			return;
		const p = pending.get(m.id);
		if (!p)
			return;
		pending.delete(m.id);
		(m.ok ? p.resolve : p.reject)(m.payload);
	});

	function xhrOf(r) {
		const type = r.contentType || "";
		return {
			status: r.status,
			statusText: r.statusText || "",
			responseText: r.body || "",
			getResponseHeader(name) {
				return String(name).toLowerCase() === "content-type" ?
				    type : null;
			},
			getAllResponseHeaders() {
				return type ? "content-type: " + type + "\r\n" : "";
			},
		};
	}

	function request(a, b) {
		const opts = typeof a === "string" ? Object.assign({}, b || {},
		    { url: a }) : Object.assign({}, a || {});
		const form = typeof opts.success === "function" ||
		    typeof opts.error === "function" ? "callback" : "promise";
		const payload = { url: opts.url, type: opts.type || "GET",
		    data: opts.data, contentType: opts.contentType,
		    headers: opts.headers || {}, form };
		return call("request", payload).then((r) => {
			const xhr = xhrOf(r);
			if (typeof opts.success === "function")
				opts.success(xhr.responseText, "success", xhr);
			return { body: xhr.responseText, xhr };
		}, (r) => {
			const xhr = xhrOf(r || {});
			const err = (r && (r.message || r.statusText)) || "error";
			if (typeof opts.error === "function")
				opts.error(xhr, "error", err);
			throw { err, xhr };
		});
	}

	function withCallback(promise, cb) {
		if (typeof cb === "function")
			promise.then((v) => cb(v), () => cb(undefined));
		return promise;
	}

	let flags = 0;

	function height() {
		const de = document.documentElement;
		return Math.ceil(Math.max(de.getBoundingClientRect().height,
		    document.body ? document.body.offsetHeight : 0));
	}

	window.AP = {
		context: {
			getToken(cb) {
				return withCallback(call("getToken",
				    { form: typeof cb === "function" ? "callback" :
				    "promise" }), cb);
			},
			getContext(cb) {
				return withCallback(call("getContext", {}), cb);
			},
		},
		user: {
			getCurrentUser(cb) {
				return withCallback(call("getCurrentUser", {}), cb);
			},
		},
		request,
		resize(width, h) {
			notify("resize", { width: width === undefined ? "100%" :
			    String(width), height: h === undefined ? height() :
			    String(h).replace(/px$/, "") });
		},
		sizeToParent() {
			notify("sizeToParent", {});
		},
		flag: {
			create(o) {
				const flagId = ++flags;
				const f = o || {};
				notify("flag.create", { flagId,
				    title: f.title === undefined ? "" : String(f.title),
				    body: f.body === undefined ? "" : String(f.body),
				    type: f.type || "info", close: f.close || "manual",
				    actions: f.actions || {} });
				return {
					_id: flagId,
					close() {
						notify("flag.close", { flagId });
					},
				};
			},
		},
		navigator: {
			go(target, context) {
				notify("navigator.go", { target: String(target),
				    context: context || {} });
			},
			reload() {
				notify("navigator.reload", {});
			},
		},
	};

	notify("init", { options });
	if (options.sizeToParent === true) {
		window.AP.sizeToParent();
	} else if (options.resize !== false) {
		// all.js follows the content's height unless told not to.
		let last = -1;
		let queued = false;
		const follow = () => {
			queued = false;
			const hgt = height();
			if (hgt !== last) {
				last = hgt;
				notify("resize", { width: "100%", height: hgt,
				    auto: true });
			}
		};
		const start = () => {
			new ResizeObserver(() => {
				if (!queued) {
					queued = true;
					window.requestAnimationFrame(follow);
				}
			}).observe(document.documentElement);
		};
		if (document.readyState === "loading")
			document.addEventListener("DOMContentLoaded", start);
		else
			start();
	}
})();
