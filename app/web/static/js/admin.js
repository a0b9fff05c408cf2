// /admin: tables and forms over the REST API. Every write sends X-CSRF-Token; every error's
// message is shown next to the field it names. DOM is built with textContent only.
(function () {
  "use strict";
  const root = document.getElementById("admin-app");
  if (!root) return;
  const I18N = JSON.parse(document.getElementById("admin-i18n").textContent);
  const more = document.getElementById("admin-i18n-more");
  if (more) Object.assign(I18N, JSON.parse(more.textContent));
  const SITES = JSON.parse(document.getElementById("admin-sites").textContent);
  const SECTION = root.dataset.section;
  const ROLE = root.dataset.role;
  const IS_ADMIN = ROLE === "admin";
  const MANAGE_SITE = root.dataset.manageSite === "true";
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const TZ = ["Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"];
  const LANG = document.documentElement.lang || "id";

  function T(key, params) {
    let s = I18N[key] || key;
    if (params) for (const [k, v] of Object.entries(params)) s = s.split("{" + k + "}").join(String(v));
    return s;
  }

  const el = MPP.el;

  // Every call answers {ok: true, data} or {ok: false, status, error}: the forms show a
  // refusal next to its field instead of throwing (MPP.request underneath, with the page's
  // CSRF token).
  async function api(method, url, body) {
    try {
      const data = await MPP.request(method, url, { body, lang: LANG,
                                                    networkMessage: T("network") });
      return { ok: true, data };
    } catch (e) {
      if (!(e instanceof MPP.ApiError)) throw e;
      const error = { code: e.code, message: e.message, field: e.field, reason: e.reason,
                      details: e.details };
      return { ok: false, status: e.status, error };
    }
  }

  // --- page messages ---------------------------------------------------------------------------
  const pageError = document.getElementById("page-error");
  const pageOk = document.getElementById("page-ok");
  function showPageError(msg) {
    pageOk.hidden = true; pageError.textContent = msg; pageError.hidden = !msg;
    if (msg) pageError.scrollIntoView({ block: "nearest" });
  }
  // The message box is sticky (admin.css) and brought into view: a long list must not hide it.
  function showOk(msg) {
    pageError.hidden = true; pageOk.textContent = msg; pageOk.hidden = !msg;
    if (msg) pageOk.scrollIntoView({ block: "nearest" });
  }

  // --- errors next to fields -----------------------------------------------------------------------
  const CODE_FIELD = { prefix_taken: "prefix", prefix_used_today: "prefix", code_taken: "code", username_taken: "username" };

  function detailMessage(d, field) {
    const ctx = d.ctx || {};
    switch (d.type) {
      case "missing": case "string_too_short": return T("v_required");
      case "greater_than_equal": case "greater_than":
        return field === "daily_quota" ? T("v_quota") : T("v_min", { n: ctx.ge !== undefined ? ctx.ge : ctx.gt });
      case "less_than_equal": case "less_than": return T("v_max", { n: ctx.le !== undefined ? ctx.le : ctx.lt });
      case "int_parsing": case "int_type": case "int_from_float": return T("v_int");
      case "string_too_long": return T("v_long", { n: ctx.max_length });
      case "string_pattern_mismatch": return field === "color" ? T("v_color") : T("v_format");
      case "literal_error": case "enum": return T("v_choice");
      case "date_parsing": case "date_from_datetime_parsing": case "date_type": return T("v_date");
      default: return d.msg || T("v_format");
    }
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    const top = form.querySelector(".form-error");
    if (top) { top.textContent = ""; top.hidden = true; }
  }

  function setFieldError(form, field, msg) {
    const box = form.querySelector('.field[data-field="' + field + '"]');
    if (!box) return false;
    box.querySelector(".field-error").textContent = msg;
    const input = box.querySelector("input, select, textarea");
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    return true;
  }

  function showErrors(form, err) {
    clearErrors(form);
    let placed = false;
    if (err.code === "validation_error" && Array.isArray(err.details)) {
      for (const d of err.details) {
        const loc = (d.loc || []).filter((x) => x !== "body");
        const field = String(loc[0] || "");
        if (field && setFieldError(form, field, detailMessage(d, field))) placed = true;
      }
    } else if (err.code === "invalid_value") {
      const i = err.message.indexOf(": ");
      if (i > 0) placed = setFieldError(form, err.message.slice(0, i), err.message.slice(i + 2));
    } else if (CODE_FIELD[err.code]) {
      placed = setFieldError(form, CODE_FIELD[err.code], err.message);
    }
    if (!placed) {
      const top = form.querySelector(".form-error");
      if (top) { top.textContent = err.message; top.hidden = false; } else showPageError(err.message);
    }
  }

  // --- form fields -------------------------------------------------------------------------------
  function fieldBox(f, control) {
    const id = "f-" + f.k;
    control.id = control.id || id;
    const label = f.type === "bool"
      ? el("label", { for: control.id, class: "check" }, control, " ", T(f.label || f.k))
      : el("label", { for: control.id }, T(f.label || f.k));
    return el("div", { class: "field field-" + (f.type || "text"), dataset: { field: f.k } },
      label, f.type === "bool" ? null : control, el("p", { class: "field-error", role: "alert" }));
  }

  function hoursEditor(value) {
    const wrap = el("div", { class: "hours", id: "f-opening_hours", tabindex: "-1" });
    const always = el("input", { type: "checkbox", class: "always-open" });
    always.checked = value === null || value === undefined;
    const table = el("div", { class: "hours-days" });
    function rangeRow(o, c) {
      const row = el("span", { class: "range" },
        el("input", { type: "time", class: "range-open", value: o || "08:00", "aria-label": T("opening_hours") }), "–",
        el("input", { type: "time", class: "range-close", value: c || "16:00", "aria-label": T("opening_hours") }),
        el("button", { type: "button", class: "btn btn-small btn-link", title: T("remove_range"), text: "×",
          on: { click: () => { row.remove(); refresh(); } } }));
      return row;
    }
    function refresh() {
      table.querySelectorAll(".hours-day").forEach((d) => {
        d.querySelector(".closed-label").hidden = d.querySelectorAll(".range").length > 0;
      });
      table.hidden = always.checked;
    }
    for (const day of DAYS) {
      const ranges = el("span", { class: "ranges" });
      for (const [o, c] of ((value || {})[day] || [])) ranges.append(rangeRow(o, c));
      table.append(el("div", { class: "hours-day", dataset: { day } },
        el("span", { class: "day-name", text: T(day) }), ranges,
        el("span", { class: "closed-label muted", text: T("closed") }),
        el("button", { type: "button", class: "btn btn-small add-range", text: T("add_range"),
          on: { click: () => { ranges.append(rangeRow()); refresh(); } } })));
    }
    always.addEventListener("change", refresh);
    wrap.append(el("label", { class: "check" }, always, " ", T("always_open")), table);
    refresh();
    wrap.getValue = () => {
      if (always.checked) return null;
      const out = {};
      table.querySelectorAll(".hours-day").forEach((d) => {
        const rs = [...d.querySelectorAll(".range")].map((r) => [r.querySelector(".range-open").value, r.querySelector(".range-close").value]);
        if (rs.length) out[d.dataset.day] = rs;
      });
      return out;
    };
    return wrap;
  }

  function rangesEditor(value) {
    // The hours of one special day: a list of [open, close].
    const wrap = el("div", { class: "hours", id: "f-ranges", tabindex: "-1" });
    const list = el("span", { class: "ranges" });
    function rangeRow(o, c) {
      const row = el("span", { class: "range" },
        el("input", { type: "time", class: "range-open", value: o || "08:00", "aria-label": T("ranges") }), "–",
        el("input", { type: "time", class: "range-close", value: c || "12:00", "aria-label": T("ranges") }),
        el("button", { type: "button", class: "btn btn-small btn-link", text: "×", title: T("remove_range"),
          on: { click: () => row.remove() } }));
      return row;
    }
    for (const [o, c] of value || []) list.append(rangeRow(o, c));
    wrap.append(list, el("span", { class: "muted hint", text: " " + T("closed_all_day") + " = 0 " }),
      el("button", { type: "button", class: "btn btn-small add-range", text: T("add_range"), on: { click: () => list.append(rangeRow()) } }));
    wrap.getValue = () => [...list.querySelectorAll(".range")].map((r) => [r.querySelector(".range-open").value, r.querySelector(".range-close").value]);
    return wrap;
  }

  function control(f, value, item) {
    switch (f.type) {
      case "select": {
        const s = el("select", { name: f.k });
        const opts = typeof f.options === "function" ? f.options(item) : f.options;
        if (f.nullable) s.append(el("option", { value: "", text: T("none") }));
        for (const o of opts) s.append(el("option", { value: o.value, text: o.label }));
        if (value !== null && value !== undefined) s.value = String(value);
        return s;
      }
      case "multi": {
        const box = el("div", { class: "multi", id: "f-" + f.k, tabindex: "-1" });
        const selected = new Set((value || []).map(Number));
        box.render = (it) => {
          const keep = new Set([...box.querySelectorAll("input:checked")].map((i) => Number(i.value)));
          const cur = box.childElementCount ? keep : selected;
          box.replaceChildren(...f.options(it).map((o) => {
            const cb = el("input", { type: "checkbox", value: o.value });
            cb.checked = cur.has(Number(o.value));
            return el("label", { class: "check" }, cb, " ", o.label);
          }));
        };
        box.render(item);
        box.getValue = () => [...box.querySelectorAll("input:checked")].map((i) => Number(i.value));
        return box;
      }
      case "bool": {
        const c = el("input", { type: "checkbox", name: f.k });
        c.checked = value === undefined ? !!f.default : !!value;
        return c;
      }
      case "hours": return hoursEditor(value);
      case "ranges": return rangesEditor(value);
      case "textarea": {
        const t = el("textarea", { name: f.k, rows: 3 });
        t.value = value || "";
        return t;
      }
      case "color": {
        const c = el("input", { name: f.k, type: "text", placeholder: "#1d4ed8", maxlength: 7, class: "color-text" });
        c.value = value || "";
        return c;
      }
      default: {
        const i = el("input", { name: f.k, type: f.type === "int" ? "number" : (f.type || "text"),
          inputmode: f.type === "int" ? "numeric" : null, autocomplete: f.type === "password" ? "new-password" : "off" });
        i.value = value === null || value === undefined ? (f.default !== undefined ? f.default : "") : value;
        return i;
      }
    }
  }

  function readValue(f, ctl) {
    if (ctl.getValue) return ctl.getValue();
    if (f.type === "bool") return ctl.checked;
    const v = ctl.value.trim();
    if (f.type === "int") {
      if (v === "") return f.nullable ? null : undefined;
      const n = Number(v);
      return Number.isFinite(n) ? n : v;
    }
    if (f.type === "select" && (f.numeric !== false)) return v === "" ? null : (isNaN(Number(v)) ? v : Number(v));
    if (v === "") return f.required ? "" : null;
    return v;
  }

  // --- reference data ------------------------------------------------------------------------------
  const ref = { agencies: [], services: [], boards: [] };
  async function loadRef(what) {
    if (what.includes("agencies")) {
      const r = await api("GET", "/api/v1/agencies?include_inactive=true");
      if (r.ok) ref.agencies = r.data;
    }
    if (what.includes("services")) {
      const r = await api("GET", "/api/v1/services");
      if (r.ok) ref.services = r.data;
    }
    if (what.includes("boards")) {
      const r = await api("GET", "/api/v1/boards");
      if (r.ok) ref.boards = r.data;
    }
  }
  const siteName = (id) => (SITES.find((s) => s.id === id) || { name: "#" + id }).name;
  const agencyName = (id) => (ref.agencies.find((a) => a.id === id) || { name: id ? "#" + id : "—" }).name;
  const agencySite = (id) => (ref.agencies.find((a) => a.id === id) || {}).site_id;
  const siteOptions = () => SITES.map((s) => ({ value: s.id, label: s.name }));
  const agencyOptions = () => ref.agencies.filter((a) => a.is_active).map((a) => ({ value: a.id, label: a.name + " (" + a.code + ")" }));

  // --- the CRUD sections ---------------------------------------------------------------------
  const RESOURCES = {
    sites: {
      url: "/api/v1/sites", canCreate: IS_ADMIN, softDelete: "patch",
      cols: [["code", (x) => x.code], ["name", (x) => x.name],
        ["timezone", (x) => x.timezone + ((x.warnings || []).length ? " ⚠ " + T("tz_not_indonesian") : "")]],
      fields: [{ k: "code", required: true }, { k: "name", required: true },
        // A zone set through the API or a mall file stays selectable (and warned about).
        { k: "timezone", type: "select", numeric: false, options: (item) => [...new Set([...TZ, ...(item && item.timezone ? [item.timezone] : [])])].map((z) => ({ value: z, label: z })) },
        { k: "address" }, { k: "max_consecutive_priority", type: "int", nullable: true, default: 3 },
        { k: "require_display_token", type: "bool" }],
    },
    agencies: {
      url: "/api/v1/agencies", list: "/api/v1/agencies?include_inactive=true", canCreate: MANAGE_SITE,
      cols: [["site", (x) => siteName(x.site_id)], ["code", (x) => x.code], ["name", (x) => x.name],
        ["floor", (x) => x.floor || "—"], ["zone", (x) => x.zone || "—"], ["color", (x) => x.color || "—"]],
      fields: [{ k: "site_id", label: "site", type: "select", options: siteOptions, createOnly: true },
        { k: "code", required: true }, { k: "name", required: true }, { k: "floor" }, { k: "zone" },
        { k: "color", type: "color" }],
      ref: ["agencies"],
    },
    services: {
      url: "/api/v1/services", list: "/api/v1/services?include_inactive=true", canCreate: true,
      cols: [["prefix", (x) => x.prefix], ["name", (x) => x.name], ["agency", (x) => agencyName(x.agency_id)],
        ["daily_quota", (x) => x.daily_quota === null ? "—" : x.daily_quota], ["typical_minutes", (x) => x.typical_minutes]],
      fields: [{ k: "agency_id", label: "agency", type: "select", options: agencyOptions },
        { k: "code", required: true }, { k: "name", required: true }, { k: "prefix", required: true },
        { k: "daily_quota", type: "int", nullable: true }, { k: "typical_minutes", type: "int", default: 10 },
        { k: "opening_hours", type: "hours" },
        { group: "standar" }, { k: "requirements", type: "textarea" }, { k: "procedure", type: "textarea" },
        { k: "completion_time" }, { k: "fee" }, { k: "product" }, { k: "complaints" },
        { group: "booking" }, { k: "booking_enabled", type: "bool" }, { k: "slot_minutes", type: "int", default: 30 },
        { k: "slot_capacity", type: "int", default: 5 }, { k: "booking_days_ahead", type: "int", default: 7 },
        { k: "booking_quota_percent", type: "int", default: 50 }, { k: "booking_requires_contact", type: "bool" },
        { k: "requires_phone_otp", type: "bool" },
        { group: "priority" }, { k: "priority_sick", type: "bool" }],
      ref: ["agencies"],
    },
    counters: {
      url: "/api/v1/counters", list: "/api/v1/counters?include_inactive=true", canCreate: true,
      cols: [["number", (x) => x.number], ["name", (x) => x.name], ["agency", (x) => agencyName(x.agency_id)],
        ["zone", (x) => x.zone || "—"],
        ["services", (x) => x.service_ids.map((id) => (ref.services.find((s) => s.id === id) || { prefix: "#" + id }).prefix).join(", ")]],
      fields: [{ k: "agency_id", label: "agency", type: "select", options: agencyOptions },
        { k: "name", required: true }, { k: "number", type: "int" }, { k: "zone" },
        { k: "service_ids", label: "services", type: "multi", options: (form) => {
          const agency = form ? Number(form.querySelector('[name="agency_id"]').value) : null;
          const site = agencySite(agency);
          return ref.services.filter((s) => !site || s.site_id === site).map((s) => ({ value: s.id, label: s.prefix + " · " + s.name }));
        } }],
      ref: ["agencies", "services"],
    },
    users: {
      url: "/api/v1/users", canCreate: true,
      cols: [["username", (x) => x.username], ["full_name", (x) => x.full_name || "—"],
        ["role", (x) => T("role_" + x.role)], ["agency", (x) => x.agency_id ? agencyName(x.agency_id) : (x.site_id ? siteName(x.site_id) : T("all"))]],
      fields: [{ k: "username", required: true, createOnly: true }, { k: "full_name" },
        { k: "role", type: "select", numeric: false, options: () => (IS_ADMIN ? ["officer", "manager", "admin"] : ["officer"]).map((r) => ({ value: r, label: T("role_" + r) })) },
        { k: "agency_id", label: "agency", type: "select", nullable: true, options: agencyOptions },
        { k: "site_id", label: "site_scope", type: "select", nullable: true, options: siteOptions, adminOnly: true },
        { k: "password", type: "password", createOnly: true, required: true }],
      ref: ["agencies"],
      extra: (item) => [el("button", { type: "button", class: "btn btn-small", text: T("reset_password"),
        dataset: { action: "reset-password" }, on: { click: () => openPasswordForm(item) } })],
    },
    boards: {
      url: "/api/v1/boards", list: "/api/v1/boards?include_inactive=true", canCreate: true,
      cols: [["name", (x) => x.name], ["site", (x) => siteName(x.site_id)], ["zone", (x) => x.zone || "—"],
        ["layout", (x) => T(x.layout)], ["url", (x) => x.url || "—"]],
      fields: [{ k: "site_id", label: "site", type: "select", options: siteOptions, createOnly: true },
        { k: "name", required: true }, { k: "zone" },
        { k: "agency_ids", label: "agencies", type: "multi", options: (form) => {
          const sel = form && form.querySelector('[name="site_id"]');
          const site = sel ? Number(sel.value) : null;
          return ref.agencies.filter((a) => a.is_active && (!site || a.site_id === site)).map((a) => ({ value: a.id, label: a.name }));
        } },
        { k: "layout", type: "select", numeric: false, options: [{ value: "landscape", label: T("landscape") }, { value: "portrait", label: T("portrait") }] },
        { k: "running_text", type: "textarea" }],
      ref: ["agencies"],
    },
  };

  const body = document.getElementById("admin-body");
  const tools = document.getElementById("admin-tools");
  let current = null;

  function statusCell(x) {
    return el("span", { class: "badge " + (x.is_active ? "on" : "off"), text: x.is_active ? T("active") : T("inactive") });
  }

  async function renderList(name) {
    const res = RESOURCES[name];
    await loadRef(res.ref || []);
    const r = await api("GET", res.list || res.url);
    if (!r.ok) { showPageError(r.error.message); return; }
    const showInactive = document.getElementById("show-inactive");
    const rows = r.data.filter((x) => !showInactive || showInactive.checked || x.is_active);
    const table = el("table", { class: "admin-table", id: "admin-table" },
      el("thead", {}, el("tr", {}, res.cols.map(([k]) => el("th", { text: T(k) })), el("th", { text: T("status") }), el("th", { text: T("actions") }))),
      el("tbody", {}, rows.length ? rows.map((x) => el("tr", { dataset: { id: x.id }, class: x.is_active ? "" : "inactive" },
        res.cols.map(([k, fn]) => el("td", { dataset: { col: k }, text: String(fn(x)) })),
        el("td", {}, statusCell(x)),
        el("td", { class: "row-actions" },
          el("button", { type: "button", class: "btn btn-small", text: T("edit"), dataset: { action: "edit" }, on: { click: () => openForm(name, x) } }),
          x.is_active
            ? el("button", { type: "button", class: "btn btn-small btn-danger", text: T("deactivate"), dataset: { action: "deactivate" }, on: { click: () => deactivate(name, x) } })
            : el("button", { type: "button", class: "btn btn-small", text: T("activate"), dataset: { action: "activate" }, on: { click: () => activate(name, x) } }),
          res.extra ? res.extra(x) : null)))
        : el("tr", {}, el("td", { colspan: res.cols.length + 2, class: "muted", text: T("empty") }))));
    const holder = document.getElementById("admin-list");
    holder.replaceChildren(table);
  }

  function formShell(title, onSubmit) {
    const form = el("form", { class: "admin-form card", id: "admin-form", novalidate: true },
      el("h2", { text: title }), el("p", { class: "alert form-error", role: "alert", hidden: true }));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); onSubmit(form); });
    return form;
  }

  function openForm(name, item) {
    const res = RESOURCES[name];
    const holder = document.getElementById("admin-form-holder");
    const form = formShell(item ? T("editing") + ": " + (item.name || item.username) : T("new_item"), (f) => save(name, item, f));
    const controls = {};
    for (const f of res.fields) {
      if (f.group) { form.append(el("h3", { text: T(f.group) })); continue; }
      if (item && f.createOnly) continue;
      if (f.adminOnly && !IS_ADMIN) continue;
      const value = item ? item[f.k] : f.default;
      const ctl = control(f, item ? value : (f.type === "int" ? undefined : value), item);
      controls[f.k] = ctl;
      form.append(fieldBox(f, ctl));
    }
    // Multi-selects depend on the chosen agency or site.
    for (const f of res.fields) {
      if (f.type === "multi" && controls[f.k]) {
        controls[f.k].render(form);
        form.querySelectorAll('[name="agency_id"], [name="site_id"]').forEach((s) => s.addEventListener("change", () => controls[f.k].render(form)));
      }
    }
    form.controls = controls;
    form.append(el("div", { class: "form-actions" },
      el("button", { type: "submit", class: "btn btn-primary", text: T("save") }),
      el("button", { type: "button", class: "btn", text: T("cancel"), on: { click: () => holder.replaceChildren() } })));
    holder.replaceChildren(form);
    const first = form.querySelector("input, select, textarea");
    if (first) first.focus();
  }

  function openPasswordForm(user) {
    const holder = document.getElementById("admin-form-holder");
    const f = { k: "password", label: "new_password", type: "password" };
    const ctl = control(f, "");
    const form = formShell(T("reset_password") + ": " + user.username, async (frm) => {
      const r = await api("PATCH", "/api/v1/users/" + user.id, { password: ctl.value });
      if (!r.ok) { showErrors(frm, r.error); return; }
      holder.replaceChildren();
      showOk(T("password_changed") + ": " + user.username);
    });
    form.append(fieldBox(f, ctl), el("div", { class: "form-actions" },
      el("button", { type: "submit", class: "btn btn-primary", text: T("save") }),
      el("button", { type: "button", class: "btn", text: T("cancel"), on: { click: () => holder.replaceChildren() } })));
    holder.replaceChildren(form);
    ctl.focus();
  }

  async function save(name, item, form) {
    const res = RESOURCES[name];
    const data = {};
    for (const f of res.fields) {
      const ctl = form.controls[f.k];
      if (!ctl) continue;
      const v = readValue(f, ctl);
      if (v === undefined) continue;
      if (item && JSON.stringify(item[f.k]) === JSON.stringify(v)) continue;
      data[f.k] = v;
    }
    const r = item ? await api("PATCH", res.url + "/" + item.id, data) : await api("POST", res.url, data);
    if (!r.ok) { showErrors(form, r.error); return; }
    document.getElementById("admin-form-holder").replaceChildren();
    const notes = (r.data.warnings || []).map((w) => (LANG === "en" ? w.message_en : w.message));
    showOk([T("saved") + ": " + (r.data.name || r.data.username || r.data.code), ...notes].join(" · "));
    if (notes.length) pageOk.classList.add("warn"); else pageOk.classList.remove("warn");
    await renderList(name);
    if (name === "services" && !item) await offerCounters(r.data);
  }

  // A new service no counter serves would take tickets nobody calls: offer the agency's counters.
  async function offerCounters(service) {
    const r = await api("GET", "/api/v1/counters?agency_id=" + service.agency_id);
    const holder = document.getElementById("admin-form-holder");
    const counters = r.ok ? r.data.filter((c) => c.is_active) : [];
    const boxes = counters.map((c) => {
      const cb = el("input", { type: "checkbox", value: c.id, name: "assign" });
      return el("label", { class: "check" }, cb, " ", T("counter_label", { number: c.number, name: c.name }));
    });
    const form = formShell(T("assign_title", { name: service.name }), async (frm) => {
      const chosen = new Set([...frm.querySelectorAll('input[name="assign"]:checked')].map((i) => Number(i.value)));
      for (const c of counters.filter((x) => chosen.has(x.id))) {
        const x = await api("PATCH", "/api/v1/counters/" + c.id, { service_ids: [...c.service_ids, service.id] });
        if (!x.ok) { showErrors(frm, x.error); return; }
      }
      holder.replaceChildren();
      showOk(chosen.size ? T("assigned", { name: service.name, n: chosen.size }) : T("not_assigned", { name: service.name }));
    });
    form.id = "assign-form";
    form.append(el("p", { text: counters.length ? T("assign_prompt") : T("assign_no_counters") }),
      el("div", { class: "multi" }, boxes),
      el("div", { class: "form-actions" },
        counters.length ? el("button", { type: "submit", class: "btn btn-primary", text: T("assign") }) : null,
        el("button", { type: "button", class: "btn", text: T("later"), on: { click: () => {
          holder.replaceChildren();
          showOk(T("not_assigned", { name: service.name }));
        } } })));
    holder.replaceChildren(form);
    form.scrollIntoView({ block: "nearest" });
  }

  async function deactivate(name, item) {
    if (!window.confirm(T("confirm_deactivate"))) return;
    const res = RESOURCES[name];
    const r = res.softDelete === "patch"
      ? await api("PATCH", res.url + "/" + item.id, { is_active: false })
      : await api("DELETE", res.url + "/" + item.id);
    if (!r.ok) { showPageError(r.error.message); return; }
    showOk(T("deactivated") + ": " + (item.name || item.username));
    await renderList(name);
  }

  async function activate(name, item) {
    const r = await api("PATCH", RESOURCES[name].url + "/" + item.id, { is_active: true });
    if (!r.ok) { showPageError(r.error.message); return; }
    showOk(T("saved") + ": " + (item.name || item.username));
    await renderList(name);
  }

  async function crudSection(name) {
    const res = RESOURCES[name];
    const inactive = el("input", { type: "checkbox", id: "show-inactive" });
    inactive.checked = true;
    inactive.addEventListener("change", () => renderList(name));
    tools.append(el("label", { class: "check" }, inactive, " ", T("show_inactive")));
    if (res.canCreate) {
      tools.append(el("button", { type: "button", class: "btn btn-primary", id: "add-btn", text: T("add"), on: { click: () => openForm(name, null) } }));
    }
    body.append(el("div", { id: "admin-form-holder" }), el("div", { id: "admin-list" }, T("loading")));
    await renderList(name);
  }

  // --- devices -----------------------------------------------------------------------------------
  async function devicesSection() {
    await loadRef(["boards", "agencies"]);
    const cr = await api("GET", "/api/v1/counters");
    ref.tabletCounters = cr.ok ? cr.data : [];
    const counters = ref.tabletCounters.filter((c) => c.is_active);
    body.append(el("div", { id: "admin-form-holder" }), el("div", { id: "issued" }), el("div", { id: "admin-list" }, T("loading")));
    const f = { site: { k: "site_id", label: "site", type: "select", options: siteOptions },
      kind: { k: "kind", type: "select", numeric: false, options: [{ value: "kiosk", label: T("kiosk") }, { value: "display", label: T("display") }, { value: "tablet", label: T("tablet") }] },
      name: { k: "name", required: true },
      counter: { k: "counter_id", label: "counter_of_tablet", type: "select", options: () => counters.map((c) => ({ value: c.id, label: agencyName(c.agency_id) + " · " + c.name })) },
      board: { k: "board_id", label: "board", type: "select", nullable: true, options: () => ref.boards.filter((b) => b.is_active).map((b) => ({ value: b.id, label: b.name + " · " + siteName(b.site_id) })) } };
    const ctls = { site: control(f.site), kind: control(f.kind), name: control(f.name), board: control(f.board) };
    ctls.counter = control(f.counter);
    const form = formShell(T("issue"), async (frm) => {
      const data = { site_id: Number(ctls.site.value), kind: ctls.kind.value, name: ctls.name.value.trim(),
        board_id: ctls.kind.value === "display" && ctls.board.value ? Number(ctls.board.value) : null,
        counter_id: ctls.kind.value === "tablet" && ctls.counter.value ? Number(ctls.counter.value) : null };
      const r = await api("POST", "/api/v1/devices", data);
      if (!r.ok) { showErrors(frm, r.error); return; }
      ctls.name.value = "";
      clearErrors(frm);
      const link = el("a", { href: r.data.url, id: "issued-url", target: "_blank", rel: "noopener", text: r.data.url });
      document.getElementById("issued").replaceChildren(el("div", { class: "card issued", role: "status" },
        el("p", { text: T("token_once") }), el("p", { class: "issued-url" }, link),
        el("p", {}, T("token") + ": ", el("code", { id: "issued-token", text: r.data.token }))));
      await listDevices();
    });
    const boardBox = fieldBox(f.board, ctls.board);
    const counterBox = fieldBox(f.counter, ctls.counter);
    const syncBoard = () => { boardBox.hidden = ctls.kind.value !== "display"; counterBox.hidden = ctls.kind.value !== "tablet"; };
    ctls.kind.addEventListener("change", syncBoard);
    form.append(fieldBox(f.site, ctls.site), fieldBox(f.kind, ctls.kind), fieldBox(f.name, ctls.name), boardBox, counterBox,
      el("div", { class: "form-actions" }, el("button", { type: "submit", class: "btn btn-primary", text: T("issue") })));
    syncBoard();
    document.getElementById("admin-form-holder").replaceChildren(form);
    await listDevices();
  }

  async function listDevices() {
    const counterName = (id) => ((ref.tabletCounters || []).find((c) => c.id === id) || { name: "#" + id }).name;
    const r = await api("GET", "/api/v1/devices");
    if (!r.ok) { showPageError(r.error.message); return; }
    const fmt = (v) => v ? new Date(v).toLocaleString(LANG === "en" ? "en-GB" : "id-ID") : "—";
    const boardName = (id) => id ? ((ref.boards.find((b) => b.id === id) || { name: "#" + id }).name) : "—";
    const table = el("table", { class: "admin-table", id: "admin-table" },
      el("thead", {}, el("tr", {}, ["name", "kind", "site", "board", "created", "last_seen", "status", "actions"].map((k) => el("th", { text: T(k) })))),
      el("tbody", {}, r.data.length ? r.data.map((d) => el("tr", { dataset: { id: d.id }, class: d.is_active ? "" : "inactive" },
        el("td", { dataset: { col: "name" }, text: d.name }), el("td", { text: T(d.kind) }), el("td", { text: siteName(d.site_id) }),
        el("td", { text: d.counter_id ? counterName(d.counter_id) : boardName(d.board_id) }), el("td", { text: fmt(d.created_at) }), el("td", { text: fmt(d.last_seen_at) }),
        el("td", {}, statusCell(d)),
        el("td", { class: "row-actions" }, d.is_active ? el("button", { type: "button", class: "btn btn-small btn-danger", text: T("revoke"), dataset: { action: "revoke" },
          on: { click: async () => {
            if (!window.confirm(T("confirm_revoke"))) return;
            const x = await api("POST", "/api/v1/devices/" + d.id + "/revoke");
            if (!x.ok) { showPageError(x.error.message); return; }
            showOk(T("deactivated") + ": " + d.name);
            await listDevices();
          } } }) : null)))
        : el("tr", {}, el("td", { colspan: 8, class: "muted", text: T("empty") }))));
    document.getElementById("admin-list").replaceChildren(table);
  }

  // --- holidays and special hours -----------------------------------------------------------------
  async function holidaysSection() {
    const siteSel = control({ k: "site_pick", type: "select", options: siteOptions });
    siteSel.id = "site-pick";
    tools.append(el("label", { for: "site-pick" }, T("site") + " "), siteSel);
    body.append(el("div", { id: "admin-form-holder" }), el("div", { id: "admin-list" }, T("loading")));
    const f = { day: { k: "day", type: "date" }, ranges: { k: "ranges", label: "special_hours", type: "ranges" }, note: { k: "note" } };
    function open(item) {
      const ctls = { day: control(f.day, item ? item.day : ""), ranges: control(f.ranges, item ? item.ranges : []), note: control(f.note, item ? item.note : "") };
      const form = formShell(item ? T("editing") + ": " + item.day : T("new_item"), async (frm) => {
        const data = { day: ctls.day.value || null, ranges: ctls.ranges.getValue(), note: ctls.note.value.trim() || null };
        const r = await api("POST", "/api/v1/sites/" + siteSel.value + "/special-days", data);
        if (!r.ok) { showErrors(frm, r.error); return; }
        document.getElementById("admin-form-holder").replaceChildren();
        showOk(T("saved") + ": " + r.data.day);
        await list();
      });
      form.append(fieldBox(f.day, ctls.day), fieldBox(f.ranges, ctls.ranges), fieldBox(f.note, ctls.note),
        el("div", { class: "form-actions" }, el("button", { type: "submit", class: "btn btn-primary", text: T("save") }),
          el("button", { type: "button", class: "btn", text: T("cancel"), on: { click: () => document.getElementById("admin-form-holder").replaceChildren() } })));
      document.getElementById("admin-form-holder").replaceChildren(form);
      ctls.day.focus();
    }
    async function list() {
      const r = await api("GET", "/api/v1/sites/" + siteSel.value + "/special-days");
      if (!r.ok) { showPageError(r.error.message); return; }
      const table = el("table", { class: "admin-table", id: "admin-table" },
        el("thead", {}, el("tr", {}, ["day", "kind", "ranges", "note", "actions"].map((k) => el("th", { text: T(k) })))),
        el("tbody", {}, r.data.length ? r.data.map((d) => el("tr", { dataset: { day: d.day, kind: d.kind || "manual" } },
          el("td", { text: d.day }), el("td", { dataset: { col: "kind" }, text: T("kind_" + (d.kind || "manual")) }),
          el("td", { dataset: { col: "ranges" }, text: d.closed ? T("closed_all_day") : d.ranges.map((x) => x.join("–")).join(", ") }),
          el("td", { text: d.note || "—" }),
          el("td", { class: "row-actions" },
            el("button", { type: "button", class: "btn btn-small", text: T("edit"), dataset: { action: "edit" }, on: { click: () => open(d) } }),
            el("button", { type: "button", class: "btn btn-small btn-danger", text: T("delete"), dataset: { action: "delete" }, on: { click: async () => {
              const x = await api("DELETE", "/api/v1/sites/" + siteSel.value + "/special-days/" + d.day);
              if (!x.ok) { showPageError(x.error.message); return; }
              showOk(T("deleted") + ": " + d.day);
              await list();
            } } }))))
          : el("tr", {}, el("td", { colspan: 5, class: "muted", text: T("empty") }))));
      document.getElementById("admin-list").replaceChildren(table);
    }
    siteSel.addEventListener("change", list);
    // National holidays and cuti bersama from the holidays package; dates already set stay.
    const prefill = (year, id) => el("button", { type: "button", class: "btn", id, text: T("prefill", { year }),
      on: { click: async () => {
        const x = await api("POST", "/api/v1/sites/" + siteSel.value + "/special-days/prefill?year=" + year);
        if (!x.ok) { showPageError(x.error.message); return; }
        showOk(T("prefilled", x.data));
        await list();
      } } });
    const thisYear = new Date().getFullYear();
    tools.append(prefill(thisYear, "prefill-this"), prefill(thisYear + 1, "prefill-next"));
    tools.append(el("button", { type: "button", class: "btn btn-primary", id: "add-btn", text: T("add"), on: { click: () => open(null) } }));
    await list();
  }

  // --- audit log ---------------------------------------------------------------------------------
  async function auditSection() {
    const facets = await api("GET", "/api/v1/audit/facets");
    const opts = (xs, labels) => [el("option", { value: "", text: T("all") }),
      ...(xs || []).map((x) => el("option", { value: x, text: (labels || {})[x] || x }))];
    const user = el("input", { id: "q-user", name: "user", type: "text" });
    const entity = el("select", { id: "q-entity", name: "entity" }, opts(facets.ok ? facets.data.entities : [], facets.ok && facets.data.entity_labels));
    const action = el("select", { id: "q-action", name: "action" }, opts(facets.ok ? facets.data.actions : [], facets.ok && facets.data.action_labels));
    const from = el("input", { id: "q-from", name: "from", type: "date" });
    const to = el("input", { id: "q-to", name: "to", type: "date" });
    const form = el("form", { class: "audit-filter card", id: "audit-filter" },
      ...[["user", user], ["entity", entity], ["action", action], ["from", from], ["to", to]].map(([k, c]) =>
        el("div", { class: "field", dataset: { field: k } }, el("label", { for: c.id, text: T(k) }), c, el("p", { class: "field-error", role: "alert" }))),
      el("div", { class: "form-actions" }, el("button", { type: "submit", class: "btn btn-primary", text: T("filter") })),
      el("p", { class: "alert form-error", role: "alert", hidden: true }));
    const list = el("div", { id: "admin-list" });
    const pager = el("div", { class: "pager", id: "pager" });
    body.append(form, list, pager);
    let offset = 0;
    const LIMIT = 50;
    async function load() {
      const q = new URLSearchParams({ limit: LIMIT, offset });
      for (const [k, c] of [["user", user], ["entity", entity], ["action", action], ["from", from], ["to", to]]) if (c.value) q.set(k, c.value);
      const r = await api("GET", "/api/v1/audit?" + q.toString());
      if (!r.ok) { showErrors(form, r.error); return; }
      clearErrors(form);
      const fmt = (v) => new Date(v).toLocaleString(LANG === "en" ? "en-GB" : "id-ID");
      list.replaceChildren(el("table", { class: "admin-table audit-table", id: "admin-table" },
        el("thead", {}, el("tr", {}, ["when", "who", "action", "changes", "ip"].map((k) => el("th", { text: T(k) })))),
        el("tbody", {}, r.data.items.length ? r.data.items.map((a) => el("tr", { dataset: { id: a.id, action: a.action, entity: a.entity } },
          el("td", { text: fmt(a.at) }), el("td", { dataset: { col: "who" }, text: a.username || "—" }),
          el("td", { dataset: { col: "action" }, text: a.summary || a.action }),
          el("td", { class: "changes", dataset: { col: "changes" } },
            (a.details || []).length ? el("ul", {}, a.details.map((d) => el("li", { text: d }))) : ""),
          el("td", { text: a.ip || "" })))
          : el("tr", {}, el("td", { colspan: 5, class: "muted", text: T("empty") })))));
      pager.replaceChildren(
        el("button", { type: "button", class: "btn btn-small", text: T("prev"), disabled: offset === 0, on: { click: () => { offset = Math.max(0, offset - LIMIT); load(); } } }),
        el("span", { class: "muted", text: " " + (r.data.total ? offset + 1 : 0) + "–" + Math.min(offset + LIMIT, r.data.total) + " " + T("of") + " " + r.data.total + " " }),
        el("button", { type: "button", class: "btn btn-small", text: T("next"), disabled: offset + LIMIT >= r.data.total, on: { click: () => { offset += LIMIT; load(); } } }));
    }
    form.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; load(); });
    await load();
  }

  // --- settings --------------------------------------------------------------------------------
  async function settingsSection() {
    const form = document.getElementById("retention-form");
    const input = document.getElementById("f-days");
    const last = document.getElementById("purge-last");
    const r = await api("GET", "/api/v1/admin/retention");
    const showLast = (run) => { last.textContent = run ? T("last_run") + ": " + new Date(run.at).toLocaleString(LANG === "en" ? "en-GB" : "id-ID") + " · " + T("purged", run) : ""; };
    if (r.ok) { input.value = r.data.days; showLast(r.data.last_run); }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      const x = await api("PUT", "/api/v1/admin/retention", { days: v === "" ? null : Number(v) });
      if (!x.ok) { showErrors(form, x.error); return; }
      clearErrors(form);
      showOk(T("retention_saved") + ": " + x.data.days);
    });
    document.getElementById("purge-now").addEventListener("click", async () => {
      const x = await api("POST", "/api/v1/admin/purge");
      if (!x.ok) { showPageError(x.error.message); return; }
      showOk(T("purged", x.data));
      showLast({ at: new Date().toISOString(), ...x.data });
    });
  }

  const run = { devices: devicesSection, holidays: holidaysSection, audit: auditSection, settings: settingsSection };
  (run[SECTION] || (() => crudSection(SECTION)))().catch((e) => showPageError(String(e)));
})();
