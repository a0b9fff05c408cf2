// Kiosk check-in screen: a USB QR scanner types the booking code + Enter into the focused
// input, or the citizen types it on the on-screen keypad. The booking becomes a ticket, which
// the kiosk shows and prints like any other (window.MPPKiosk, from kiosk.js).
(function () {
  "use strict";

  const KEYS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
  const $ = (id) => document.getElementById(id);
  let busy = false;

  function K() { return window.MPPKiosk; }

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
    const add = (label, cls, fn, name) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      if (name) b.setAttribute("aria-label", name);
      if (cls) b.className = cls;
      b.addEventListener("click", () => { fn(); $("ci-code").focus(); });
      box.append(b);
    };
    for (const ch of KEYS) add(ch, null, () => { $("ci-code").value += ch; });
    add("⌫", "ci-wide", () => { $("ci-code").value = $("ci-code").value.slice(0, -1); }, "Hapus");
    add("OK", "ci-go", submit);
  }

  async function submit() {
    const k = K();
    const T = k.T;
    const code = clean($("ci-code").value);
    if (!code) { message(T.ci_enter_code, true); return; }
    if (busy) return;
    busy = true;
    message(T.ci_working, false);
    try {
      const r = await k.fetchWithTimeout("/api/v1/bookings/" + encodeURIComponent(code) + "/check-in",
        { method: "POST", headers: k.headers() }, 8000);
      const data = await r.json().catch(() => ({}));
      if (!r.ok) {
        message((data.error && data.error.message) || T.ci_network, true);
        $("ci-code").select();
        return;
      }
      message("", false);
      $("ci-code").value = "";
      const t = Object.assign({}, data.ticket, {
        note: T.ci_online + " · " + data.booking.code_display + (data.late ? " · " + T.ci_late : ""),
      });
      await k.showTicket(t, { agency: data.agency, service: data.service });
    } catch (e) {
      message(T.ci_network, true);
    } finally {
      busy = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    buildKeys();
    $("ci-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
    // A scanner needs the input focused; take focus back whenever the screen is touched.
    document.addEventListener("click", (ev) => {
      if (K() && K().current() === "checkin" && ev.target.tagName !== "INPUT") $("ci-code").focus();
    });
  });
  document.addEventListener("kiosk:screen", (ev) => {
    if (ev.detail !== "checkin") return;
    message("", false);
    $("ci-code").value = "";
    $("ci-code").focus({ preventScroll: true });
  });
})();
