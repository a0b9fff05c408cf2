/* Counter tablet: poll for the ticket just finished at this counter and offer its survey. */
"use strict";
(function () {
  const { api } = window.MPP;
  const root = document.getElementById("tablet");
  const counterId = root.dataset.counter;
  const form = document.getElementById("tablet-form");
  const idle = document.getElementById("tablet-idle");
  const thanks = document.getElementById("tablet-thanks");
  const errorBox = document.getElementById("tablet-error");
  let current = null; // {id, tracking_code, ...} of the ticket whose survey is shown
  let done = new Set(); // tickets answered or skipped on this tablet
  let thanksUntil = 0;

  function show(which) {
    idle.hidden = which !== "idle";
    form.hidden = which !== "form";
    thanks.hidden = which !== "thanks";
  }

  async function poll() {
    try {
      const data = await api("GET", "/api/v1/surveys/pending?counter_id=" + encodeURIComponent(counterId));
      const t = data.ticket;
      if (Date.now() < thanksUntil) return;
      if (t && !done.has(t.id)) {
        if (!current || current.id !== t.id) {
          current = t;
          form.reset();
          errorBox.hidden = true;
          document.getElementById("tablet-number").textContent = t.number;
          document.getElementById("tablet-service").textContent = t.service;
        }
        show("form");
      } else if (!t || done.has(t.id)) {
        current = null;
        show("idle");
      }
    } catch (e) {
      /* keep the current screen; the next poll retries */
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const answers = [];
    for (let i = 1; i <= 9; i++) {
      const checked = form.querySelector('input[name="u' + i + '"]:checked');
      answers.push(checked ? parseInt(checked.value, 10) : null);
    }
    try {
      await api("POST", "/api/v1/surveys", {
        tracking_code: current.tracking_code, answers, comment: form.comment.value || null,
      });
      done.add(current.id);
      current = null;
      thanksUntil = Date.now() + 6000;
      show("thanks");
      setTimeout(poll, 6100);
    } catch (e) {
      errorBox.textContent = e.message;
      errorBox.hidden = false;
    }
  });

  show("idle");
  poll();
  setInterval(poll, 3000);
})();
