/* Survey tablet at a counter: a device bound to one counter (its token comes once in the setup
   link and is kept in localStorage). It polls for the ticket just finished at that counter and
   offers its survey. The previous citizen's unfilled survey is cleared as soon as the next
   ticket is called at the counter (the server stops offering it) and after a short idle time,
   so answers are never credited to the wrong ticket. The tablet never sees a tracking code. */
"use strict";
(function () {
  const TOKEN_KEY = "mpp_tablet_token";
  const params = new URLSearchParams(location.search);
  const fresh = params.get("token");
  if (fresh) {
    // Keep the token off the screen, out of history and out of referrers.
    localStorage.setItem(TOKEN_KEY, fresh);
    params.delete("token");
    const q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + location.hash);
  }
  const token = localStorage.getItem(TOKEN_KEY);
  const POLL_MS = Math.max(200, parseInt(params.get("poll") || "3000", 10) || 3000);
  // Idle time (seconds) after which an untouched, unfinished survey is put away.
  const IDLE_MS = Math.max(1, parseInt(params.get("idle") || "90", 10) || 90) * 1000;
  const THANKS_MS = 6000;

  const form = document.getElementById("tablet-form");
  const screens = {
    idle: document.getElementById("tablet-idle"), form,
    thanks: document.getElementById("tablet-thanks"),
    unregistered: document.getElementById("tablet-unregistered"),
  };
  const errorBox = document.getElementById("tablet-error");
  let current = null; // {id, number, service} of the ticket whose survey is shown
  const done = new Set(); // tickets answered, skipped or timed out on this tablet
  let thanksUntil = 0;
  let lastTouch = Date.now();
  let timer = null;

  function show(which) {
    for (const [name, node] of Object.entries(screens)) node.hidden = name !== which;
    document.getElementById("tablet").dataset.screen = which;
  }

  // The tablet's device token is its only credential (no cookie, so no CSRF header).
  function api(method, url, body) {
    return MPP.request(method, url, { body, bearer: token, csrf: "" });
  }

  function clearSurvey() {
    form.reset();
    errorBox.hidden = true;
    current = null;
  }

  async function poll() {
    try {
      const data = await api("GET", "/api/v1/surveys/tablet");
      const c = data.counter;
      document.getElementById("tablet-counter").textContent = c.agency + " · " + c.name;
      if (Date.now() < thanksUntil) return;
      const t = data.ticket;
      if (t && !done.has(t.id)) {
        if (!current || current.id !== t.id) {
          clearSurvey();
          current = t;
          lastTouch = Date.now();
          document.getElementById("tablet-number").textContent = t.number;
          document.getElementById("tablet-service").textContent = t.service;
        }
        show("form");
      } else {
        // The next citizen was called (or nothing waits): the old survey must not linger.
        if (current) clearSurvey();
        show("idle");
      }
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        clearInterval(timer);
        clearSurvey();
        show("unregistered");
      }
      /* otherwise keep the current screen; the next poll retries */
    }
  }

  for (const type of ["pointerdown", "keydown", "change", "input"]) {
    form.addEventListener(type, () => { lastTouch = Date.now(); });
  }
  setInterval(() => {
    if (current && !form.hidden && Date.now() - lastTouch > IDLE_MS) {
      done.add(current.id);
      clearSurvey();
      show("idle");
    }
  }, 1000);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const answers = [];
    for (let i = 1; i <= 9; i++) {
      const checked = form.querySelector('input[name="u' + i + '"]:checked');
      answers.push(checked ? parseInt(checked.value, 10) : null);
    }
    try {
      await api("POST", "/api/v1/surveys", {
        ticket_id: current.id, answers, comment: form.comment.value || null,
      });
      done.add(current.id);
      clearSurvey();
      thanksUntil = Date.now() + THANKS_MS;
      show("thanks");
      setTimeout(poll, THANKS_MS + 100);
    } catch (e) {
      if (e.code === "survey_not_pending" || e.code === "survey_already_submitted") {
        done.add(current.id);
        clearSurvey();
        show("idle");
        return;
      }
      errorBox.textContent = e.message;
      errorBox.hidden = false;
    }
  });

  if (!token) {
    show("unregistered");
    return;
  }
  show("idle");
  poll();
  timer = setInterval(poll, POLL_MS);
})();
