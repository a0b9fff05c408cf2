/* /admin/integrasi: webhook subscriptions (with their delivery log) and partner API keys. */
"use strict";
(function () {
  const { api, el, T } = window.MPP;
  const $ = (id) => document.getElementById(id);
  const checked = (form, name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

  function button(label, onClick, cls) {
    const b = el("button", { type: "button", class: "btn " + (cls || ""), text: label });
    b.addEventListener("click", onClick);
    return b;
  }

  async function loadHooks() {
    const body = $("wh-table").querySelector("tbody");
    body.replaceChildren();
    for (const h of await api("GET", "/api/v1/webhooks")) {
      const status = h.disabled_at ? T.disabled : (h.is_active ? T.active : T.off);
      const on = !h.is_active || h.disabled_at;
      body.appendChild(el("tr", { "data-id": h.id },
        el("td", { text: h.url }), el("td", { text: h.events.join(", ") }),
        el("td", { class: "wh-status", text: status }), el("td", { text: when(h.last_success_at) }),
        el("td", { text: when(h.failing_since) }),
        el("td", {},
          button(T.log, () => loadLog(h)),
          button(on ? T.enable : T.disable, async () => {
            await api("PATCH", `/api/v1/webhooks/${h.id}`, { is_active: !!on });
            loadHooks();
          }),
          button(T.delete, async () => { await api("DELETE", `/api/v1/webhooks/${h.id}`); loadHooks(); }, "btn-danger"))));
    }
  }

  async function loadLog(hook) {
    $("wh-log").hidden = false;
    $("wh-log-title").textContent = hook.url;
    const body = $("wh-log-table").querySelector("tbody");
    body.replaceChildren();
    for (const d of await api("GET", `/api/v1/webhooks/${hook.id}/deliveries`)) {
      body.appendChild(el("tr", { "data-id": d.id, "data-status": d.status },
        el("td", { text: d.event }), el("td", {}, el("code", { text: d.webhook_id })),
        el("td", { text: d.status }), el("td", { text: String(d.attempts) }),
        el("td", { text: d.last_status_code === null ? "—" : String(d.last_status_code) }),
        el("td", { text: d.last_response_ms === null ? "—" : String(d.last_response_ms) }),
        el("td", { text: d.last_error || "" }),
        el("td", {}, button(T.redeliver, async (e) => {
          await api("POST", `/api/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`);
          e.target.textContent = T.sent;
          e.target.disabled = true;
        }))));
    }
  }

  $("wh-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const made = await api("POST", "/api/v1/webhooks", {
        site_id: Number(f.site_id.value), url: f.url.value, events: checked(f, "events") });
      $("wh-secret-value").textContent = made.secret;
      $("wh-secret").hidden = false;
      $("wh-msg").textContent = "";
      f.reset();
      loadHooks();
    } catch (err) { $("wh-msg").textContent = err.message; }
  });

  async function loadKeys() {
    const body = $("pk-table").querySelector("tbody");
    body.replaceChildren();
    for (const k of await api("GET", "/api/v1/partner-keys")) {
      body.appendChild(el("tr", { "data-id": k.id },
        el("td", { text: k.name }), el("td", {}, el("code", { text: k.key_prefix + "…" })),
        el("td", { text: k.scopes.join(", ") + (k.service_ids.length ? ` (${k.service_ids.length})` : "") }),
        el("td", { text: String(k.rate_per_minute) }), el("td", { text: String(k.used_this_minute) }),
        el("td", { text: when(k.last_used_at) + (k.last_used_ip ? ` · ${k.last_used_ip}` : "") }),
        el("td", { class: "pk-uses", text: String(k.use_count) }),
        el("td", { class: "pk-status", text: k.is_active ? T.active : T.revoked }),
        el("td", {}, k.is_active ? button(T.revoke, async () => {
          await api("DELETE", `/api/v1/partner-keys/${k.id}`); loadKeys();
        }, "btn-danger") : null)));
    }
  }

  $("pk-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const made = await api("POST", "/api/v1/partner-keys", {
        site_id: Number(f.site_id.value), name: f.name.value, scopes: checked(f, "scopes"),
        rate_per_minute: Number(f.rate_per_minute.value),
        service_ids: [...f.service_ids.selectedOptions].map((o) => Number(o.value)) });
      $("pk-secret-value").textContent = made.key;
      $("pk-secret").hidden = false;
      $("pk-msg").textContent = "";
      f.reset();
      loadKeys();
    } catch (err) { $("pk-msg").textContent = err.message; }
  });

  loadHooks();
  loadKeys();
})();
