/* IKM page: a manager types paper questionnaires (one line each) and they join the report. */
"use strict";
(function () {
  const form = document.getElementById("paper-form");
  if (!form) return;
  const { api, fmt } = window.MPP;
  const S = JSON.parse(document.getElementById("paper-i18n").textContent);
  const status = document.getElementById("paper-status");

  // "4 3 3 4 3 4 4 3 3 ; comment" or "433434433;comment" -> {answers, comment}; null if bad.
  function parse(line) {
    const [scores, ...rest] = line.split(";");
    const digits = scores.replace(/[\s,]+/g, "");
    if (!/^[1-4]{9}$/.test(digits)) return null;
    const comment = rest.join(";").trim();
    return { answers: [...digits].map(Number), comment: comment || null };
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.className = "";
    const lines = form.lines.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (!lines.length) { status.textContent = S.empty; status.className = "error"; return; }
    const responses = [];
    for (let i = 0; i < lines.length; i++) {
      const r = parse(lines[i]);
      if (!r) { status.textContent = fmt(S.bad_line, { n: i + 1 }); status.className = "error"; return; }
      responses.push(r);
    }
    try {
      const out = await api("POST", "/api/v1/surveys/paper", {
        service_id: Number(form.service_id.value), day: form.day.value,
        source: form.source.value, responses });
      status.textContent = fmt(S.stored, { n: out.stored });
      status.className = "ok";
      form.lines.value = "";
      // The report below is rendered on the server: show it with the new answers.
      setTimeout(() => window.location.reload(), 600);
    } catch (e) {
      status.textContent = e.message;
      status.className = "error";
    }
  });
})();
