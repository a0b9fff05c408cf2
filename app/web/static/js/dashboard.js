/* Live board: a snapshot over WS /ws/dashboard on every change; waits tick locally between. */
"use strict";
(function () {
  const { api, el, fmt, minutes, num, T } = window.MPP;
  const root = document.getElementById("dash");
  const siteId = root.dataset.site;
  const isAdmin = root.dataset.role === "admin";
  const conn = document.getElementById("conn");
  let snap = null;
  let offsetMs = 0; // server clock minus browser clock
  let thresholdsLoaded = false;

  function setConn(state) {
    conn.dataset.state = state;
    conn.textContent = T[state] || state;
  }

  function longest(row) {
    if (!row.oldest_waiting_since) return 0;
    const since = Date.parse(row.oldest_waiting_since);
    return Math.max(0, Math.floor((Date.now() + offsetMs - since) / 1000));
  }

  function render() {
    if (!snap) return;
    const t = snap.totals;
    document.getElementById("k-waiting").textContent = num(t.waiting);
    document.getElementById("k-issued").textContent = num(t.issued);
    document.getElementById("k-served").textContent = num(t.served);
    document.getElementById("k-noshow").textContent = num(t.no_shows);
    document.getElementById("k-open").textContent = num(t.open_counters);
    const b = t.bookings || {};
    document.getElementById("k-bookings").textContent = num(b.booked || 0);
    document.getElementById("k-bookings-sub").textContent =
      (T.checked_in || "check-in") + " " + num(b.checked_in || 0) + " · " +
      (T.no_show || "") + " " + num(b.no_show || 0);
    // The MPP's integration figure: visits that used more than one agency on one ticket.
    const g = t.integration || {};
    document.getElementById("k-integration").textContent =
      g.multi_agency_share === null || g.multi_agency_share === undefined
        ? "—" : (Math.round(g.multi_agency_share * 1000) / 10).toLocaleString() + " %";
    document.getElementById("k-integration-sub").textContent =
      num(g.multi_agency || 0) + " / " + num(g.visits || 0) + " · " +
      (T.several_services || "") + " " + num(g.several_services || 0);
    document.getElementById("dash-day").textContent = snap.day;
    const body = document.getElementById("dash-body");
    const rows = [];
    const groups = [];
    const alerts = [];
    for (const a of snap.agencies) {
      let agencyLongest = 0;
      const serviceRows = [];
      const onlyActive = document.getElementById("only-active").checked;
      // Rows over their threshold, or waiting with no open counter, go to the top.
      const ordered = a.services.map((s) => ({ s, wait: longest(s) }));
      const urgent = ({ s, wait }) => (s.waiting > 0 && (s.unserved || wait >= s.alert_minutes * 60)) ? 1 : 0;
      ordered.sort((x, y) => (urgent(y) - urgent(x)) || (urgent(y) && y.wait - x.wait));
      for (const { s, wait } of ordered) {
        const idle = !s.waiting && !s.issued && !s.in_service && !s.held && !s.served;
        agencyLongest = Math.max(agencyLongest, wait);
        const alert = s.waiting > 0 && wait >= s.alert_minutes * 60;
        if (alert) alerts.push({ s, wait });
        if (idle && onlyActive) continue;
        serviceRows.push(el("tr", { class: "svc" + (alert ? " is-alert" : "") + (s.unserved ? " is-unserved" : ""), "data-service": s.id },
          el("td", {}, el("span", { class: "prefix", text: s.prefix }), " ", s.name),
          el("td", { class: "num", "data-col": "waiting", text: num(s.waiting) }),
          el("td", { class: "num", "data-col": "longest", text: s.waiting ? minutes(wait) : "—" }),
          el("td", { class: "num", text: num(s.open_counters) }),
          el("td", { class: "num", "data-col": "served", text: num(s.served) }),
          el("td", { class: "num", text: num(s.no_shows) }),
          el("td", { class: "num", text: minutes(s.avg_wait_seconds) }),
          el("td", { class: "num", text: minutes(s.avg_service_seconds) }),
          el("td", { class: "num muted", text: String(s.alert_minutes) })));
      }
      const agencyAlert = serviceRows.some((r) => r.classList.contains("is-alert") || r.classList.contains("is-unserved"));
      const group = [];
      groups.push({ alert: agencyAlert, longest: agencyLongest, rows: group });
      group.push(el("tr", { class: "agency" + (agencyAlert ? " is-alert" : ""), "data-agency": a.id },
        el("th", { scope: "row", text: a.name }),
        el("td", { class: "num", text: num(a.waiting) }),
        el("td", { class: "num", text: a.waiting ? minutes(agencyLongest) : "—" }),
        el("td", { class: "num", text: fmt(T.counters_of, { open: a.open_counters, total: a.counters }) }),
        el("td", { class: "num", text: num(a.served) }),
        el("td", { class: "num", text: num(a.no_shows) }),
        el("td", { class: "num", text: minutes(a.avg_wait_seconds) }),
        el("td", { class: "num", text: minutes(a.avg_service_seconds) }),
        el("td", {})));
      group.push(...serviceRows);
    }
    // Agencies with an alert first (longest wait first), the others in their usual order.
    groups.sort((x, y) => (Number(y.alert) - Number(x.alert)) || (y.alert && x.alert ? y.longest - x.longest : 0));
    for (const g of groups) rows.push(...g.rows);
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "9", class: "muted", text: T.none })));
    body.replaceChildren(...rows);
    const box = document.getElementById("alerts");
    const list = document.getElementById("alert-list");
    alerts.sort((x, y) => y.wait - x.wait);
    list.replaceChildren(
      ...(snap.unserved || []).map((u) => el("li", { class: "unserved", "data-service": u.service_id,
        text: fmt(T.unserved || "{name}: {n}", { name: u.prefix + " · " + u.name, n: u.waiting }) })),
      ...alerts.map(({ s, wait }) => el("li", {
        text: fmt(T.alert, { name: s.prefix + " · " + s.name, minutes: Math.floor(wait / 60), limit: s.alert_minutes }),
      })));
    box.hidden = alerts.length === 0 && !(snap.unserved || []).length;
    if (!thresholdsLoaded) renderThresholds();
  }

  function renderThresholds() {
    thresholdsLoaded = true;
    const tb = document.getElementById("th-body");
    const defaultInput = document.getElementById("th-default");
    if (defaultInput) defaultInput.value = snap.thresholds.default_minutes;
    const rows = [];
    for (const a of snap.agencies) {
      for (const s of a.services) {
        const own = snap.thresholds.services[String(s.id)];
        rows.push(el("tr", {},
          el("td", { text: a.name }),
          el("td", {}, el("span", { class: "prefix", text: s.prefix }), " ", s.name),
          el("td", {}, el("input", {
            type: "number", min: "1", max: "600", name: "svc-" + s.id, "data-service": s.id,
            value: own !== undefined ? String(own) : "", placeholder: T.service_default + " " + snap.thresholds.default_minutes,
          }))));
      }
    }
    tb.replaceChildren(...rows);
  }

  document.getElementById("threshold-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = document.getElementById("th-status");
    const services = {};
    document.querySelectorAll("#th-body input[data-service]").forEach((inp) => {
      services[inp.dataset.service] = inp.value === "" ? null : parseInt(inp.value, 10);
    });
    const body = { services };
    const d = document.getElementById("th-default");
    if (isAdmin && d && d.value !== "") body.default_minutes = parseInt(d.value, 10);
    try {
      await api("PUT", "/api/v1/stats/settings/alerts", body);
      status.textContent = T.saved;
      status.className = "ok";
      const fresh = await api("GET", "/api/v1/stats/dashboard?site_id=" + siteId);
      accept(fresh);
    } catch (e) {
      status.textContent = e.message;
      status.className = "alert";
    }
  });

  function accept(msg) {
    offsetMs = Date.parse(msg.now) - Date.now();
    snap = msg;
    render();
  }

  function connect() {
    MPP.connect("/ws/dashboard?site_id=" + encodeURIComponent(siteId), {
      connecting: () => setConn("connecting"),
      open: () => setConn("connected"),
      close: () => setConn("offline"),
      delay: (attempt) => Math.min(1000 * Math.pow(2, attempt - 1), 15000),
      message: (msg) => {
        if (msg.type === "snapshot") accept(msg);
        else if (msg.type === "error") setConn("offline");
      },
    });
  }

  document.getElementById("only-active").addEventListener("change", render);
  connect();
  // Waits grow between events: re-render the ticking columns every five seconds.
  setInterval(render, 5000);
})();
