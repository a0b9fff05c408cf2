/* IKM page: print button and the admin's weights form (PUT /api/v1/stats/settings/ikm-weights). */
"use strict";
(function () {
  const { api } = window.MPP;
  const printBtn = document.getElementById("print-btn");
  if (printBtn) printBtn.addEventListener("click", () => window.print());
  const form = document.getElementById("weights-form");
  const status = document.getElementById("weights-status");

  async function save(weights) {
    try {
      await api("PUT", "/api/v1/stats/settings/ikm-weights", { weights });
      location.reload();
    } catch (e) {
      status.textContent = e.message;
      status.className = "alert";
    }
  }

  if (form) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const weights = [];
      for (let i = 0; i < 9; i++) weights.push(form["w" + i].value.trim().replace(",", "."));
      save(weights);
    });
    const reset = document.getElementById("weights-reset");
    if (reset) reset.addEventListener("click", () => save(null));
  }
})();
