/* The one helper every screen shares (window.MPP): the API's fetch with CSRF and its errors, a
   reconnecting websocket, text-only DOM building. A classic script, loaded before each
   screen's own script (base.html, kiosk.html, track.html), so screens stay plain scripts
   that work from a LAN without a build step. */
(function () {
  "use strict";

  const NO_ANSWER = document.documentElement.lang === "en"
    ? "No connection to the server." : "Tidak terhubung ke server.";

  // An API refusal ({"error": {code, message, field, reason, details}}) or no answer at all
  // (status 0, code "network").
  class ApiError extends Error {
    constructor(status, code, message, extra) {
      super(message || (status ? "HTTP " + status : NO_ANSWER));
      this.status = status;
      this.code = code || (status ? "http_error" : "network");
      Object.assign(this, extra || {});
    }
  }

  // The field an error belongs to: named by the service, or the last part of the first schema
  // error's location (["body", "phone"] -> "phone").
  function fieldOf(error) {
    if (error.field) return error.field;
    if (Array.isArray(error.details) && error.details.length) {
      const loc = error.details[0].loc || [];
      return loc[loc.length - 1];
    }
    return undefined;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // fetch(), given up after `ms` milliseconds (none: no limit): the raw Response.
  function fetchWithin(url, init, ms) {
    if (!ms) return fetch(url, init);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), ms);
    return fetch(url, Object.assign({}, init, { signal: ctl.signal }))
      .finally(() => clearTimeout(timer));
  }

  // opts: body (sent as JSON), csrf (token for writes; default: the page's csrf-token meta),
  // bearer (a device token), lang (Accept-Language), timeout (ms), cache, networkMessage (the
  // message of an ApiError when no answer came), errorMessage (of a refusal that gave none).
  // Resolves with the parsed JSON (null for 204 or an empty body); rejects with an ApiError.
  async function request(method, url, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    if (opts.lang) headers["Accept-Language"] = opts.lang;
    if (opts.bearer) headers.Authorization = "Bearer " + opts.bearer;
    const csrf = opts.csrf === undefined ? csrfToken() : opts.csrf;
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    const init = { method, headers, credentials: "same-origin" };
    if (opts.cache) init.cache = opts.cache;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let r;
    try {
      r = await fetchWithin(url, init, opts.timeout);
    } catch (e) {
      throw new ApiError(0, "network", opts.networkMessage, { cause: e });
    }
    let data = null;
    if (r.status !== 204) {
      try { data = await r.json(); } catch (e) { data = null; }
    }
    if (!r.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(r.status, e.code, e.message || opts.errorMessage,
                         { field: fieldOf(e), reason: e.reason, details: e.details });
    }
    return data;
  }

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  // A websocket that reconnects. path: a path, or a function answering the full URL (read
  // again at each attempt). handlers: message(msg) for each JSON message (others are
  // dropped), connecting() before each attempt, open(), close(event), delay(attempt) ->
  // milliseconds before attempt n+1 (default 500 ms doubling to 10 s, with jitter so a
  // restarted server is not hit by every screen in the same millisecond).
  // Answers {stop(), reconnect(), socket}.
  function connect(path, handlers) {
    handlers = handlers || {};
    const url = typeof path === "function" ? path : () => wsUrl(path);
    let ws = null;
    let attempt = 0;
    let stopped = false;
    let timer = null;

    function open() {
      timer = null;
      if (stopped) return;
      if (handlers.connecting) handlers.connecting();
      let sock;
      try { sock = new WebSocket(url()); } catch (e) { retry(); return; }
      ws = sock;
      sock.onopen = () => { attempt = 0; if (handlers.open) handlers.open(); };
      sock.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (handlers.message) handlers.message(msg);
      };
      sock.onerror = () => { /* onclose follows */ };
      sock.onclose = (ev) => {
        if (ws !== sock) return;
        ws = null;
        if (handlers.close) handlers.close(ev);
        retry();
      };
    }

    function retry() {
      if (stopped || timer) return;
      attempt += 1;
      const ms = handlers.delay ? handlers.delay(attempt)
        : Math.min(10000, 500 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() / 2);
      timer = setTimeout(open, ms);
    }

    open();
    return {
      stop() {
        stopped = true;
        if (timer) { clearTimeout(timer); timer = null; }
        if (ws) ws.close();
      },
      // Drop the connection now (a stalled socket) and connect again after the delay.
      reconnect() {
        const sock = ws;
        if (sock) { sock.close(); } else if (!timer) { retry(); }
      },
      get socket() { return ws; },
    };
  }

  // el("p", {class: "x", text: "...", on: {click: fn}, dataset: {...}}, child, "text", [more]):
  // attributes as attributes, text as textContent, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // text("span", "class names", "its text"): the short form most screens use.
  function text(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  window.MPP = { ApiError, request, fetchWithin, connect, wsUrl, el, text, csrfToken };
})();
