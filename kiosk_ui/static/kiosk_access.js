// Kiosk access switches: large text with high contrast, and spoken guidance (Indonesian,
// Web Speech API id-ID, like the display board). With guidance on, the first touch on a
// button reads it aloud and a second touch on the same button chooses it, so a blind citizen
// can explore the screen. Both switch off for the next citizen (idle return, printed ticket).
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const log = window.__kioskSpeech = [];  // what was said, for tests and support
  let armed = null;  // the button read aloud last: the next touch on it chooses it

  function T() { return (window.MPPKiosk && window.MPPKiosk.T) || {}; }

  function voice() {
    if (!("speechSynthesis" in window)) return null;
    const all = window.speechSynthesis.getVoices() || [];
    return all.find((v) => /^id([-_]|$)/i.test(v.lang || "")) || null;
  }

  function say(text) {
    text = String(text || "").replace(/\s+/g, " ").trim();
    if (!text) return;
    log.push({ text, at: Date.now() });
    if (!("speechSynthesis" in window)) return;
    try {
      window.speechSynthesis.cancel();
      const u = new SpeechSynthesisUtterance(text);
      u.lang = "id-ID";
      const v = voice();
      if (v) u.voice = v;
      u.rate = 0.95;
      window.speechSynthesis.speak(u);
    } catch (e) { /* no speech on this device: the screen still works */ }
  }

  function label(node) {
    return node.getAttribute("aria-label") || node.textContent;
  }

  function setLarge(on) {
    document.body.classList.toggle("k-large", on);
    $("a11y-large").setAttribute("aria-pressed", String(on));
    if (window.MPPKioskFit) window.MPPKioskFit.refit();
  }

  function setVoice(on) {
    document.body.classList.toggle("k-voice", on);
    $("a11y-voice").setAttribute("aria-pressed", String(on));
    armed = null;
    if (on) say(T().voice_on);
    else if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  }

  function readScreen(name) {
    const screen = document.getElementById("screen-" + name);
    if (!screen) return;
    const parts = [];
    const h = screen.querySelector("h1");
    if (h) parts.push(h.textContent);
    for (const p of screen.querySelectorAll(".k-sub, .k-status-row, .k-no-counter")) {
      if (p.offsetParent !== null) parts.push(p.textContent);
    }
    if (name === "ticket") {
      const live = $("live");
      if (live) parts.push(live.textContent);
    }
    if (name === "checkin") parts.push(T().voice_checkin);
    say(parts.join(". "));
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("a11y-large").addEventListener("click", () => setLarge(!document.body.classList.contains("k-large")));
    $("a11y-voice").addEventListener("click", () => setVoice(!document.body.classList.contains("k-voice")));
    // Explore by touch: capture the click before the kiosk acts on it.
    document.addEventListener("click", (ev) => {
      if (!document.body.classList.contains("k-voice")) return;
      const target = ev.target.closest("button, a");
      if (!target || target.id === "a11y-voice") return;
      if (armed === target) { armed = null; return; }
      ev.preventDefault();
      ev.stopImmediatePropagation();
      armed = target;
      say(label(target));
    }, true);
  });
  document.addEventListener("kiosk:screen", (ev) => {
    armed = null;
    if (document.body.classList.contains("k-voice")) setTimeout(() => readScreen(ev.detail), 50);
  });
  document.addEventListener("kiosk:reset", () => { setLarge(false); setVoice(false); });
})();
