/* Shared helpers of the manager pages: API calls with the CSRF header, formatting, DOM. */
"use strict";
window.MPP = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const i18nEl = document.getElementById("i18n");
  const T = i18nEl ? JSON.parse(i18nEl.textContent) : {};

  async function api(method, url, body) {
    const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const msg = data && data.error ? data.error.message : ("HTTP " + r.status);
      const err = new Error(msg);
      err.code = data && data.error ? data.error.code : "http_error";
      err.field = data && data.error ? data.error.field : undefined;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" || typeof c === "number"
        ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function fmt(template, params) {
    return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in params ? params[k] : m));
  }

  // Seconds -> "12 mnt" (or "1 j 05 mnt"); null -> "—".
  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = Math.round(seconds / 60);
    if (m < 60) return m + " " + (T.min || "mnt");
    return Math.floor(m / 60) + " j " + String(m % 60).padStart(2, "0") + " " + (T.min || "mnt");
  }

  function num(v) {
    return (v === null || v === undefined) ? "—" : Number(v).toLocaleString(document.documentElement.lang === "en" ? "en-US" : "id-ID");
  }

  document.querySelectorAll("select[data-autosubmit]").forEach((s) => {
    s.addEventListener("change", () => s.form.submit());
  });

  return { api, el, fmt, minutes, num, T, csrf };
})();
