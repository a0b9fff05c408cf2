/* The follow-up register's staff page: add an action, change its status, remove it. */
"use strict";
(function () {
  const { api } = window.MPP;
  const form = document.getElementById("fu-form");
  const msg = document.getElementById("fu-msg");
  const URL = "/api/v1/skm/follow-ups";

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    const body = {
      agency_id: Number(data.agency_id), service_id: data.service_id ? Number(data.service_id) : null,
      period_from: data.period_from, period_to: data.period_to, unsur: data.unsur,
      nrr: data.nrr ? Number(data.nrr) : null, action: data.action, owner: data.owner,
      due_date: data.due_date, status: data.status,
    };
    try {
      await api("POST", URL, body);
      window.location.reload();
    } catch (err) {
      msg.textContent = err.message;
    }
  });

  document.getElementById("fu-table").addEventListener("change", async (e) => {
    if (!e.target.classList.contains("fu-status")) return;
    const id = e.target.closest("tr").dataset.id;
    try { await api("PATCH", `${URL}/${id}`, { status: e.target.value }); msg.textContent = ""; }
    catch (err) { msg.textContent = err.message; }
  });

  document.getElementById("fu-table").addEventListener("click", async (e) => {
    if (!e.target.classList.contains("fu-delete")) return;
    const row = e.target.closest("tr");
    try { await api("DELETE", `${URL}/${row.dataset.id}`); row.remove(); }
    catch (err) { msg.textContent = err.message; }
  });
})();
