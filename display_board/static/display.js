/* Display board: snapshot + events over WS /ws/display, spoken announcements in a queue.
 *
 * Everything shown comes from the server (ticket numbers and counters only); the sentence
 * spoken comes from the domain (app/domain/speech.py) inside each ticket.called event.
 * DOM is built with textContent only. window.__board exposes state and logs for tests.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("board-config").textContent);
  var S = cfg.strings || {};
  var TOKEN_KEY = "mpp_display_token";
  var HIGHLIGHT_MS = 8000;
  var LAST_CALLS = 8;
  var query = new URLSearchParams(location.search);
  // Tests may speed audio up (?audio_rate=4); a real board speaks at normal speed.
  var audioRate = Math.min(Math.max(parseFloat(query.get("audio_rate")) || 1, 0.5), 16);

  // A device token arrives once in the URL; keep it and take it out of the address bar.
  if (query.get("token")) {
    try { localStorage.setItem(TOKEN_KEY, query.get("token")); } catch (e) { /* private mode */ }
    query.delete("token");
    var rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  function token() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  var board = window.__board = {
    connected: false, snapshots: 0, events: [], log: [], queue: [], mode: null,
    soundBlocked: false, state: null, lastError: null, reconnects: 0,
  };

  function $(id) { return document.getElementById(id); }
  var el = MPP.text;
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // ---- layout ---------------------------------------------------------------------------
  function applyLayout(boardLayout) {
    var layout = cfg.layout !== "auto" ? cfg.layout : (boardLayout ||
      (window.innerHeight > window.innerWidth ? "portrait" : "landscape"));
    document.body.classList.remove("layout-auto", "layout-landscape", "layout-portrait");
    document.body.classList.add("layout-" + layout);
    board.layout = layout;
  }
  window.addEventListener("resize", function () {
    applyLayout(board.state && board.state.board ? board.state.board.layout : null);
    if (board.state) { drawLast(); drawTiles(); drawWaiting(); }
  });
  applyLayout(null);

  // ---- clock in the site's time zone ----------------------------------------------------
  var tz = null;
  var skew = 0;  // server clock minus this device's clock, so a wrong TV clock doesn't matter
  function tick() {
    var now = new Date(Date.now() + skew);
    var opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    var dopts = { weekday: "long", day: "numeric", month: "long", year: "numeric" };
    if (tz) { opts.timeZone = tz; dopts.timeZone = tz; }
    var locale = cfg.lang === "en" ? "en-GB" : "id-ID";
    try {
      $("clock-time").textContent = now.toLocaleTimeString(locale, opts).replace(/\./g, ":");
      $("clock-date").textContent = now.toLocaleDateString(locale, dopts);
    } catch (e) { $("clock-time").textContent = now.toISOString().slice(11, 19); }
  }
  setInterval(tick, 1000);
  tick();

  // ---- drawing ----------------------------------------------------------------------------
  var counters = {};   // id -> counter
  var waiting = [];    // [{service_id, prefix, name, waiting}]
  var lastCalls = [];  // newest first
  var active = [];     // calls in the "now calling" area, newest first
  var movedOn = {};    // ticket id -> true once it is no longer called (never announce it)
  var highlightTimer = null;
  var ACTIVE_MS = 30000;   // a call stays in the now-calling area this long (or while spoken)
  var MAX_ACTIVE = 10;
  var PAGE_MS = 8000;
  var pagers = {};

  // Show what fits in a list box; when there is more, page through it every PAGE_MS.
  function paged(name, box, nodes, label) {
    var p = pagers[name] || (pagers[name] = { page: 0, timer: null });
    clear(box);
    nodes.forEach(function (n) { box.appendChild(n); });
    var limit = box.getBoundingClientRect().bottom + 1;
    var fit = 0;
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getBoundingClientRect().bottom > limit) break;
      fit = i + 1;
    }
    fit = Math.max(fit, 1);
    var pages = Math.ceil(nodes.length / fit) || 1;
    if (p.page >= pages) p.page = 0;
    clear(box);
    nodes.slice(p.page * fit, p.page * fit + fit).forEach(function (n) { box.appendChild(n); });
    if (label) label.textContent = pages > 1 ? (p.page + 1) + "/" + pages : "";
    clearTimeout(p.timer);
    if (pages > 1) {
      p.timer = setTimeout(function () { p.page = (p.page + 1) % pages; p.redraw(); }, PAGE_MS);
    }
    return fit;
  }

  function drawTiles() {
    var open = Object.keys(counters).map(function (k) { return counters[k]; })
      .filter(function (c) { return c.is_open; })
      .sort(function (a, b) { return a.number - b.number; });
    var nodes = open.map(function (c) {
      var tile = el("div", "tile" + (c.ticket ? " busy" : "") + (c.on_break ? " on-break" : ""));
      tile.dataset.counterId = c.id;
      tile.appendChild(el("div", "tile-counter", (S["Loket"] || "Loket") + " " + c.number));
      tile.appendChild(el("div", "tile-number", c.on_break && !c.ticket ? (S["Istirahat"] || "Istirahat") : (c.ticket || "—")));
      tile.appendChild(el("div", "tile-agency", c.agency || ""));
      return tile;
    });
    pagers.tiles = pagers.tiles || { page: 0, timer: null };
    pagers.tiles.redraw = drawTiles;
    paged("tiles", $("tiles"), nodes, $("tiles-pages"));
    $("tiles-empty").hidden = open.length > 0;
  }

  function drawLast() {
    var list = $("last");
    // The newest that fit: a list that runs under the footer hides the ones people look for.
    var nodes = lastCalls.slice(0, LAST_CALLS).map(function (c) {
      var li = el("li", c.recall ? "recall" : "");
      li.appendChild(el("span", "last-number", c.number));
      li.appendChild(el("span", "last-counter", (S["Loket"] || "Loket") + " " + c.counter));
      return li;
    });
    clear(list);
    var limit = list.getBoundingClientRect().bottom + 1;
    for (var i = 0; i < nodes.length; i++) {
      list.appendChild(nodes[i]);
      if (nodes[i].getBoundingClientRect().bottom > limit) { list.removeChild(nodes[i]); break; }
    }
  }

  function drawWaiting() {
    // Only services with people waiting: a big MPP has dozens of services.
    var shown = waiting.filter(function (w) { return w.waiting > 0; });
    $("waiting-empty").hidden = shown.length > 0;
    var nodes = shown.map(function (w) {
      var li = el("li");
      li.dataset.serviceId = w.service_id;
      li.appendChild(el("span", "w-prefix", w.prefix));
      li.appendChild(el("span", "w-name", w.name));
      li.appendChild(el("span", "w-count", w.waiting));
      return li;
    });
    pagers.waiting = pagers.waiting || { page: 0, timer: null };
    pagers.waiting.redraw = drawWaiting;
    paged("waiting", $("waiting"), nodes, $("waiting-pages"));
  }

  // The now-calling area shows every fresh call at once: the one being spoken (or else the
  // newest) big, the others beside it, whatever the speech queue is doing.
  var spokenId = null;
  function drawNow() {
    var now = Date.now();
    active = active.filter(function (c) {
      return !movedOn[c.ticket_id] && (now - c.shown < ACTIVE_MS || c.ticket_id === spokenId);
    });
    var main = null;
    for (var i = 0; i < active.length; i++) if (active[i].ticket_id === spokenId) main = active[i];
    main = main || active[0] || lastCalls[0] || null;
    $("now-number").hidden = !main;
    $("now-where").hidden = !main;
    $("now-empty").hidden = !!main;
    $("now-number").textContent = main ? main.number : "";
    $("now-number").classList.toggle("long", !!main && String(main.number).length > 6);
    $("now-counter").textContent = main ? (S["Loket"] || "Loket") + " " + main.counter : "";
    $("now-agency").textContent = main ? (main.agency || "") : "";
    $("now-recall").hidden = !(main && main.recall);
    var more = $("now-more");
    clear(more);
    active.forEach(function (c) {
      if (c === main) return;
      var li = el("li");
      li.appendChild(el("b", "", c.number));
      li.appendChild(el("span", "", (S["Loket"] || "Loket") + " " + c.counter));
      more.appendChild(li);
    });
    $("now").classList.toggle("piled", more.childNodes.length > 0);
  }
  setInterval(drawNow, 1000);

  function flash() {
    var now = $("now");
    now.classList.remove("flash");
    void now.offsetWidth;  // restart the animation
    now.classList.add("flash");
    clearTimeout(highlightTimer);
    highlightTimer = setTimeout(function () { now.classList.remove("flash"); }, HIGHLIGHT_MS);
  }

  function applySnapshot(snap) {
    board.state = snap;
    board.snapshots += 1;
    tz = snap.site && snap.site.timezone;
    if (snap.now) skew = Date.parse(snap.now) - Date.now();
    $("site-name").textContent = snap.site ? snap.site.name : "MPP";
    if (snap.board) {
      $("board-name").textContent = snap.board.name;
      if (snap.board.running_text) $("running-text").textContent = snap.board.running_text;
    }
    applyLayout(snap.board ? snap.board.layout : null);
    counters = {};
    (snap.counters || []).forEach(function (c) { counters[c.id] = c; });
    waiting = snap.waiting || [];
    lastCalls = (snap.last_calls || []).slice();
    // A call in the area whose counter has moved on since is no longer being called.
    active = active.filter(function (c) {
      var k = counters[c.counter_id];
      return k && k.ticket === c.number && k.status === "called";
    });
    // Recent calls first: in portrait their row sizes the counters' box the tiles page in.
    drawNow(); drawLast(); drawTiles(); drawWaiting(); tick();
  }

  function onCalled(e) {
    var c = counters[e.counter_id];
    if (c) { c.ticket = e.number; c.status = "called"; c.is_open = true; }
    delete movedOn[e.ticket_id];
    var call = { ticket_id: e.ticket_id, number: e.number, counter: e.counter,
                 counter_id: e.counter_id, counter_name: e.counter_name, agency: e.agency,
                 at: e.at, recall: !!e.recall, shown: Date.now() };
    lastCalls.unshift(call);
    lastCalls = lastCalls.slice(0, 20);
    active = active.filter(function (a) { return a.ticket_id !== e.ticket_id; });
    active.unshift(call);
    active = active.slice(0, MAX_ACTIVE);
    drawNow(); flash(); drawLast(); drawTiles();
    enqueue(e);
  }

  function onStatus(e) {
    if (e.status !== "called" && e.ticket_id) {
      movedOn[e.ticket_id] = true;
      drawNow();
    }
    var c = counters[e.counter_id];
    if (!c || c.ticket !== e.number) return;
    if (e.status === "serving") { c.status = "serving"; return; }
    if (e.status !== "called") { c.ticket = null; c.status = null; drawTiles(); }
  }

  function onWaiting(counts) {
    waiting.forEach(function (w) { w.waiting = counts[String(w.service_id)] || 0; });
    drawWaiting();
  }

  function onMessage(msg) {
    if (msg.type === "snapshot") { applySnapshot(msg); return; }
    if (msg.type === "ping") return;
    if (msg.type === "error") { problem(msg.error); return; }
    board.events.push({ type: msg.type, number: msg.number, at: Date.now() });
    if (board.events.length > 200) board.events.shift();
    if (msg.type === "ticket.called") onCalled(msg);
    else if (msg.type === "ticket.status" || msg.type === "ticket.transferred") onStatus(msg);
    else if (msg.type === "waiting") onWaiting(msg.counts || {});
    // Ticket events carry the waiting counts read after they committed.
    if (msg.waiting_counts) onWaiting(msg.waiting_counts);
  }

  function problem(err) {
    board.lastError = err;
    var text = err.code === "not_found" ? (S["Papan tidak ditemukan"] || err.message)
      : (err.code === "not_authenticated" || err.code === "forbidden")
        ? S["Papan ini memerlukan token perangkat yang sah. Hubungi admin MPP."] : err.message;
    $("problem-text").textContent = text;
    $("problem").hidden = false;
  }

  // ---- connection with backoff --------------------------------------------------------------
  var live = null;
  var delay = 500;
  var lastMessage = 0;

  function wsUrl() {
    var p = new URLSearchParams();
    Object.keys(cfg.params || {}).forEach(function (k) { p.set(k, cfg.params[k]); });
    var t = token();
    if (t) p.set("token", t);
    return MPP.wsUrl("/ws/display?" + p.toString());
  }

  function setOnline(on) {
    board.connected = on;
    $("offline").hidden = on;
    document.body.classList.toggle("is-offline", !on);
  }

  function connect() {
    live = MPP.connect(wsUrl, {
      open: function () { lastMessage = Date.now(); },
      message: function (msg) {
        lastMessage = Date.now();
        if (msg.type === "snapshot") {
          setOnline(true);
          $("problem").hidden = true;
          board.lastError = null;
          delay = 500;
        }
        onMessage(msg);
      },
      close: function () { setOnline(false); },
      delay: function () {
        board.reconnects += 1;
        // Refused boards retry slowly; lost connections quickly, with jitter so a restarted
        // server is not hit by every board in the same millisecond.
        var max = board.lastError ? 30000 : 10000;
        var wait = Math.min(delay, max) * (0.75 + Math.random() * 0.5);
        delay = Math.min(delay * 2, max);
        return wait;
      },
    });
  }

  // The server pings every 20 s; silence for longer means a half-open connection.
  setInterval(function () {
    if (live && live.socket && lastMessage && Date.now() - lastMessage > 45000) live.reconnect();
  }, 5000);

  // ---- announcements --------------------------------------------------------------------------
  var queue = board.queue;
  var speaking = false;
  var PILED_MS = 3000;
  var idVoice = null;

  function findVoice() {
    if (!("speechSynthesis" in window)) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      var lang = (voices[i].lang || "").replace("_", "-").toLowerCase();
      if (lang === "id-id" || lang === "id") return voices[i];
    }
    return null;
  }
  if ("speechSynthesis" in window) {
    idVoice = findVoice();
    window.speechSynthesis.onvoiceschanged = function () { idVoice = findVoice(); };
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Resolve when the clip ends, fails, or clearly should have ended: never hang the queue.
  function playClip(name) {
    return new Promise(function (resolve) {
      var a = new Audio(cfg.audio + name + ".ogg");
      var done = false;
      function finish(ok) { if (!done) { done = true; clearTimeout(timer); resolve(ok); } }
      var timer = setTimeout(function () { finish(false); }, 6000);
      a.playbackRate = audioRate;
      a.onended = function () { finish(true); };
      a.onerror = function () { finish(false); };
      var p = a.play();
      if (p && p.catch) {
        p.catch(function (err) {
          if (err && err.name === "NotAllowedError") soundBlocked();
          finish(false);
        });
      }
    });
  }

  function speak(text) {
    return new Promise(function (resolve) {
      var u = new SpeechSynthesisUtterance(text);
      u.lang = "id-ID";
      u.voice = idVoice;
      u.rate = 0.9;
      var timer = setTimeout(resolve, 20000);
      u.onend = u.onerror = function () { clearTimeout(timer); resolve(); };
      window.speechSynthesis.speak(u);
    });
  }

  // Full form when one call is waiting: chime, the sentence twice. When calls pile up: one
  // chime for the pile, then each call once in its short form.
  async function announce(item, piled, chime) {
    if (board.soundBlocked) return "muted";
    if (chime) await playClip("chime");
    if (board.soundBlocked) return "muted";
    var mode = idVoice ? "speech" : "clips";
    var rounds = piled ? 1 : 2;
    var text = piled ? (item.short || item.announcement) : item.announcement;
    var clips = piled && item.clips_short.length ? item.clips_short : item.clips;
    for (var round = 0; round < rounds; round++) {
      if (round) await sleep(700 / audioRate);
      if (stale(item)) return mode;
      if (mode === "speech") {
        await speak(text);
      } else {
        for (var i = 0; i < clips.length; i++) {
          await playClip(clips[i]);
          if (board.soundBlocked) return "muted";
        }
      }
    }
    return mode;
  }

  function stale(item) { return !!movedOn[item.ticket_id]; }

  function enqueue(e) {
    var item = { ticket_id: e.ticket_id, number: e.number, counter: e.counter,
                 agency: e.agency, recall: !!e.recall, announcement: e.announcement,
                 short: e.announcement_short, clips: e.clips || [],
                 clips_short: e.clips_short || [], received: Date.now() };
    // A ticket called again before it was spoken is said once, where it already waits.
    for (var i = 0; i < queue.length; i++) {
      if (queue[i].ticket_id === e.ticket_id) { queue[i] = item; return; }
    }
    queue.push(item);
    if (!speaking) drain();
  }

  async function drain() {
    speaking = true;
    var pileChimed = false;
    while (queue.length) {
      var item = queue.shift();
      // Others wait behind it, or it waited itself: say it once, short.
      var piled = queue.length > 0 || Date.now() - item.received > PILED_MS;
      var entry = { number: item.number, counter: item.counter, recall: item.recall,
                    text: piled ? (item.short || item.announcement) : item.announcement,
                    clips: item.clips, start: Date.now(), end: null, mode: null,
                    received: item.received, short: piled };
      board.log.push(entry);
      if (stale(item)) {
        entry.mode = "stale";
        entry.end = Date.now();
        continue;
      }
      spokenId = item.ticket_id;
      drawNow();
      try {
        entry.mode = await announce(item, piled, !piled || !pileChimed);
      } catch (err) { entry.mode = "error"; }
      pileChimed = piled;
      entry.end = Date.now();
      await sleep(400 / audioRate);
    }
    spokenId = null;
    speaking = false;
    drawNow();
  }

  // ---- autoplay: a one-time "Aktifkan suara" button ----------------------------------------
  function soundBlocked() {
    board.soundBlocked = true;
    board.mode = "muted";
    $("sound").hidden = false;
  }
  $("sound-btn").addEventListener("click", function () {
    var a = new Audio(cfg.audio + "chime.ogg");
    a.volume = 0.01;
    var p = a.play();
    var ok = function () { board.soundBlocked = false; board.mode = null; $("sound").hidden = true; };
    if (p && p.then) p.then(ok, function () { /* still blocked */ }); else ok();
  });
  (function probe() {
    // A silent try at start: if the browser blocks sound, ask for the one tap now.
    var a = new Audio(cfg.audio + "chime.ogg");
    a.volume = 0;
    var p = a.play();
    if (p && p.then) {
      p.then(function () { a.pause(); }, function (err) {
        if (err && err.name === "NotAllowedError") soundBlocked();
      });
    }
  })();

  setOnline(false);
  $("offline").hidden = true;  // not "offline" before the first attempt has had a chance
  connect();
})();
