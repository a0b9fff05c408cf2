/* The board's "take a number with your phone" QR code: fetched every minute (the code inside
 * changes every minute and expires), hidden when the site does not take tickets by phone. */
(function () {
  "use strict";
  var box = document.getElementById("join-box");
  var img = document.getElementById("join-qr");
  if (!box || !img) return;
  var cfg = JSON.parse(document.getElementById("board-config").textContent);
  var p = cfg.params || {};
  var q = p.site_id ? "site_id=" + encodeURIComponent(p.site_id)
        : p.board ? "board=" + encodeURIComponent(p.board) : "";
  function refresh() {
    MPP.request("GET", "/api/v1/join/code?" + q, { cache: "no-store", csrf: "" }).then(function (code) {
      img.src = code.qr + "?t=" + Date.now();
      box.dataset.url = code.url;
      box.hidden = false;
    }).catch(function () { box.hidden = true; });
  }
  if (q) { refresh(); setInterval(refresh, 60000); }
})();
