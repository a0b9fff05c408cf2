// Public tracking page: short polling of /api/v1/track/{code}; texts set with textContent only.
(function () {
  "use strict";

  const CFG = JSON.parse(document.getElementById("track-config").textContent);
  const T = CFG.strings;
  const FINAL = ["no_show", "cancelled", "closed_out", "transferred"];
  const $ = (id) => document.getElementById(id);
  const fmt = (s, vals) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? String(vals[k]) : m));
  let last = CFG.status;
  let failures = 0;

  function counterLabel(c) {
    if (!c) return "";
    return c.number !== null && c.number !== undefined ? String(c.number) : c.name;
  }

  function render(d) {
    const s = d.status;
    $("tr-number").textContent = d.number;
    $("tr-priority").hidden = !d.priority;
    $("tr-service").textContent = d.service.name;
    $("tr-agency").textContent = d.agency.name + (d.agency.floor ? " · " + fmt(T.floor, { floor: d.agency.floor }) : "");
    const box = $("tr-status");
    box.className = "tr-card tr-status tr-status-" + s;
    box.dataset.status = s;
    let title = T[s] || s;
    if (s === "called" || s === "serving") title = fmt(T[s], { counter: counterLabel(d.counter) });
    $("tr-status-title").textContent = title;
    let detail = T[s + "_detail"] || "";
    if (s === "waiting") detail = fmt(T.ahead, { n: d.people_ahead });
    $("tr-status-detail").textContent = detail;
    const [lo, hi] = d.estimated_wait_range || [0, 0];
    $("tr-range").hidden = s !== "waiting";
    $("tr-range").textContent = hi > 0 ? fmt(T.range, { lo, hi }) : T.range_now;
    $("tr-survey").hidden = !d.survey_available;
    $("tr-surveyed").hidden = !d.survey_submitted;
    renderPlan(d.steps || []);
    // A transfer gave the citizen a new number: say so (the slip shows the first one).
    const moved = d.transferred_from;
    $("tr-changed").hidden = !moved;
    $("tr-changed-title").textContent = moved ? fmt(T.changed, { old: moved.number, "new": d.number }) : "";
    $("tr-changed-detail").textContent = moved ? fmt(T.changed_detail, { service: d.service.name }) : "";
    if (s === "called" && last !== "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    last = s;
    document.title = d.number + " – " + title;
  }

  // A visit with several services: the whole plan, the current step marked.
  function renderPlan(steps) {
    const box = $("tr-plan");
    if (!box) return;
    box.hidden = steps.length === 0;
    $("tr-steps").replaceChildren(...steps.map((st) => {
      const li = document.createElement("li");
      li.className = "tr-step tr-step-" + st.status + (st.current ? " is-current" : "");
      li.dataset.status = st.status;
      const where = [st.agency];
      if (st.floor) where.push(fmt(T.floor, { floor: st.floor }));
      if (st.zone) where.push(fmt(T.zone, { zone: st.zone }));
      for (const [cls, text] of [["tr-step-name", st.service], ["tr-step-where", where.join(" · ")],
        ["tr-step-status", st.current ? T.step_now : (T["step_" + st.status] || st.status)]]) {
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        li.append(span);
      }
      return li;
    }));
  }

  function stamp(text) { $("tr-updated").textContent = text; }

  async function poll() {
    let delay = CFG.poll_ms;
    try {
      const d = await MPP.request("GET", "/api/v1/track/" + encodeURIComponent(CFG.code),
                                  { lang: CFG.lang, cache: "no-store", csrf: "" });
      render(d);
      failures = 0;
      const now = new Intl.DateTimeFormat(CFG.lang === "en" ? "en-GB" : "id-ID", { timeZone: CFG.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(new Date());
      stamp(fmt(T.updated, { time: now }));
      // Nothing changes any more; a finished ticket keeps polling slowly for the survey state.
      if (FINAL.includes(d.status) || (d.status === "done" && !d.survey_available)) return;
      if (d.status === "done") delay = Math.max(delay, 30000);
    } catch (e) {
      if (e.status === 404) return;  // the code is gone (purged): nothing more to follow
      failures += 1;
      stamp(T.offline);
      delay = Math.min(CFG.poll_ms * (2 ** Math.min(failures, 4)), 60000);
    }
    setTimeout(poll, document.hidden ? Math.max(delay, 15000) : delay);
  }

  setTimeout(poll, CFG.poll_ms);
})();
