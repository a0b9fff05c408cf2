/* Report page: fetch /api/v1/stats/report for the chosen period and draw it with Chart.js. */
"use strict";
(function () {
  const { api, el, fmt, minutes, num, T } = window.MPP;
  const form = document.getElementById("rep-form");
  const siteId = form.dataset.site;
  const charts = {};
  const COLORS = { blue: "#0b5cad", green: "#067647", red: "#b42318", orange: "#dc6803", grey: "#98a2b3" };

  function params() {
    const p = new URLSearchParams();
    p.set("site_id", siteId);
    const period = form.period.value;
    if (period === "range") {
      p.set("from", form.from.value);
      p.set("to", form.to.value);
    } else {
      p.set("period", period);
      if (form.ref.value) p.set("ref", form.ref.value);
    }
    if (form.agency_id.value) p.set("agency_id", form.agency_id.value);
    if (form.service_id.value) p.set("service_id", form.service_id.value);
    p.set("by", form.by.value);
    return p;
  }

  function syncPeriod() {
    const range = form.period.value === "range";
    document.getElementById("l-from").hidden = !range;
    document.getElementById("l-to").hidden = !range;
    document.getElementById("l-ref").hidden = range || form.period.value === "today";
  }

  function syncServices() {
    const agency = form.agency_id.value;
    for (const opt of form.service_id.options) {
      if (!opt.value) continue;
      opt.hidden = agency !== "" && opt.dataset.agency !== agency;
    }
    if (form.service_id.selectedOptions[0] && form.service_id.selectedOptions[0].hidden) form.service_id.value = "";
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom" } } }, config.options || {});
    charts[id] = new Chart(document.getElementById(id), config);
  }

  function kpi(label, value, sub) {
    return el("div", { class: "kpi" }, el("span", { class: "kpi-label", text: label }),
      el("span", { class: "kpi-value", text: value }), sub ? el("span", { class: "kpi-sub", text: sub }) : null);
  }

  function timeSub(d) {
    return T.median + " " + minutes(d.median) + " · " + T.p90 + " " + minutes(d.p90);
  }

  function heatColor(v, max) {
    if (!v) return "#f2f4f7";
    const a = 0.15 + 0.85 * (v / max);
    return "rgba(11, 92, 173, " + a.toFixed(3) + ")";
  }

  function render(rep) {
    const t = rep.totals;
    document.getElementById("rep-period").textContent = fmt(T.period, { from: rep.from, to: rep.to });
    document.getElementById("rep-kpis").replaceChildren(
      kpi(T.issued, num(t.issued)), kpi(T.served, num(t.served)), kpi(T.no_show, num(t.no_show)),
      kpi(T.transferred, num(t.transferred)), kpi(T.priority, num(t.priority)),
      kpi(T.wait + " (" + T.mean + ")", minutes(t.wait_seconds.mean), timeSub(t.wait_seconds)),
      kpi(T.service + " (" + T.mean + ")", minutes(t.service_seconds.mean), timeSub(t.service_seconds)),
      kpi(T.waiting_now, num(rep.waiting_now)),
      kpi(T.bookings, num((rep.bookings || {}).booked || 0),
          (T.checked_in || "") + " " + num((rep.bookings || {}).checked_in || 0) + " · " +
          T.no_show + " " + num((rep.bookings || {}).no_show || 0)));

    const hours = rep.per_hour.filter((h) => h.arrivals || h.calls || (h.hour >= 7 && h.hour <= 16));
    draw("chart-hour", { type: "bar", data: {
      labels: hours.map((h) => String(h.hour).padStart(2, "0") + ".00"),
      datasets: [
        { label: T.arrivals, data: hours.map((h) => h.arrivals), backgroundColor: COLORS.blue },
        { label: T.calls, data: hours.map((h) => h.calls), backgroundColor: COLORS.orange },
      ] } });
    draw("chart-day", { type: rep.per_day.length > 1 ? "line" : "bar", data: {
      labels: rep.per_day.map((d) => d.day),
      datasets: [
        { label: T.issued, data: rep.per_day.map((d) => d.issued), borderColor: COLORS.blue, backgroundColor: COLORS.blue },
        { label: T.served, data: rep.per_day.map((d) => d.served), borderColor: COLORS.green, backgroundColor: COLORS.green },
        { label: T.no_show, data: rep.per_day.map((d) => d.no_show), borderColor: COLORS.red, backgroundColor: COLORS.red },
      ] }, options: { elements: { point: { radius: rep.per_day.length > 60 ? 0 : 2 } } } });
    const rows = rep.rows.slice(0, 40);
    draw("chart-breakdown", { type: "bar", data: {
      labels: rows.map((r) => r.label),
      datasets: [
        { label: T.served, data: rows.map((r) => r.served), backgroundColor: COLORS.green },
        { label: T.no_show, data: rows.map((r) => r.no_show), backgroundColor: COLORS.red },
      ] }, options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true, ticks: { autoSkip: false } } } } });
    const toMin = (s) => (s === null ? null : Math.round(s / 6) / 10);
    draw("chart-wait", { type: "bar", data: {
      labels: rows.map((r) => r.label),
      datasets: [
        { label: T.wait_median, data: rows.map((r) => toMin(r.wait_seconds.median)), backgroundColor: COLORS.blue },
        { label: T.wait_p90, data: rows.map((r) => toMin(r.wait_seconds.p90)), backgroundColor: COLORS.grey },
      ] }, options: { indexAxis: "y", scales: { y: { ticks: { autoSkip: false } } } } });

    // Heat map: weekdays down, hours across; only hours that ever had arrivals or calls.
    const arr = rep.heatmap.arrivals;
    const used = [];
    for (let h = 0; h < 24; h++) if (arr.some((w) => w[h] > 0) || (h >= 7 && h <= 16)) used.push(h);
    const max = Math.max(1, ...arr.flat());
    const heat = document.getElementById("heat");
    const head = el("tr", {}, el("th", { text: "" }), ...used.map((h) => el("th", { text: String(h).padStart(2, "0") })));
    const body = T.weekdays.map((name, w) => el("tr", {}, el("th", { scope: "row", text: name }),
      ...used.map((h) => {
        const v = arr[w][h];
        const td = el("td", { text: v ? String(v) : "", title: name + " " + h + ".00: " + v });
        td.style.background = heatColor(v, max);
        td.style.color = v / max > 0.55 ? "#fff" : "#111";
        return td;
      })));
    heat.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));

    const table = document.getElementById("rep-table");
    const cols = [T.issued, T.served, T.no_show, T.transferred, T.priority,
      T.wait + " " + T.mean, T.wait + " " + T.median, T.wait + " " + T.p90,
      T.service + " " + T.mean, T.service + " " + T.median, T.service + " " + T.p90];
    const line = (r, th) => el("tr", {}, el(th ? "th" : "td", { text: r.label }),
      ...[r.issued, r.served, r.no_show, r.transferred, r.priority].map((v) => el("td", { class: "num", text: num(v) })),
      ...["mean", "median", "p90"].map((k) => el("td", { class: "num", text: minutes(r.wait_seconds[k]) })),
      ...["mean", "median", "p90"].map((k) => el("td", { class: "num", text: minutes(r.service_seconds[k]) })));
    table.replaceChildren(
      el("thead", {}, el("tr", {}, el("th", { text: form.by.selectedOptions[0].textContent }), ...cols.map((c) => el("th", { class: "num", text: c })))),
      el("tbody", {}, ...rep.rows.map((r) => line(r, false))),
      el("tfoot", {}, line(Object.assign({ label: "TOTAL" }, t), true)));

    const qt = document.getElementById("quota-table");
    if (!rep.quota.length) {
      qt.replaceChildren(el("tbody", {}, el("tr", {}, el("td", { class: "muted", text: T.no_quota }))));
    } else {
      qt.replaceChildren(
        el("thead", {}, el("tr", {}, ...[T.quota_service, T.quota, T.days, T.used, T.percent, T.days_full].map((c) => el("th", { text: c })))),
        el("tbody", {}, ...rep.quota.map((q) => {
          const bar = el("span", { class: "bar" });
          bar.style.width = Math.min(100, q.percent || 0) + "px";
          return el("tr", {}, el("td", { text: q.prefix + " · " + q.name }), el("td", { class: "num", text: num(q.daily_quota) }),
            el("td", { class: "num", text: num(q.days) }), el("td", { class: "num", text: num(q.used) }),
            el("td", {}, bar, " " + (q.percent === null ? "—" : q.percent + " %")), el("td", { class: "num", text: num(q.days_full) }));
        })));
    }
  }

  // Drop the last report: after an error, figures of another period must not stay on screen.
  function clearReport() {
    for (const id of Object.keys(charts)) { charts[id].destroy(); delete charts[id]; }
    for (const id of ["rep-kpis", "heat", "rep-table", "quota-table"]) document.getElementById(id).replaceChildren();
    document.getElementById("rep-period").textContent = "";
    document.getElementById("rep-results").hidden = true;
  }

  function clearFieldErrors() {
    for (const box of form.querySelectorAll(".field-error")) { box.textContent = ""; box.hidden = true; }
    for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  function showError(e) {
    clearReport();
    const status = document.getElementById("rep-status");
    const input = e.field ? form.querySelector('[name="' + e.field + '"]') : null;
    const box = input ? document.getElementById("err-" + e.field) : null;
    if (input && box) {
      // "to: tanggal akhir sebelum tanggal awal" -> the reason, under the field it is about.
      const prefix = e.field + ": ";
      box.textContent = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      box.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", box.id);
      input.focus();
      status.textContent = "";
      status.className = "muted";
    } else {
      status.textContent = e.message;
      status.className = "alert";
    }
  }

  async function load() {
    const p = params();
    clearFieldErrors();
    document.getElementById("dl-csv").href = "/api/v1/stats/export.csv?" + p.toString();
    document.getElementById("dl-xlsx").href = "/api/v1/stats/export.xlsx?" + p.toString();
    const status = document.getElementById("rep-status");
    status.textContent = T.loading;
    status.className = "muted";
    delete document.body.dataset.loaded;
    try {
      const t0 = performance.now();
      const rep = await api("GET", "/api/v1/stats/report?" + p.toString());
      const t1 = performance.now();
      render(rep);
      // Where the time goes (bench/report_settle.py reads it): the API call, then drawing.
      window.__reportTiming = { api_ms: Math.round(t1 - t0), draw_ms: Math.round(performance.now() - t1) };
      document.getElementById("rep-results").hidden = false;
      status.textContent = "";
      document.body.dataset.loaded = "1";
    } catch (e) {
      showError(e);
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  form.period.addEventListener("change", syncPeriod);
  form.agency_id.addEventListener("change", syncServices);
  syncPeriod();
  load();
})();
