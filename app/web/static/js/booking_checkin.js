// Kiosk check-in: a USB QR scanner types the booking code + Enter into the focused input, or the
// citizen types it on the on-screen keypad. The booking becomes a ticket, shown and printable.
(function () {
  "use strict";

  const CFG = JSON.parse(document.getElementById("checkin-config").textContent);
  const T = CFG.strings;
  const TOKEN_KEY = "mpp_kiosk_token";  // shared with the kiosk (/kiosk?token=...)
  const KEYS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
  const RESET_MS = 20000;
  const $ = (id) => document.getElementById(id);
  const fmt = (s, vals) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? String(vals[k]) : m));
  let token = null;
  let busy = false;
  let resetTimer = null;

  function readToken() {
    const url = new URL(window.location.href);
    const t = url.searchParams.get("token");
    if (t) {
      localStorage.setItem(TOKEN_KEY, t);
      url.searchParams.delete("token");
      history.replaceState(null, "", url.pathname + url.search);  // keep it off the screen
    }
    token = localStorage.getItem(TOKEN_KEY);
  }

  function headers() {
    const h = { "Accept": "application/json", "Accept-Language": CFG.lang };
    if (token) {
      h["Authorization"] = "Bearer " + token;
    } else {
      const meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) h["X-CSRF-Token"] = meta.content;  // a signed-in officer at the front desk
    }
    return h;
  }

  function message(text, bad) {
    const m = $("ci-msg");
    m.textContent = text || "";
    m.classList.toggle("ci-bad", Boolean(bad));
  }

  function clean(raw) {
    return (raw || "").toUpperCase().replace(/[^A-Z0-9]/g, "").slice(-8);
  }

  function buildKeys() {
    const box = $("ci-keys");
    const add = (label, cls, fn) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      if (cls) b.className = cls;
      b.addEventListener("click", () => { fn(); $("ci-code").focus(); });
      box.append(b);
    };
    for (const ch of KEYS) add(ch, null, () => { $("ci-code").value += ch; });
    add("⌫", "ci-wide", () => { $("ci-code").value = $("ci-code").value.slice(0, -1); });
    add("OK", "ci-go", submit);
  }

  function showTicket(data) {
    const t = data.ticket;
    const f = (name) => document.querySelector(`#ci-result [data-f="${name}"]`);
    f("mpp").textContent = data.site.name;
    f("agency").textContent = data.agency.name + (data.agency.floor ? ` · Lt. ${data.agency.floor}` : "");
    f("service").textContent = data.service.name;
    f("number").textContent = t.number;
    f("code").textContent = data.booking.code_display;
    f("ahead").textContent = fmt(T.people_ahead, { n: t.people_ahead });
    const [a, b] = t.estimated_wait_range || [0, 0];
    f("range").textContent = b > 0 ? fmt(T.estimate, { a, b }) : "";
    // The site's clock, not the kiosk browser's.
    f("when").textContent = new Intl.DateTimeFormat(CFG.lang === "en" ? "en-GB" : "id-ID", {
      dateStyle: "medium", timeStyle: "short", timeZone: data.site.timezone,
    }).format(new Date(t.issued_at));
    f("late").hidden = !data.late;
    f("late").textContent = data.late ? T.late_note : "";
    f("qr").src = `/kiosk/qr/${encodeURIComponent(t.tracking_code)}.svg`;
    $("ci-result").hidden = false;
    $("ci-form").hidden = true;
    $("ci-keys").hidden = true;
    clearTimeout(resetTimer);
    resetTimer = setTimeout(reset, RESET_MS);
  }

  function reset() {
    clearTimeout(resetTimer);
    $("ci-result").hidden = true;
    $("ci-form").hidden = false;
    $("ci-keys").hidden = false;
    $("ci-code").value = "";
    message(token || document.querySelector('meta[name="csrf-token"]') ? "" : T.no_token, !token);
    $("ci-code").focus();
  }

  async function submit() {
    const code = clean($("ci-code").value);
    if (!code) { message(T.enter_code, true); return; }
    if (busy) return;
    busy = true;
    message(T.working, false);
    try {
      const r = await fetch(`/api/v1/bookings/${encodeURIComponent(code)}/check-in`, {
        method: "POST", headers: headers(), credentials: "same-origin" });
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        message((data.error && data.error.message) || T.network_error, true);
        $("ci-code").select();
        return;
      }
      message("", false);
      showTicket(data);
    } catch (e) {
      message(T.network_error, true);
    } finally {
      busy = false;
    }
  }

  readToken();
  buildKeys();
  $("ci-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  $("ci-print").addEventListener("click", () => window.print());
  $("ci-done").addEventListener("click", reset);
  // A scanner needs the input focused; take focus back whenever the screen is touched.
  document.addEventListener("click", (ev) => {
    if (!$("ci-form").hidden && ev.target.tagName !== "INPUT") $("ci-code").focus();
  });
  reset();
})();
