// Kiosk: the optional phone for WhatsApp/SMS notifications, asked after the service (issue 20).
// "Lewati" (skip) is the large default; a number needs the consent box (UU 27/2022, the same
// sentence and consent record as every phone field). A service that asks for a confirmed phone
// has no skip: the kiosk sends a one-time code (POST /api/v1/otp) and asks for it. The number
// is kept only until the ticket is issued, and shown masked afterwards, never printed.
// kiosk.js calls window.KioskPhone.init(api) and asks this module at a few points.
(function () {
  "use strict";

  const MAX_DIGITS = 15;
  const CODE_DIGITS = 6;

  window.KioskPhone = {
    init(api) {
      const { state, T, $, fmt } = api;
      // mode: "phone" (typing the number) or "code" (typing the one-time code).
      const p = { digits: "", phone: "", code: "", mode: "phone", required: false, otpId: null,
                  busy: false };

      function clear() {
        p.digits = p.phone = p.code = "";
        p.mode = "phone";
        p.required = false;
        p.otpId = null;
        p.busy = false;
        const box = $("phone-consent");
        if (box) box.checked = false;
        if ($("phone-msg")) message("");
        if ($("phone-display")) render();
      }

      function message(text) {
        const m = $("phone-msg");
        m.textContent = text || "";
        m.classList.toggle("ci-bad", !!text);
      }

      // 081234567890 -> 0812 3456 7890 while typing (the citizen checks the number).
      function grouped(d) {
        return d.replace(/(\d{4})(?=\d)/g, "$1 ");
      }

      // Shown after entry: the first four and the last three digits only.
      function masked(d) {
        if (!d) return "";
        return d.slice(0, 4) + "*".repeat(Math.max(0, d.length - 7)) + d.slice(-3);
      }

      function render() {
        const code = p.mode === "code";
        const h = $("h-phone");
        h.textContent = code ? T.ph_code_title : h.dataset.phoneTitle;
        $("phone-sub").textContent = code ? fmt(T.ph_code_sub, { phone: masked(p.phone) })
          : $("phone-sub").dataset.phoneSub;
        $("phone-required").hidden = !p.required || code;
        $("phone-skip").hidden = p.required;
        $("phone-consent-row").hidden = code;
        const send = $("phone-send");
        send.textContent = code ? T.ph_code_confirm : p.required ? T.ph_send_code : T.ph_send;
        // Without a skip, sending is the way on: then it is the prominent button.
        send.classList.toggle("k-btn-primary", p.required);
        send.classList.toggle("k-btn-secondary", !p.required);
        const d = code ? p.code : p.digits;
        const display = $("phone-display");
        display.textContent = code ? d.replace(/\d/g, "$& ").trim() : grouped(d);
        display.classList.toggle("ph-empty", !d);
        if (!d) display.textContent = code ? "– – – – – –" : "08__ ____ ____";
      }

      function press(key) {
        if (p.busy) return;
        message("");
        const field = p.mode === "code" ? "code" : "digits";
        const max = p.mode === "code" ? CODE_DIGITS : MAX_DIGITS;
        if (key === "back") p[field] = p[field].slice(0, -1);
        else if (key === "clear") p[field] = "";
        else if (/^\d$/.test(key) && p[field].length < max) p[field] += key;
        render();
      }

      // Asked before a ticket is issued: `intent` is kiosk.js's (service, priority, key...).
      function ask(intent, opts) {
        clear();
        p.required = !!(opts && opts.required);
        if (opts && opts.message) message(opts.message);
        render();
        api.show("phone", { push: !(opts && opts.again) });
      }

      // The issue was refused for a reason this screen can fix: back to it, with the reason.
      function refused(err, intent) {
        const field = err.field || "";
        if (err.code === "phone_required") {
          p.required = true;
          p.mode = "phone";
          intent.contact = null;
          api.show("phone");
          render();
          return true;
        }
        if (!intent.contact) return false;
        if (field === "otp_code") {
          p.mode = "code";
          p.code = "";
          render();
          api.show("phone");
          message(T.ph_code_wrong);
          return true;
        }
        if (field === "phone" || field === "consent" || err.code === "already_queued") {
          p.mode = "phone";
          p.otpId = null;
          render();
          api.show("phone");
          message(field === "phone" ? T.ph_invalid : err.message || T.ph_invalid);
          return true;
        }
        return false;
      }

      async function requestCode() {
        p.busy = true;
        message(T.ph_code_sending);
        $("phone-msg").classList.remove("ci-bad");
        try {
          const r = await api.fetchWithTimeout("/api/v1/otp", {
            method: "POST",
            headers: api.headers({ "Content-Type": "application/json" }),
            body: JSON.stringify({ phone: p.digits, consent: true, lang: api.CFG.lang }),
          }, 8000);
          let body = {};
          try { body = await r.json(); } catch (e) { body = {}; }
          if (r.status === 201) {
            p.phone = p.digits;
            p.otpId = body.otp_id;
            p.mode = "code";
            p.code = "";
            message("");
            render();
            return;
          }
          const err = body.error || {};
          message(err.field === "phone" ? T.ph_invalid
            : r.status === 429 || err.code === "rate_limited" ? T.ph_too_many
              : err.message || T.ci_network);
        } catch (e) {
          message(T.ci_network);
        } finally {
          p.busy = false;
        }
      }

      function submit() {
        if (p.busy || !state.intent) return;
        const intent = state.intent;
        if (p.mode === "code") {
          if (p.code.length !== CODE_DIGITS) { message(T.ph_code_wrong); return; }
          intent.contact = { phone: p.phone, consent: true, otp_id: p.otpId, otp_code: p.code };
          api.send();
          return;
        }
        // A number that cannot be one (too short) is refused here; the server normalises and
        // checks every other (phonenumbers) and answers which field is wrong.
        if (p.digits.length < 8) { message(T.ph_invalid); return; }
        if (!$("phone-consent").checked) { message(T.ph_consent_needed); return; }
        if (p.required) { requestCode(); return; }
        p.phone = p.digits;
        intent.contact = { phone: p.digits, consent: true };
        api.send();
      }

      function skip() {
        if (p.busy || !state.intent || p.required) return;
        state.intent.contact = null;
        clear();
        api.send();
      }

      // What the printed ticket and the screen say about the number (never the number).
      function fillTicket(node, intent, onPaper) {
        const line = node.querySelector('[data-f="notify"]');
        if (!line) return;
        const phone = intent && intent.contact ? intent.contact.phone : "";
        line.hidden = !phone;
        line.textContent = phone ? (onPaper ? T.ph_on_paper : fmt(T.ph_on_screen, { phone: masked(phone) })) : "";
      }

      // The ticket is out: the number leaves the kiosk's memory.
      function issued(intent) {
        if (intent) intent.contact = null;
        clear();
      }

      document.addEventListener("DOMContentLoaded", () => {
        $("phone-keys").addEventListener("click", (ev) => {
          const b = ev.target.closest("button");
          if (!b) return;
          press(b.dataset.digit || b.dataset.key);
        });
        $("phone-send").addEventListener("click", submit);
        $("phone-skip").addEventListener("click", skip);
        $("phone-consent").addEventListener("change", () => message(""));
        // A keyboard attached to the kiosk (service, tests) types into the pad as well.
        document.addEventListener("keydown", (ev) => {
          if ($("screen-phone").hidden || ev.target.tagName === "INPUT" && ev.target.type !== "checkbox") return;
          if (/^\d$/.test(ev.key)) press(ev.key);
          else if (ev.key === "Backspace") press("back");
          else return;
          ev.preventDefault();
        });
        render();
      });
      document.addEventListener("kiosk:reset", clear);

      return { ask, refused, fillTicket, issued, clear, masked };
    },
  };
})();
