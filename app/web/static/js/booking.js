// Public online booking: agency -> service -> date and slot -> (contact + consent) -> code + QR.
// Every piece of data goes into the DOM with textContent, never innerHTML.
(function () {
  "use strict";

  const CFG = JSON.parse(document.getElementById("booking-config").textContent);
  const T = CFG.strings;
  const LOCALE = CFG.lang === "en" ? "en-GB" : "id-ID";
  const $ = (id) => document.getElementById(id);
  const fmt = (s, vals) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? String(vals[k]) : m));
  const state = { site: null, agencies: [], agency: null, service: null, day: null, slot: null,
                  booking: null, otpId: null };
  // API field -> the input it belongs to (its message goes in "<input id>-error").
  const FIELDS = { name: "name", phone: "phone", consent: "consent", otp_code: "otp-code",
                   otp_id: "otp-code" };

  const el = MPP.text;

  // Refusals come back as MPP.ApiError with the field they belong to (shown next to it).
  function api(method, path, body) {
    return MPP.request(method, path, { body, lang: CFG.lang, networkMessage: T.network_error,
                                       errorMessage: T.network_error });
  }

  function showError(msg) {
    const box = $("error");
    box.textContent = msg || "";
    box.hidden = !msg;
    if (msg) box.scrollIntoView({ block: "nearest" });
  }

  function show(step) {
    for (const s of ["agency", "service", "slot", "form", "done"]) {
      $("step-" + s).hidden = s !== step;
    }
    if (step === "agency" && !state.agencies.length) $("step-agency").hidden = true;
    showError("");
  }

  // --- errors beside their fields, in plain words ------------------------------------------
  function clearFieldErrors() {
    for (const id of ["name", "phone", "consent", "otp-code"]) setFieldError(id, "");
    const box = $("form-error");
    box.textContent = "";
    box.hidden = true;
  }

  function setFieldError(id, msg) {
    const out = $(id + "-error");
    out.textContent = msg || "";
    out.hidden = !msg;
    if (msg) $(id).setAttribute("aria-invalid", "true");
    else $(id).removeAttribute("aria-invalid");
  }

  function formError(msg) {
    const box = $("form-error");
    box.textContent = msg || "";
    box.hidden = !msg;
  }

  function plainMessage(field, err) {
    if (field === "phone") return $("phone").value.trim() ? T.err_phone : T.err_phone_required;
    const own = T["err_" + field];
    if (own) return own;
    const reason = err && err.reason ? String(err.reason) : "";
    return reason ? reason.charAt(0).toUpperCase() + reason.slice(1) : T.check_input;
  }

  // Returns true when the error was put beside a field of the form.
  function showApiError(err) {
    const id = err.field && FIELDS[err.field];
    if (id && !$(id).closest("[hidden]")) {
      setFieldError(id, plainMessage(err.field, err));
      $(id).focus();
      formError(T.fix_fields);
      return true;
    }
    formError(err.code === "validation_error" ? T.check_input : err.message);
    return false;
  }

  const zone = () => (state.site ? state.site.timezone : undefined);
  function timeOf(iso) {
    return new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", hour12: false,
                                             timeZone: zone() }).format(new Date(iso));
  }
  function dayLabel(isoDay, long) {
    const d = new Date(isoDay + "T12:00:00Z");
    const opts = long ? { weekday: "long", day: "numeric", month: "long", year: "numeric" }
                      : { weekday: "short", day: "numeric", month: "short" };
    return new Intl.DateTimeFormat(LOCALE, Object.assign(opts, { timeZone: "UTC" })).format(d);
  }
  function addDays(isoDay, n) {
    const d = new Date(isoDay + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  // --- steps --------------------------------------------------------------------------------
  async function loadCatalog() {
    const q = CFG.site_code ? "?site_code=" + encodeURIComponent(CFG.site_code) : "";
    const data = await api("GET", "/api/v1/booking/catalog" + q);
    state.site = data.site;
    state.agencies = data.agencies;
    $("site-name").textContent = "· " + data.site.name;
    const box = $("agencies");
    box.replaceChildren();
    // Nothing to book: say so, instead of a heading with nothing under it.
    $("empty").hidden = data.agencies.length > 0;
    $("step-agency").hidden = data.agencies.length === 0;
    for (const a of data.agencies) {
      const b = el("button", "bk-item");
      b.type = "button";
      b.append(el("span", "bk-strong", a.name));
      b.append(el("span", "muted", a.services.map((s) => s.name).join(", ")));
      b.addEventListener("click", () => chooseAgency(a));
      box.append(b);
    }
  }

  function chooseAgency(a) {
    state.agency = a;
    const box = $("services");
    box.replaceChildren();
    for (const s of a.services) {
      const b = el("button", "bk-item");
      b.type = "button";
      b.append(el("span", "bk-strong", s.name));
      b.append(el("span", "muted", (T.fee + ": " + (s.fee || T.none))));
      b.addEventListener("click", () => chooseService(s));
      box.append(b);
    }
    show("service");
  }

  function chooseService(s) {
    state.service = s;
    const info = $("service-info");
    info.replaceChildren(el("div", "bk-strong", s.name));
    // The six public components of the standar pelayanan (PermenPANRB 15/2014).
    for (const [label, value] of [[T.requirements, s.requirements], [T.procedure, s.procedure],
                                  [T.completion, s.completion_time], [T.fee, s.fee],
                                  [T.product, s.product], [T.complaints, s.complaints]]) {
      const row = el("div", "bk-fact");
      row.append(el("span", "muted", label + ": "), el("span", null, value || T.none));
      info.append(row);
    }
    const more = el("a", "bk-service-page", T.service_page);
    more.href = "/layanan/" + s.id;
    info.append(more);
    const dates = $("dates");
    dates.replaceChildren();
    let day = s.first_day;
    while (day <= s.last_day) {
      const d = day;
      const b = el("button", "bk-date", dayLabel(d, false));
      b.type = "button";
      b.dataset.day = d;
      b.addEventListener("click", () => chooseDay(d));
      dates.append(b);
      day = addDays(day, 1);
    }
    show("slot");
    chooseDay(s.first_day);
  }

  async function chooseDay(day) {
    state.day = day;
    for (const b of $("dates").children) b.setAttribute("aria-pressed", String(b.dataset.day === day));
    const box = $("slots");
    box.replaceChildren();
    $("day-note").textContent = "";
    let data;
    try {
      data = await api("GET", `/api/v1/booking/slots?service_id=${state.service.id}&date=${day}`);
    } catch (e) {
      showError(e.message);
      return;
    }
    if (data.closed) {
      $("day-note").textContent = T.closed_day + (data.note ? " (" + data.note + ")" : "");
      return;
    }
    // Slots that have already started are of no use to anyone: leave them out.
    const slots = data.slots.filter((s) => !s.past);
    if (!slots.some((s) => s.available)) $("day-note").textContent = T.no_slots;
    for (const s of slots) {
      const b = el("button", "bk-slot");
      b.type = "button";
      b.append(el("span", "bk-strong", timeOf(s.start)));
      b.append(el("span", "bk-left", s.left > 0 ? fmt(T.slots_left, { n: s.left }) : T.slot_full));
      b.disabled = !s.available;
      b.dataset.start = s.start;
      b.addEventListener("click", () => chooseSlot(s));
      box.append(b);
    }
  }

  function chooseSlot(slot) {
    state.slot = slot;
    $("chosen").textContent = `${state.service.name} · ${dayLabel(state.day, true)} · ` +
      `${timeOf(slot.start)}–${timeOf(slot.end)}`;
    const s = state.service;
    const needsPhone = s.requires_contact || s.requires_phone_otp;
    $("name-field").hidden = !s.requires_contact;
    $("phone-legend").textContent = s.requires_contact ? T.legend_contact
      : (s.requires_phone_otp ? T.legend_phone_required : T.legend_phone_optional);
    $("phone-hint").textContent = needsPhone ? T.hint_phone_required : T.hint_phone_optional;
    $("consent-text").textContent = s.requires_contact ? CFG.consent_contact : CFG.consent_optin;
    $("otp").hidden = !s.requires_phone_otp;
    $("otp-sent").textContent = "";
    state.otpId = null;
    clearFieldErrors();
    show("form");
  }

  // What the form says before anything is sent (saves the citizen a round trip and a try
  // counted against the booking limits).
  function checkContact(forCode) {
    const s = state.service;
    let ok = true;
    if (!forCode && s.requires_contact && !$("name").value.trim()) {
      setFieldError("name", T.err_name);
      ok = false;
    }
    const phone = $("phone").value.trim();
    if (!phone && (forCode || s.requires_contact || s.requires_phone_otp)) {
      setFieldError("phone", T.err_phone_required);
      ok = false;
    }
    if (phone && !$("consent").checked) {
      setFieldError("consent", T.err_consent);
      ok = false;
    }
    return ok;
  }

  async function sendCode() {
    clearFieldErrors();
    if (!checkContact(true)) { formError(T.fix_fields); return; }
    $("otp-send").disabled = true;
    try {
      const r = await api("POST", "/api/v1/otp", { phone: $("phone").value.trim(), consent: true,
                                                 lang: CFG.lang });
      state.otpId = r.otp_id;
      $("otp-sent").textContent = T.otp_sent;
      $("otp-code").focus();
    } catch (e) {
      showApiError(e);
    } finally {
      $("otp-send").disabled = false;
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    clearFieldErrors();
    if (!state.slot) { formError(T.choose_slot); return; }
    const s = state.service;
    if (!checkContact(false)) { formError(T.fix_fields); return; }
    if (s.requires_phone_otp && (!state.otpId || !$("otp-code").value.trim())) {
      setFieldError("otp-code", T.err_otp_missing);
      formError(T.fix_fields);
      return;
    }
    const body = { service_id: s.id, slot_start: state.slot.start, lang: CFG.lang };
    if (s.requires_contact) body.name = $("name").value.trim();
    const phone = $("phone").value.trim();
    if (phone) {
      body.contact = { phone, consent: $("consent").checked };
      if (s.requires_phone_otp) {
        body.contact.otp_id = state.otpId;
        body.contact.otp_code = $("otp-code").value.trim();
      }
    }
    $("submit").disabled = true;
    try {
      showBooking(await api("POST", "/api/v1/bookings", body));
    } catch (e) {
      showApiError(e);
      if (e.code === "slot_full" || e.code === "booking_quota_exhausted") chooseDay(state.day);
    } finally {
      $("submit").disabled = false;
    }
  }

  function showBooking(b) {
    state.booking = b;
    if (!state.site) state.site = b.site;
    show("done");
    $("done-title").textContent = T.booked_title;
    $("code").textContent = b.code_display;
    $("qr").src = b.qr_svg_url;
    $("status").textContent = T["status_" + b.status] || b.status;
    $("status").dataset.status = b.status;
    $("result-service").textContent = `${b.agency.name} · ${b.service.name}`;
    $("result-when").textContent = `${dayLabel(b.day, true)} · ${timeOf(b.slot_start)}–${timeOf(b.slot_end)}`;
    $("result-window").textContent = fmt(T.checkin_window, { from: timeOf(b.checkin_opens),
                                                             to: timeOf(b.checkin_closes) });
    $("cancel").hidden = b.status !== "booked";
    const url = new URL(window.location.href);
    url.searchParams.set("code", b.code);
    history.replaceState(null, "", url.pathname + url.search);
  }

  async function cancel() {
    if (!state.booking || !window.confirm(T.cancel_confirm)) return;
    try {
      showBooking(await api("POST", `/api/v1/bookings/${encodeURIComponent(state.booking.code)}/cancel`));
      showError("");
      $("done-title").textContent = T.cancelled;
    } catch (e) {
      showError(e.message);
    }
  }

  async function lookup(code) {
    const clean = (code || "").replace(/[^A-Za-z0-9]/g, "");
    if (!clean) return;
    try {
      const b = await api("GET", `/api/v1/bookings/${encodeURIComponent(clean)}`);
      showBooking(b);
      $("done-title").textContent = T["status_" + b.status] || b.status;
    } catch (e) {
      showError(e.message);
    }
  }

  for (const b of document.querySelectorAll("[data-back]")) {
    b.addEventListener("click", () => show(b.dataset.back));
  }
  $("book-form").addEventListener("submit", submit);
  $("otp-send").addEventListener("click", sendCode);
  // A code belongs to one number: another number needs a new code.
  $("phone").addEventListener("input", () => { state.otpId = null; $("otp-sent").textContent = ""; });
  $("cancel").addEventListener("click", cancel);
  $("lookup-form").addEventListener("submit", (ev) => { ev.preventDefault(); lookup($("lookup-code").value); });

  loadCatalog().catch((e) => showError(e.message)).then(() => { if (CFG.code) lookup(CFG.code); });
})();
