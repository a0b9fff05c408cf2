/* Report page: visits with several services, from /api/v1/stats/visits for the same period. */
"use strict";
(function () {
  const { api, el, num } = window.MPP;
  const V = JSON.parse(document.getElementById("visit-i18n").textContent);
  const form = document.getElementById("rep-form");

  function params() {
    const p = new URLSearchParams();
    p.set("site_id", form.dataset.site);
    if (form.period.value === "range") {
      p.set("from", form.from.value);
      p.set("to", form.to.value);
    } else {
      p.set("period", form.period.value);
      if (form.ref.value) p.set("ref", form.ref.value);
    }
    if (form.agency_id.value) p.set("agency_id", form.agency_id.value);
    return p;
  }

  const dash = (v) => (v === null || v === undefined ? "—" : String(v));

  function row(cells, head) {
    return el("tr", {}, ...cells.map((c, i) => el(head ? "th" : "td",
      { class: i ? "num" : "", text: c })));
  }

  function figures(name, f) {
    return row([name, num(f.visits), num(f.multi_agency_visits), dash(f.steps_per_visit),
                dash(f.visit_minutes.median), dash(f.between_steps_minutes.median)]);
  }

  async function load() {
    const table = document.getElementById("visit-table");
    try {
      const rep = await api("GET", "/api/v1/stats/visits?" + params().toString());
      const share = rep.multi_agency_share === null ? "—"
        : (Math.round(rep.multi_agency_share * 1000) / 10).toLocaleString() + " %";
      document.getElementById("visit-summary").textContent =
        V.all + ": " + num(rep.all_visits) + " · " + V.multi_agency + ": " + share;
      table.replaceChildren(
        row([V.package, V.visits, V.multi_agency, V.steps, V.whole, V.between], true),
        figures(V.all, rep),
        ...rep.by_package.map((p) => figures(p.package || V.none, p)));
    } catch (e) {
      document.getElementById("visit-summary").textContent = e.message;
    }
  }

  form.addEventListener("submit", load);
  load();
})();
