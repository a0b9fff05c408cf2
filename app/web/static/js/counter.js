/* Counter officer console and counter picker.
 * Every write goes to the REST API with the session cookie and the X-CSRF-Token header; the
 * live view comes from WS /ws/counter/{id}. Data is put in the page with textContent only. */
(function () {
  "use strict";

  var i18nNode = document.getElementById("counter-i18n");
  var T = i18nNode ? JSON.parse(i18nNode.textContent) : {};
  var LANG = document.documentElement.lang || "id";
  var STORE_KEY = "mpp.counter";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  var el = MPP.text;

  function toLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname));
  }

  /* Every API call (MPP.request: CSRF header, errors): in this console's language, a lost
   session -> sign-in page, a stale CSRF token -> reload. */
  function api(method, path, body) {
    return MPP.request(method, path, { body: body, lang: LANG,
                                       networkMessage: T.error, errorMessage: T.error })
      .catch(function (e) {
        if (e.status === 401) toLogin();
        else if (e.code === "csrf_failed") location.reload();
        throw e;
      });
  }

  // "{number} ..." with values: the strings come translated from the page.
  function fill_(template, params) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
      return params && params[k] !== undefined && params[k] !== null ? String(params[k]) : m;
    });
  }

  function say(node, text, isError) {
    if (!node) return;
    node.textContent = text || "";
    node.classList.toggle("is-error", !!isError);
  }

  function remember(counterId) {
    try { localStorage.setItem(STORE_KEY, String(counterId)); } catch (e) { /* private mode */ }
  }

  function remembered() {
    try { return localStorage.getItem(STORE_KEY); } catch (e) { return null; }
  }

  /* Ask "take it over?"; resolves true when the officer confirms. */
  function askTakeOver(message) {
    var dialog = $("#takeover-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(message));
    }
    say($("#takeover-text"), message);
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "take");
      });
      dialog.returnValue = "";
      dialog.showModal();
      $("#takeover-confirm").focus();
    });
  }

  /* Open a counter for this officer, asking to take it over when someone else holds it. */
  function openCounter(counterId, takeOver) {
    return api("POST", "/api/v1/counters/" + counterId + "/open",
               takeOver ? { take_over: true } : undefined)
      .then(function () { remember(counterId); return true; })
      .catch(function (e) {
        if (e.code === "counter_in_use" && !takeOver) {
          return askTakeOver(e.message).then(function (yes) {
            return yes ? openCounter(counterId, true) : false;
          });
        }
        throw e;
      });
  }

  // --- picker ----------------------------------------------------------------------------

  function initPicker(root) {
    var status = $("#picker-status");
    var me = Number(root.dataset.user);

    function go(card) {
      var id = card.dataset.counter;
      openCounter(id, false).then(function (ok) {
        if (ok) location.assign("/counter/" + id);
      }).catch(function (e) { say(status, e.message, true); });
    }

    // The buttons come disabled from the server: a click before this script ran would do
    // nothing at all (a slow workstation, a slow first load).
    $all(".js-open, .js-close, .js-close-day").forEach(function (b) { b.disabled = false; });
    $all(".counter-card").forEach(function (card) {
      var open = $(".js-open", card);
      if (open) open.addEventListener("click", function () { go(card); });
      var close = $(".js-close", card);
      if (close) close.addEventListener("click", function () {
        if (!window.confirm(T.confirm_close)) return;
        api("POST", "/api/v1/counters/" + card.dataset.counter + "/close")
          .then(function () { location.reload(); })
          .catch(function (e) { say(status, e.message, true); });
      });
    });
    $all(".js-close-day").forEach(function (btn) {
      btn.addEventListener("click", function () {
        if (!window.confirm(T.confirm_close_day)) return;
        var site = btn.closest("[data-site]").dataset.site;
        api("POST", "/api/v1/sites/" + site + "/close-day").then(function (r) {
          say(status, T.closed_day + " " + r.tickets_closed + ", " + T.counters + " " +
              r.counters_closed);
        }).catch(function (e) { say(status, e.message, true); });
      });
    });

    // The workstation remembers its counter: go straight back to it.
    var saved = remembered();
    if (root.dataset.role === "officer" && root.dataset.auto === "1" && saved) {
      var card = $('.counter-card[data-mode="operate"][data-counter="' + CSS.escape(saved) + '"]');
      if (card) {
        if (card.dataset.open === "1" && Number(card.dataset.officerId) === me) {
          location.assign("/counter/" + saved);
        } else {
          go(card);
        }
      }
    }
  }

  // --- console ---------------------------------------------------------------------------

  function initConsole(root) {
    var counterId = Number(root.dataset.counter);
    var me = Number(root.dataset.user);
    var mode = root.dataset.mode;
    var statusLine = $("#status-line");
    var snap = null;
    var lastNow = 0;
    var skew = 0;
    var busy = false;
    // Shortcuts typed while an action runs, in order (a few at most).
    var pendingKeys = [];
    var buttons = {};
    $all(".act").forEach(function (b) { buttons[b.dataset.action] = b; });

    function mine() {
      return !!(snap && snap.counter.is_open && snap.counter.officer_id === me);
    }

    function serverNow() { return Date.now() + skew; }

    function minutesSince(iso, until) {
      if (!iso) return 0;
      return Math.max(0, Math.floor(((until || serverNow()) - Date.parse(iso)) / 60000));
    }

    function clock(ms) {
      var s = Math.max(0, Math.floor(ms / 1000));
      var m = Math.floor(s / 60);
      s = s % 60;
      return m + ":" + (s < 10 ? "0" : "") + s;
    }

    function apply(s) {
      var t = Date.parse(s.now);
      // A snapshot read before the one on screen (a slow websocket) would undo a change.
      if (t < lastNow) return;
      lastNow = t;
      skew = t - Date.now();
      snap = s;
      render();
      // The visit panel (counter_visit.js) draws the current ticket's steps from the same view.
      root.dispatchEvent(new CustomEvent("console:snapshot", { detail: {
        snap: s, api: api, act: act, operate: mode === "operate" && mine() } }));
    }

    function refresh() {
      return api("GET", "/api/v1/counters/" + counterId + "/console").then(apply, function (e) {
        if (e.status && e.status !== 401) say(statusLine, e.message, true);
      });
    }

    function ticketRow(t, withCall) {
      var li = el("li", "ticket-row");
      li.dataset.ticket = t.id;
      li.appendChild(el("span", "t-number", t.number));
      var info = el("span", "t-info");
      info.appendChild(el("span", "t-service", t.service));
      if (t.priority) info.appendChild(el("span", "badge prio", T.priority));
      if (t.channel === "transfer") {
        var from = t.transferred_from;
        var badge = el("span", "badge badge-transfer",
                       from ? fill_(T.from_number, { number: from.number }) : T.from_transfer);
        if (t.note) badge.title = t.note;
        info.appendChild(badge);
        if (t.note) info.appendChild(el("span", "t-note", t.note));
      }
      if (t.channel === "booking") info.appendChild(el("span", "badge", T.booking));
      li.appendChild(info);
      var wait = el("span", "t-wait", minutesSince(t.issued_at) + " " + T.min_short);
      wait.dataset.since = t.issued_at;
      li.appendChild(wait);
      if (withCall) {
        var btn = el("button", "btn btn-small btn-primary js-call-held", T.call_back);
        btn.type = "button";
        btn.disabled = !(mode === "operate" && mine() && !snap.current && !busy);
        btn.addEventListener("click", function () {
          act(function () {
            return api("POST", "/api/v1/tickets/" + t.id + "/call", { counter_id: counterId })
              .then(function (r) { say(statusLine, T.called_msg + " " + r.number); });
          });
        });
        li.appendChild(btn);
      }
      return li;
    }

    function fill(list, empty, rows, withCall) {
      list.replaceChildren.apply(list, rows.map(function (t) { return ticketRow(t, withCall); }));
      empty.hidden = rows.length > 0;
    }

    function renderCurrent() {
      var cur = snap.current;
      var status = $("#cur-status");
      $("#cur-number").textContent = cur ? cur.number : "—";
      $("#cur-number").classList.toggle("is-empty", !cur);
      $("#cur-service").textContent = cur ? cur.service : T.no_ticket;
      status.textContent = cur ? (T["status_" + cur.status] || cur.status) : "";
      status.dataset.status = cur ? cur.status : "";
      status.hidden = !cur;
      $("#cur-prio").hidden = !(cur && cur.priority);
      $("#cur-calls").textContent = cur ? cur.call_count + " " + T.times : "—";
      var note = $("#cur-note");
      note.hidden = !(cur && cur.note);
      note.textContent = cur && cur.note ? T.note + " " + cur.note : "";
      // A transferred ticket says at a glance where it came from (number, service, counter).
      var origin = $("#cur-origin");
      var from = cur && cur.transferred_from;
      origin.hidden = !from;
      origin.textContent = from ? fill_(T.origin, from) +
        (from.counter ? " " + fill_(T.origin_counter, from) : "") : "";
      var brk = snap.break || {};
      $("#break-panel").hidden = !brk.on_break;
      $("#break-text").textContent = brk.on_break ? fill_(T.on_break, {
        reason: brk.reason || "", since: brk.since ? new Date(brk.since).toLocaleTimeString(
          LANG === "en" ? "en-GB" : "id-ID", { hour: "2-digit", minute: "2-digit" }) : "" }) : "";
      root.classList.toggle("on-break", !!brk.on_break);
      $("#cur-elapsed-label").textContent =
        cur && cur.status === "serving" ? T.since_started : T.since_called;
      $("#empty-msg").hidden = !!cur || snap.waiting_count > 0 || !snap.counter.is_open;
      root.classList.toggle("has-ticket", !!cur);
      tick();
    }

    function tick() {
      if (!snap) return;
      var cur = snap.current;
      if (!cur) {
        $("#cur-waited").textContent = "—";
        $("#cur-elapsed").textContent = "—";
      } else {
        var firstCall = cur.first_called_at ? Date.parse(cur.first_called_at) : serverNow();
        $("#cur-waited").textContent = minutesSince(cur.issued_at, firstCall) + " " + T.minutes;
        var since = cur.status === "serving" && cur.started_at ? cur.started_at : cur.called_at;
        $("#cur-elapsed").textContent = since ? clock(serverNow() - Date.parse(since)) : "—";
      }
      $all(".t-wait").forEach(function (node) {
        node.textContent = minutesSince(node.dataset.since) + " " + T.min_short;
      });
    }

    function renderButtons() {
      var cur = snap.current;
      var st = cur ? cur.status : null;
      var onBreak = !!(snap.break && snap.break.on_break);
      var can = mode === "operate" && mine() && !busy && !pendingNoShow && !onBreak;
      var allowed = {
        "break": !cur,
        "call-next": !cur || st === "serving",
        "recall": st === "called",
        "start": st === "called",
        "finish": st === "serving",
        "no-show": st === "called",
        "hold": st === "called" || st === "serving",
        "transfer": st === "called" || st === "serving"
      };
      Object.keys(buttons).forEach(function (name) {
        buttons[name].disabled = !(can && allowed[name]);
      });
    }

    function renderBanner() {
      var c = snap.counter;
      var banner = $("#banner");
      var panel = $("#open-panel");
      var text = "";
      if (mode === "operate" && c.is_open && c.officer_id !== me) {
        text = T.taken_over_by + " " + (c.officer || "-");
      } else if (mode !== "operate") {
        text = T.watch + " " + (c.is_open ? T.open_by + " " + (c.officer || "-") : T.closed_counter);
      }
      banner.textContent = text;
      banner.hidden = !text;
      panel.hidden = mode !== "operate" || mine();
      say($("#open-text"), c.is_open ? T.in_use_by + " " + (c.officer || "-") : T.closed_counter);
      var closeBtn = $("#close-btn");
      if (closeBtn) closeBtn.hidden = !mine();
      var adminClose = $("#admin-close-btn");
      if (adminClose) adminClose.hidden = !c.is_open;
    }

    function render() {
      if (!snap) return;
      renderBanner();
      renderCurrent();
      renderButtons();
      $("#waiting-count").textContent = String(snap.waiting_count);
      $("#served-today").textContent = String(snap.served_today);
      $("#avg-service").textContent = snap.avg_service_minutes === null ? "—" :
        String(snap.avg_service_minutes).replace(".", LANG === "id" ? "," : ".");
      fill($("#waiting-list"), $("#waiting-empty"), snap.waiting, false);
      fill($("#held-list"), $("#held-empty"), snap.held, true);
    }

    /* Run one action: buttons stay disabled until it answers, then the view is re-read. */
    function act(fn) {
      if (busy) return Promise.resolve();
      busy = true;
      if (snap) renderButtons();
      return Promise.resolve().then(fn).catch(function (e) {
        if (e.status !== 401) say(statusLine, e.message, true);
      }).then(refresh).then(function () {
        // Busy until the view is re-read, so a key typed meanwhile waits instead of vanishing.
        busy = false;
        render();
        // Shortcuts typed while the last action ran run now, in order, each if still valid.
        while (pendingKeys.length && !busy) pressKey(pendingKeys.shift());
      });
    }

    var ACTIONS = {
      "call-next": function () {
        return api("POST", "/api/v1/counters/" + counterId + "/call-next").then(function (t) {
          say(statusLine, t ? T.called_msg + " " + t.number : T.empty);
        });
      },
      "transfer": function () { openTransfer(); return Promise.resolve(); },
      "break": function () { openBreak(); return Promise.resolve(); }
    };
    ["recall", "start", "finish", "no-show", "hold"].forEach(function (name) {
      ACTIONS[name] = function () {
        var cur = snap && snap.current;
        if (!cur) return Promise.resolve();
        return api("POST", "/api/v1/tickets/" + cur.id + "/" + name).then(function (t) {
          say(statusLine, t.number + " · " + (T["status_" + t.status] || t.status));
        });
      };
    });

    Object.keys(buttons).forEach(function (name) {
      buttons[name].addEventListener("click", function () {
        if (name === "transfer") { openTransfer(); return; }
        if (name === "break") { openBreak(); return; }
        if (name === "no-show") { askNoShow(); return; }
        act(ACTIONS[name]);
      });
    });

    // "Tidak hadir": confirm when the call is under a minute old, then a few seconds to undo.
    var NOSHOW_CONFIRM_MS = 60 * 1000;
    var UNDO_SECONDS = 5;
    var pendingNoShow = null;
    var noShowDialog = $("#noshow-dialog");
    function askNoShow() {
      var cur = snap && snap.current;
      if (!cur || pendingNoShow) return;
      var calledMs = serverNow() - Date.parse(cur.called_at || cur.first_called_at || 0);
      if (noShowDialog && calledMs < NOSHOW_CONFIRM_MS) {
        $("#noshow-number").textContent = cur.number;
        $("#noshow-text").textContent = fill_(T.noshow_recent, { seconds: Math.max(0, Math.round(calledMs / 1000)) });
        noShowDialog.returnValue = "";
        noShowDialog.showModal();
        $("#noshow-cancel").focus();
        return;
      }
      scheduleNoShow(cur);
    }
    function scheduleNoShow(cur) {
      var left = UNDO_SECONDS;
      var bar = $("#undo-bar");
      function show() { $("#undo-text").textContent = fill_(T.noshow_pending, { number: cur.number, seconds: left }); }
      pendingNoShow = { id: cur.id, number: cur.number, timer: setInterval(function () {
        left -= 1;
        if (left > 0) { show(); return; }
        clearInterval(pendingNoShow.timer);
        pendingNoShow = null;
        bar.hidden = true;
        act(function () {
          return api("POST", "/api/v1/tickets/" + cur.id + "/no-show").then(function (t) {
            say(statusLine, t.number + " · " + (T["status_" + t.status] || t.status));
          });
        });
      }, 1000) };
      show();
      bar.hidden = false;
      renderButtons();
      $("#undo-btn").focus();
    }
    if (noShowDialog) {
      $("#noshow-cancel").addEventListener("click", function () { noShowDialog.close(); });
      $("#noshow-form").addEventListener("submit", function (ev) {
        ev.preventDefault();
        noShowDialog.close();
        var cur = snap && snap.current;
        if (cur) scheduleNoShow(cur);
      });
    }
    var undoBtn = $("#undo-btn");
    if (undoBtn) undoBtn.addEventListener("click", function () {
      if (!pendingNoShow) return;
      clearInterval(pendingNoShow.timer);
      say(statusLine, fill_(T.undone, { number: pendingNoShow.number }));
      pendingNoShow = null;
      $("#undo-bar").hidden = true;
      renderButtons();
    });

    // Break ("istirahat") with a reason; Friday prayer is a preset.
    var breakDialog = $("#break-dialog");
    function openBreak() {
      if (!breakDialog || !snap || snap.current) return;
      $("#break-error").hidden = true;
      $("#break-reason").value = "";
      var friday = new Date(serverNow()).getDay() === 5;
      (friday ? $("#break-friday") : $("#break-other")).checked = true;
      breakDialog.showModal();
      $("#break-reason").focus();
    }
    if (breakDialog) {
      $("#break-cancel").addEventListener("click", function () { breakDialog.close(); });
      $("#break-form").addEventListener("submit", function (ev) {
        ev.preventDefault();
        var preset = $('#break-form input[name="preset"]:checked');
        var reason = (preset && preset.value) || $("#break-reason").value.trim();
        if (!reason) {
          $("#break-error").textContent = T.break_reason_needed;
          $("#break-error").hidden = false;
          return;
        }
        breakDialog.close();
        act(function () {
          return api("POST", "/api/v1/counters/" + counterId + "/break", { reason: reason })
            .then(function () { say(statusLine, T.break_started); });
        });
      });
    }
    var breakEnd = $("#break-end-btn");
    if (breakEnd) breakEnd.addEventListener("click", function () {
      act(function () {
        return api("POST", "/api/v1/counters/" + counterId + "/break/end")
          .then(function () { say(statusLine, T.break_ended); });
      });
    });

    // Transfer to another service or agency, with a note.
    var dialog = $("#transfer-dialog");
    function openTransfer() {
      if (!dialog || !snap || !snap.current) return;
      $("#transfer-number").textContent = snap.current.number;
      $("#transfer-note").value = "";
      dialog.showModal();
      $("#transfer-service").focus();
    }
    if (dialog) {
      $("#transfer-cancel").addEventListener("click", function () { dialog.close(); });
      $("#transfer-form").addEventListener("submit", function (ev) {
        ev.preventDefault();
        var cur = snap && snap.current;
        var serviceId = Number($("#transfer-service").value);
        if (!cur || !serviceId) return;
        var note = $("#transfer-note").value.trim();
        dialog.close();
        act(function () {
          return api("POST", "/api/v1/tickets/" + cur.id + "/transfer",
                     { service_id: serviceId, note: note || null })
            .then(function (t) { say(statusLine, T.transferred_msg + " " + t.number); });
        });
      });
    }

    // Keyboard shortcuts: one key per button, shown on the button.
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
      var target = ev.target;
      if (target && (/^(INPUT|TEXTAREA|SELECT)$/).test(target.tagName)) return;
      if (document.querySelector("dialog[open]")) return;
      var key = (ev.key || "").toLowerCase();
      if (!$('.act[data-key="' + CSS.escape(key) + '"]')) return;
      ev.preventDefault();
      if (busy) { if (pendingKeys.length < 3) pendingKeys.push(key); return; }
      pressKey(key);
    });

    function pressKey(key) {
      var btn = $('.act[data-key="' + CSS.escape(key) + '"]');
      if (btn && !btn.disabled) btn.click();
    }

    var openBtn = $("#open-btn");
    if (openBtn) openBtn.addEventListener("click", function () {
      act(function () { return openCounter(counterId, false); });
    });
    var closeBtn = $("#close-btn");
    if (closeBtn) closeBtn.addEventListener("click", function () {
      if (!window.confirm(T.confirm_close)) return;
      act(function () { return api("POST", "/api/v1/counters/" + counterId + "/close"); });
    });
    var adminClose = $("#admin-close-btn");
    if (adminClose) adminClose.addEventListener("click", function () {
      if (!window.confirm(T.confirm_close)) return;
      act(function () { return api("POST", "/api/v1/counters/" + counterId + "/close"); });
    });

    // Signing out at the end of a shift also closes the officer's counter.
    var logout = $("#logout-form");
    if (logout) logout.addEventListener("submit", function (ev) {
      if (!mine()) return;
      ev.preventDefault();
      api("POST", "/api/v1/counters/" + counterId + "/close")
        .catch(function () { return null; })
        .then(function () { logout.submit(); });
    });

    function setConn(state) {
      var node = $("#conn");
      node.dataset.state = state;
      node.textContent = state === "ok" ? T.connected : T.reconnecting;
    }

    function connect() {
      var live = MPP.connect("/ws/counter/" + counterId, {
        open: function () { setConn("ok"); },
        close: function () { setConn("reconnecting"); },
        delay: function (attempt) { return Math.min(10000, 300 * Math.pow(2, attempt)); },
        message: function (d) {
          if (d.type === "snapshot") {
            apply(d);
          } else if (d.type === "error") {
            live.stop();  // refused: retrying would be refused again
            if (d.error && d.error.code === "not_authenticated") toLogin();
            else say(statusLine, d.error ? d.error.message : T.error, true);
          } else if (d.type !== "ping") {
            refresh();
          }
        },
      });
    }

    refresh();
    connect();
    setInterval(tick, 1000);
    // Also notices an expired session while the screen is idle (401 -> sign-in page).
    setInterval(refresh, 60000);
  }

  var picker = document.getElementById("picker");
  if (picker) initPicker(picker);
  var consoleRoot = document.getElementById("console");
  if (consoleRoot) initConsole(consoleRoot);
})();
