// Touch kiosk: agency -> service -> (priority) -> printed ticket.
// Builds every piece of data into the DOM with textContent (never innerHTML): service names
// come from the database and must render as text.
(function () {
  "use strict";

  const CFG = JSON.parse(document.getElementById("kiosk-config").textContent);
  const T = CFG.strings;
  const TOKEN_KEY = "mpp_kiosk_token";
  const PAPER_KEY = "mpp_kiosk_paper";
  const IDLE_MS = (CFG.idle_seconds || 60) * 1000;
  const TICKET_MS = (CFG.ticket_seconds || 12) * 1000;
  const REFRESH_MS = 20000;
  const RETRY_DELAYS = [500, 1000, 2000, 4000, 4000, 4000];
  const ATTEMPT_TIMEOUT_MS = 8000;
  // "sakit" only where the service offers it (UU 22/2009 Pasal 242: SIM, Samsat).
  const PRIORITY_GROUPS = ["lansia", "disabilitas", "ibu_hamil", "anak", "korban_bencana", "sakit"];

  const state = {
    token: null, siteCode: CFG.site_code || null, site: null, agencies: [],
    agency: null, service: null, history: [], busy: false, intent: null,
    idleTimer: null, ticketTimer: null, refreshTimer: null,
  };

  const $ = (id) => document.getElementById(id);
  const fmt = (s, vals) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? String(vals[k]) : m));

  const el = MPP.text;

  // --- token and settings -------------------------------------------------------------------
  function readSetup() {
    const url = new URL(window.location.href);
    const token = url.searchParams.get("token");
    if (token) {
      // Keep the token off the screen, out of history and out of referrers.
      localStorage.setItem(TOKEN_KEY, token);
      url.searchParams.delete("token");
    }
    const paper = url.searchParams.get("paper");
    if (paper === "58" || paper === "80") localStorage.setItem(PAPER_KEY, paper);
    if (token) history.replaceState(null, "", url.pathname + url.search + url.hash);
    state.token = localStorage.getItem(TOKEN_KEY);
    const p = CFG.paper || localStorage.getItem(PAPER_KEY) || "80";
    document.body.dataset.paper = p === "58" ? "58" : "80";
  }

  function headers(extra) {
    const h = Object.assign({ "Accept": "application/json", "Accept-Language": CFG.lang }, extra);
    if (state.token) h["Authorization"] = "Bearer " + state.token;
    return h;
  }

  // The kiosk reads each response itself (a retry on 5xx must reuse its Idempotency-Key).
  const fetchWithTimeout = MPP.fetchWithin;

  function newKey() {
    // crypto.randomUUID needs a secure context; kiosks often use plain http on a LAN.
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "kiosk-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // --- screens ------------------------------------------------------------------------------
  let current = "loading";

  function show(name, opts) {
    for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== "screen-" + name;
    if (opts && opts.push && current !== name) state.history.push(current);
    current = name;
    document.body.dataset.screen = name;
    const h = document.querySelector("#screen-" + name + " h1");
    if (h) h.focus({ preventScroll: true });
    $("main").scrollTop = 0;
    window.scrollTo(0, 0);
    armIdle();
    // Screen helpers (kiosk_fit.js, kiosk_access.js) follow the kiosk from screen to screen.
    document.dispatchEvent(new CustomEvent("kiosk:screen", { detail: name }));
  }

  // This kiosk's address with another language, keeping its setup (?idle=, ?paper=, ...).
  function langUrl(lang) {
    const url = new URL(window.location.href);
    url.searchParams.set("lang", lang);
    url.hash = "";
    return url.pathname + url.search;
  }

  function goBack() {
    const prev = state.history.pop();
    if (prev === "agencies" && V && V.active()) return V.startAdding(); // keep the plan
    if (!prev || prev === "agencies") return goHome();
    if (prev === "visit" && V) V.render();
    if (prev === "services") renderServices();
    if (prev === "detail") renderDetail();
    show(prev);
  }

  // The next citizen starts afresh, in Indonesian: every idle return and every printed ticket.
  function nextCitizen() {
    clearTimeout(state.ticketTimer);
    if (CFG.lang !== "id") { window.location.replace(langUrl("id")); return; }
    document.dispatchEvent(new CustomEvent("kiosk:reset"));
    goHome();
  }

  function goHome() {
    clearTimeout(state.ticketTimer);
    state.history = [];
    state.agency = null;
    state.service = null;
    state.intent = null;
    state.busy = false;
    if (V) V.reset();
    if (P) P.clear();
    if (!state.site) return;
    renderAgencies();
    show("agencies");
    refreshCatalog();
  }

  function armIdle() {
    clearTimeout(state.idleTimer);
    if (current === "loading" || current === "unregistered" || current === "busy"
        || current === "ticket") return;
    // The start screen only returns to itself when someone changed it (language, large text).
    if (current === "agencies" && CFG.lang === "id"
        && !document.body.classList.contains("k-large")
        && !document.body.classList.contains("k-voice")) return;
    state.idleTimer = setTimeout(nextCitizen, IDLE_MS);
  }

  // --- data ---------------------------------------------------------------------------------
  function unregistered() {
    clearInterval(state.refreshTimer);
    state.busy = false;
    show("unregistered");
  }

  async function boot() {
    readSetup();
    for (const a of document.querySelectorAll(".k-lang a[hreflang]")) a.href = langUrl(a.hreflang);
    tickClock();
    setInterval(tickClock, 15000);
    if (!state.token) return unregistered();
    let attempt = 0;
    for (;;) {
      try {
        const r = await fetchWithTimeout("/kiosk/api/device", { headers: headers() }, ATTEMPT_TIMEOUT_MS);
        if (r.status === 401 || r.status === 403) return unregistered();
        if (r.ok) {
          const dev = await r.json();
          if (!state.siteCode) state.siteCode = dev.site_code;
          break;
        }
      } catch (e) { /* network: retry below */ }
      attempt += 1;
      $("loading-note").textContent = T.offline;
      await sleep(Math.min(1000 * attempt, 10000));
    }
    await refreshCatalog(true);
    if (CFG.start === "checkin") show("checkin", { push: true });
    state.refreshTimer = setInterval(() => { if (current === "agencies") refreshCatalog(); }, REFRESH_MS);
  }

  async function refreshCatalog(first) {
    const q = state.siteCode ? "?site_code=" + encodeURIComponent(state.siteCode) : "";
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await fetchWithTimeout("/api/v1/catalog" + q, { headers: headers() }, ATTEMPT_TIMEOUT_MS);
        if (r.status === 401 || r.status === 403) return unregistered();
        if (r.ok) {
          const data = await r.json();
          state.site = data.site;
          state.agencies = data.agencies;
          state.packages = data.packages || [];
          $("site-name").textContent = data.site.name;
          tickClock();
          if (state.agency) {
            const a = state.agencies.find((x) => x.id === state.agency.id);
            if (a) state.agency = a;
            const sv = state.service && a && a.services.find((x) => x.id === state.service.id);
            if (sv) state.service = sv;
          }
          if (current === "agencies" || first) {
            renderAgencies();
            if (first) show("agencies");
          }
          return;
        }
      } catch (e) { /* network */ }
      if (!first) return; // a background refresh keeps the last good catalog
      $("loading-note").textContent = T.offline;
      await sleep(Math.min(1000 * attempt, 10000));
    }
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  // --- time ---------------------------------------------------------------------------------
  function tz() { return (state.site && state.site.timezone) || "Asia/Jakarta"; }
  function zoneLabel() { return CFG.zones[tz()] || ""; }
  function locale() { return CFG.lang === "en" ? "en-GB" : "id-ID"; }

  function fmtTime(d) {
    return new Intl.DateTimeFormat(locale(), { timeZone: tz(), hour: "2-digit", minute: "2-digit", hour12: false }).format(d);
  }
  function fmtDate(d) {
    return new Intl.DateTimeFormat(locale(), { timeZone: tz(), weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(d);
  }
  function fmtWhen(iso) {
    const d = new Date(iso);
    const day = new Intl.DateTimeFormat(locale(), { timeZone: tz(), weekday: "long", day: "numeric", month: "long" }).format(d);
    return day + ", " + T.at + " " + fmtTime(d) + " " + zoneLabel();
  }
  function tickClock() {
    const now = new Date();
    $("clock").textContent = fmtDate(now) + " · " + fmtTime(now) + " " + zoneLabel();
  }

  // --- rendering ----------------------------------------------------------------------------
  function serviceState(s) {
    if (!s.is_open) return "closed";
    if (s.quota_left !== null && s.quota_left <= 0) return "quota";
    return "open";
  }

  function contrastText(hex) {
    const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return "#fff";
    const n = parseInt(m[1], 16);
    const lum = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
    return lum > 0.6 ? "#000" : "#fff";
  }

  function agencyLetter(a) {
    const p = a.services.length ? a.services[0].prefix : a.code;
    return (p || "?").charAt(0);
  }

  function floorText(a) {
    const parts = [];
    if (a.floor) parts.push(fmt(T.floor, { floor: a.floor }));
    if (a.zone) parts.push(fmt(T.zone, { zone: a.zone }));
    return parts.join(" · ");
  }

  function renderAgencies() {
    const list = $("agency-list");
    list.replaceChildren();
    for (const a of state.agencies) {
      const b = el("button", "k-tile k-agency");
      b.type = "button";
        b.dataset.agencyId = a.id;
      const color = /^#[0-9a-f]{6}$/i.test(a.color || "") ? a.color : "#0b2a4a";
      b.style.setProperty("--agency", color);
      const badge = el("span", "k-badge", agencyLetter(a));
      badge.style.background = color;
      badge.style.color = contrastText(color);
      badge.setAttribute("aria-hidden", "true");
      const body = el("span", "k-tile-body");
      body.append(el("span", "k-tile-title", a.name));
      const where = floorText(a);
      if (where) body.append(el("span", "k-tile-meta", where));
      const waiting = a.services.reduce((n, s) => n + s.waiting, 0);
      body.append(el("span", "k-tile-meta", fmt(T.n_services, { n: a.services.length }) + " · " + fmt(T.n_waiting_short, { n: waiting })));
      b.append(badge, body);
      b.addEventListener("click", () => {
        state.agency = a;
        state.history = [];
        renderServices();
        show("services", { push: true });
      });
      list.append(b);
    }
    if (V) V.renderPackages();
  }

  function statusPill(s) {
    const st = serviceState(s);
    const label = st === "open" ? T.open : st === "quota" ? T.quota_out : T.closed;
    return el("span", "k-pill k-pill-" + st, label);
  }

  // Open for tickets, but no counter to call them: say so rather than "no queue".
  function noCounter(s) {
    if (serviceState(s) !== "open" || s.open_counters > 0) return null;
    return s.counters_assigned ? T.no_counter_open : T.no_counter_assigned;
  }

  function waitText(s) {
    if (noCounter(s)) return (s.waiting ? fmt(T.n_waiting, { n: s.waiting }) + " · " : "") + T.no_counter_short;
    if (s.waiting === 0) return T.no_wait;
    return fmt(T.n_waiting, { n: s.waiting }) + " · " + fmt(T.est_wait, { n: s.estimated_wait_minutes });
  }

  function serviceTile(s) {
    const b = el("button", "k-tile k-service k-state-" + serviceState(s));
    b.type = "button";
    b.dataset.serviceId = s.id;
    const body = el("span", "k-tile-body");
    const top = el("span", "k-tile-top");
    top.append(el("span", "k-tile-title", s.name), statusPill(s));
    body.append(top);
    body.append(el("span", "k-tile-meta", waitText(s)));
    if (s.quota_left !== null && serviceState(s) !== "closed") {
      body.append(el("span", "k-tile-meta", fmt(T.quota_left, { n: s.quota_left })));
    }
    if (s.fee) body.append(el("span", "k-tile-meta k-fee", s.fee));
    b.append(body);
    b.addEventListener("click", () => {
      if (V && V.addService(s, state.agency)) return; // "Tambah layanan lain": the next step
      state.service = s;
      // An alternative offered on a closed service's screen replaces it instead of stacking.
      const push = current !== "detail";
      renderDetail();
      show("detail", { push });
    });
    return b;
  }

  function renderServices() {
    const a = state.agency;
    if (!a) return;
    $("services-agency").textContent = a.name;
    $("services-floor").textContent = floorText(a);
    const list = $("service-list");
    list.replaceChildren(...a.services.map(serviceTile));
  }

  async function renderDetail(closedInfo) {
    const s = state.service;
    const a = state.agency;
    if (!s || !a) return;
    $("detail-name").textContent = s.name;
    $("detail-agency").textContent = a.name + (floorText(a) ? " · " + floorText(a) : "");
    const status = $("detail-status");
    status.replaceChildren(statusPill(s), el("span", "k-status-text", waitText(s)));
    if (noCounter(s)) status.append(el("p", "k-panel k-panel-warn k-no-counter", noCounter(s)));
    if (s.quota_left !== null && s.is_open) status.append(el("span", "k-status-text", fmt(T.quota_left, { n: s.quota_left })));
    $("detail-requirements").textContent = s.requirements || T.none;
    $("detail-fee").textContent = s.fee || T.none;
    $("detail-completion").textContent = s.completion_time || T.none;
    $("detail-procedure").textContent = s.procedure || T.none;
    $("detail-product").textContent = s.product || T.none;
    $("detail-complaints").textContent = s.complaints || T.none;
    const groups = s.priority_groups || PRIORITY_GROUPS.filter((g) => g !== "sakit");
    for (const b of document.querySelectorAll("[data-priority]")) b.hidden = !groups.includes(b.dataset.priority);
    $("priority-groups-note").textContent = groups.includes("sakit") ? T.groups_with_sick : T.groups;
    const st = closedInfo ? closedInfo.kind : serviceState(s);
    const blocked = st !== "open";
    $("detail-closed").hidden = !blocked;
    $("detail-actions").hidden = blocked;
    if (!blocked) return;
    $("detail-closed-title").textContent = st === "quota" ? T.quota_title : T.closed_title;
    $("detail-closed-msg").textContent = (closedInfo && closedInfo.message) || "";
    const alts = a.services.filter((x) => x.id !== s.id && serviceState(x) === "open");
    $("detail-alt-title").textContent = alts.length ? T.alternatives : T.no_alternatives;
    $("detail-alternatives").replaceChildren(...alts.map(serviceTile));
    const when = $("detail-closed-when");
    let next = closedInfo ? closedInfo.next_opening : s.next_opening;
    if (!next && st === "quota") {
      try {
        const r = await fetchWithTimeout("/kiosk/api/reopen/" + s.id + "?lang=" + CFG.lang, { headers: headers() }, ATTEMPT_TIMEOUT_MS);
        if (r.ok) next = (await r.json()).next_opening;
      } catch (e) { /* keep the generic text */ }
    }
    when.textContent = next ? fmt(T.reopens, { when: fmtWhen(next) }) : T.reopens_unknown;
  }

  // --- issuing ------------------------------------------------------------------------------
  function takeTicket(priority) {
    if (state.busy || !state.service) return; // a second tap while the first runs does nothing
    state.intent = { service_id: state.service.id, priority: priority || null, key: newKey(), printed: false,
                     extra: V ? V.extra() : null, contact: null };
    // The optional phone for notifications first (kiosk_phone.js, where messages go out;
    // always for a service that needs a confirmed phone), then the issue.
    const required = !!state.service.requires_phone_otp;
    if (P && (CFG.phone || required)) return P.ask(state.intent, { required });
    sendIntent();
  }

  async function sendIntent() {
    const intent = state.intent;
    if (!intent || state.busy) return;
    state.busy = true;
    for (const b of document.querySelectorAll("button")) b.disabled = true;
    $("busy-note").textContent = "";
    show("busy", { keepHistory: true });
    try {
      for (let attempt = 0; ; attempt++) {
        let r = null;
        try {
          r = await fetchWithTimeout("/api/v1/tickets", {
            method: "POST",
            headers: headers({ "Content-Type": "application/json", "Idempotency-Key": intent.key }),
            body: JSON.stringify(Object.assign({ service_id: intent.service_id, priority: intent.priority },
              intent.extra, intent.contact ? { contact: intent.contact, lang: CFG.lang } : null)),
          }, ATTEMPT_TIMEOUT_MS);
        } catch (e) { r = null; }
        if (r && r.status < 500) return await handleIssued(r, intent);
        if (attempt >= RETRY_DELAYS.length) break;
        // Same Idempotency-Key on every retry: the server answers the ticket it already made.
        $("busy-note").textContent = fmt(T.retrying, { n: attempt + 2 });
        await sleep(RETRY_DELAYS[attempt]);
      }
      $("failed-msg").textContent = T.failed;
      show("failed", { keepHistory: true });
    } finally {
      state.busy = false;
      for (const b of document.querySelectorAll("button")) b.disabled = false;
    }
  }

  async function handleIssued(r, intent) {
    let body = {};
    try { body = await r.json(); } catch (e) { body = {}; }
    if (r.status === 200 || r.status === 201) return showTicket(body, intent);
    if (r.status === 401 || r.status === 403) return unregistered();
    const err = body.error || {};
    if (P && P.refused(err, intent)) return; // a wrong number or code: the phone screen says so
    state.intent = null;
    if (V && V.onStepRefused(err)) return;
    if (err.code === "quota_exhausted" || err.code === "service_closed") {
      const kind = err.code === "quota_exhausted" ? "quota" : "closed";
      if (state.history[state.history.length - 1] === "detail") state.history.pop();
      await renderDetail({ kind, message: err.message || "", next_opening: err.next_opening || null });
      show("detail", { keepHistory: true });
      refreshCatalog();
      return;
    }
    $("failed-msg").textContent = err.message || T.failed;
    show("failed", { keepHistory: true });
  }

  function fillTicket(node, t) {
    const a = state.agency;
    const s = state.service;
    const f = (name) => node.querySelector('[data-f="' + name + '"]');
    f("mpp").textContent = state.site.name;
    f("agency").textContent = a.name + (a.floor ? " · " + fmt(T.floor, { floor: a.floor }) : "");
    f("service").textContent = s.name;
    f("number").textContent = t.number;
    f("priority").hidden = !t.priority;
    f("ahead").textContent = fmt(T.ahead, { n: t.people_ahead });
    const [lo, hi] = t.estimated_wait_range || [t.estimated_wait_minutes, t.estimated_wait_minutes];
    f("range").textContent = noCounter(s) ? T.range_unknown
      : hi > 0 ? fmt(T.range, { lo, hi }) : T.range_now;
    f("note").hidden = !t.note;
    f("note").textContent = t.note || "";
    const issued = new Date(t.issued_at);
    f("when").textContent = fmtDate(issued) + " " + fmtTime(issued) + " " + zoneLabel();
    f("qr").src = "/kiosk/qr/" + encodeURIComponent(t.tracking_code) + ".svg";
    if (V) V.fillSteps(node, t);
    node.dataset.number = t.number;
    node.dataset.tracking = t.tracking_code;
  }

  async function showTicket(t, intent) {
    const tpl = $("ticket-template").content;
    const onScreen = tpl.firstElementChild.cloneNode(true);
    const onPaper = tpl.firstElementChild.cloneNode(true);
    fillTicket(onScreen, t);
    fillTicket(onPaper, t);
    if (P) {
      // The number, masked on screen and not at all on paper, then forgotten.
      P.fillTicket(onScreen, intent, false);
      P.fillTicket(onPaper, intent, true);
      P.issued(intent);
    }
    $("ticket-screen").replaceChildren(onScreen);
    $("print-area").replaceChildren(onPaper);
    show("ticket", { keepHistory: true });
    $("live").textContent = fmt(T.announce_ticket, { number: t.number, ahead: fmt(T.ahead, { n: t.people_ahead }) });
    if (!intent.printed) {
      intent.printed = true; // one intent, one slip, even if a retry answered the same ticket
      await printSlip(onPaper);
    }
    countdown(Math.round(TICKET_MS / 1000));
  }

  async function printSlip(node) {
    const img = node.querySelector("img");
    try {
      await Promise.race([img.decode(), sleep(3000)]);
    } catch (e) { /* print without QR rather than not at all */ }
    setPageSize(node);
    window.print();
  }

  function setPageSize(node) {
    // Thermal rolls are continuous: size the page to the slip so the printer feeds no blank paper.
    const paper = document.body.dataset.paper;
    document.body.classList.add("measuring");
    const mm = Math.ceil(node.getBoundingClientRect().height * 25.4 / 96) + 6;
    document.body.classList.remove("measuring");
    // Through the CSS object model of our own stylesheet: the page's CSP allows no <style>.
    const sheet = [...document.styleSheets].find((s) => (s.href || "").includes("/kiosk-static/"));
    if (!sheet) return;
    if (state.pageRule != null) sheet.deleteRule(state.pageRule);
    state.pageRule = sheet.insertRule(
      "@page { size: " + paper + "mm " + Math.max(mm, 60) + "mm; margin: 0; }", sheet.cssRules.length);
  }

  function countdown(seconds) {
    clearTimeout(state.ticketTimer);
    $("ticket-countdown").textContent = fmt(T.returning, { n: seconds });
    if (seconds <= 0) return nextCitizen();
    state.ticketTimer = setTimeout(() => countdown(seconds - 1), 1000);
  }

  // Visits with several services (kiosk_visit.js).
  const V = window.KioskVisit ? window.KioskVisit.init({
    state, T, $, el, fmt, show, goHome, floorText, statusPill, renderAgencies, refreshCatalog,
    takeTicket,
  }) : null;

  // The optional phone for notifications (kiosk_phone.js).
  const P = window.KioskPhone ? window.KioskPhone.init({
    state, T, $, fmt, show, headers, fetchWithTimeout, CFG, send: () => sendIntent(),
  }) : null;

  // --- wiring -------------------------------------------------------------------------------
  document.addEventListener("click", (ev) => {
    const target = ev.target.closest("[data-action]");
    if (!target) return;
    if (target.dataset.action === "back") goBack();
    // "Selesai" under a printed ticket hands the kiosk to the next citizen.
    if (target.dataset.action === "home") (current === "ticket" ? nextCitizen : goHome)();
    if (target.dataset.action === "checkin") show("checkin", { push: true });
  });

  // What the kiosk's other modules (check-in, access) may use.
  window.MPPKiosk = {
    CFG, T, state, fmt, el, show, goHome, armIdle, headers, fetchWithTimeout,
    refresh: () => refreshCatalog(),
    // A ticket made elsewhere (a booking check-in): shown, printed once, then home.
    showTicket(t, where) {
      state.agency = where.agency;
      state.service = where.service;
      return showTicket(t, { printed: false });
    },
    current: () => current,
  };
  document.addEventListener("DOMContentLoaded", () => {
    $("take-btn").addEventListener("click", () => takeTicket(null));
    $("priority-btn").addEventListener("click", () => {
      $("priority-service").textContent = state.service ? state.service.name : "";
      show("priority", { push: true });
    });
    for (const b of document.querySelectorAll("[data-priority]")) {
      if (!PRIORITY_GROUPS.includes(b.dataset.priority)) continue;
      b.addEventListener("click", () => takeTicket(b.dataset.priority));
    }
    $("retry-btn").addEventListener("click", () => sendIntent());
    for (const evName of ["pointerdown", "keydown", "touchstart"]) {
      document.addEventListener(evName, armIdle, { passive: true });
    }
    // No long-press menus or text selection on a public touch screen.
    document.addEventListener("contextmenu", (ev) => ev.preventDefault());
    boot();
  });
})();
