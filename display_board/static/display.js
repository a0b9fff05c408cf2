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
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
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
  var highlightTimer = null;

  function drawTiles() {
    var box = $("tiles");
    clear(box);
    var open = Object.keys(counters).map(function (k) { return counters[k]; })
      .filter(function (c) { return c.is_open; })
      .sort(function (a, b) { return a.number - b.number; });
    open.forEach(function (c) {
      var tile = el("div", "tile" + (c.ticket ? " busy" : ""));
      tile.dataset.counterId = c.id;
      tile.appendChild(el("div", "tile-counter", (S["Loket"] || "Loket") + " " + c.number));
      tile.appendChild(el("div", "tile-number", c.ticket || "—"));
      tile.appendChild(el("div", "tile-agency", c.agency || ""));
      box.appendChild(tile);
    });
    box.classList.toggle("many", open.length > 12);
    $("tiles-empty").hidden = open.length > 0;
  }

  function drawLast() {
    var list = $("last");
    clear(list);
    lastCalls.slice(0, LAST_CALLS).forEach(function (c) {
      var li = el("li", c.recall ? "recall" : "");
      li.appendChild(el("span", "last-number", c.number));
      li.appendChild(el("span", "last-counter", (S["Loket"] || "Loket") + " " + c.counter));
      list.appendChild(li);
    });
  }

  function drawWaiting() {
    var list = $("waiting");
    clear(list);
    // Only services with people waiting: a big MPP has dozens of services.
    var shown = waiting.filter(function (w) { return w.waiting > 0; });
    $("waiting-empty").hidden = shown.length > 0;
    shown.forEach(function (w) {
      var li = el("li");
      li.dataset.serviceId = w.service_id;
      li.appendChild(el("span", "w-prefix", w.prefix));
      li.appendChild(el("span", "w-name", w.name));
      li.appendChild(el("span", "w-count", w.waiting));
      list.appendChild(li);
    });
  }

  function showNow(call) {
    $("now-number").textContent = call ? call.number : "—";
    $("now-counter").textContent = call ? (S["Loket"] || "Loket") + " " + call.counter : "";
    $("now-agency").textContent = call ? (call.agency || "") : "";
    $("now-recall").hidden = !(call && call.recall);
  }

  function highlight(call) {
    showNow(call);
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
    if (!speaking) showNow(lastCalls[0] || null);
    drawTiles(); drawLast(); drawWaiting(); tick();
  }

  function onCalled(e) {
    var c = counters[e.counter_id];
    if (c) { c.ticket = e.number; c.status = "called"; c.is_open = true; }
    lastCalls.unshift({ number: e.number, counter: e.counter, counter_name: e.counter_name,
                        agency: e.agency, at: e.at, recall: !!e.recall });
    lastCalls = lastCalls.slice(0, 20);
    drawTiles(); drawLast();
    enqueue(e);
  }

  function onStatus(e) {
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
  var ws = null;
  var delay = 500;
  var lastMessage = 0;

  function wsUrl() {
    var p = new URLSearchParams();
    Object.keys(cfg.params || {}).forEach(function (k) { p.set(k, cfg.params[k]); });
    var t = token();
    if (t) p.set("token", t);
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/ws/display?" + p.toString();
  }

  function setOnline(on) {
    board.connected = on;
    $("offline").hidden = on;
    document.body.classList.toggle("is-offline", !on);
  }

  function connect() {
    var sock;
    try { sock = new WebSocket(wsUrl()); } catch (e) { schedule(); return; }
    ws = sock;
    sock.onmessage = function (ev) {
      lastMessage = Date.now();
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "snapshot") {
        setOnline(true);
        $("problem").hidden = true;
        board.lastError = null;
        delay = 500;
      }
      onMessage(msg);
    };
    sock.onopen = function () { lastMessage = Date.now(); };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      setOnline(false);
      schedule();
    };
    sock.onerror = function () { /* onclose follows */ };
  }

  function schedule() {
    board.reconnects += 1;
    // Refused boards retry slowly; lost connections quickly, with jitter so a restarted
    // server is not hit by every board in the same millisecond.
    var max = board.lastError ? 30000 : 10000;
    var wait = Math.min(delay, max) * (0.75 + Math.random() * 0.5);
    delay = Math.min(delay * 2, max);
    setTimeout(connect, wait);
  }

  // The server pings every 20 s; silence for longer means a half-open connection.
  setInterval(function () {
    if (ws && lastMessage && Date.now() - lastMessage > 45000) {
      try { ws.close(); } catch (e) { /* ignore */ }
    }
  }, 5000);

  // ---- announcements --------------------------------------------------------------------------
  var queue = board.queue;
  var speaking = false;
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

  async function announce(item) {
    if (board.soundBlocked) return "muted";
    await playClip("chime");
    if (board.soundBlocked) return "muted";
    var mode = idVoice ? "speech" : "clips";
    for (var round = 0; round < 2; round++) {
      if (round) await sleep(700 / audioRate);
      if (mode === "speech") {
        await speak(item.announcement);
      } else {
        for (var i = 0; i < (item.clips || []).length; i++) {
          await playClip(item.clips[i]);
          if (board.soundBlocked) return "muted";
        }
      }
    }
    return mode;
  }

  function enqueue(e) {
    queue.push({ number: e.number, counter: e.counter, agency: e.agency, recall: !!e.recall,
                 announcement: e.announcement, clips: e.clips || [], received: Date.now() });
    if (!speaking) drain();
  }

  async function drain() {
    speaking = true;
    while (queue.length) {
      var item = queue.shift();
      var entry = { number: item.number, counter: item.counter, recall: item.recall,
                    text: item.announcement, clips: item.clips, start: Date.now(), end: null,
                    mode: null };
      board.log.push(entry);
      highlight(item);
      try { entry.mode = await announce(item); } catch (err) { entry.mode = "error"; }
      entry.end = Date.now();
      await sleep(400 / audioRate);
    }
    speaking = false;
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
