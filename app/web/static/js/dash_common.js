/* The manager pages' additions to the shared helper (mpp.js): their API shorthand,
   formatting, translations. */
"use strict";
window.MPP = (function (base) {
  const i18nEl = document.getElementById("i18n");
  const T = i18nEl ? JSON.parse(i18nEl.textContent) : {};

  // The manager pages' calls: JSON in, JSON out, refusals thrown as MPP.ApiError.
  function api(method, url, body) {
    return base.request(method, url, { body });
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

  return Object.assign(base, { api, fmt, minutes, num, T });
})(window.MPP);
