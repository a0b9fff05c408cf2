// Every kiosk screen fits one viewport (1080x1920 portrait and 1920x1080 landscape): a grid
// of tiles that does not fit its box is shown a page at a time, with large Previous / Next
// buttons, instead of running below the screen's edge where nobody scrolls.
(function () {
  "use strict";

  const pages = new WeakMap();  // grid -> current page
  let scheduled = false;

  function T() { return (window.MPPKiosk && window.MPPKiosk.T) || {}; }
  function fmt(s, vals) { return String(s || "").replace(/\{(\w+)\}/g, (m, k) => (k in vals ? String(vals[k]) : m)); }

  function pagerFor(grid) {
    let bar = grid.nextElementSibling;
    if (bar && bar.classList.contains("k-pager")) return bar;
    bar = document.createElement("div");
    bar.className = "k-pager";
    const prev = document.createElement("button");
    prev.type = "button";
    prev.className = "k-btn k-btn-secondary k-page-prev";
    prev.textContent = "‹";
    const label = document.createElement("span");
    label.className = "k-page-label";
    label.setAttribute("aria-live", "polite");
    const next = document.createElement("button");
    next.type = "button";
    next.className = "k-btn k-btn-secondary k-page-next";
    next.textContent = "›";
    prev.addEventListener("click", () => turn(grid, -1));
    next.addEventListener("click", () => turn(grid, 1));
    bar.append(prev, label, next);
    grid.after(bar);
    return bar;
  }

  function turn(grid, step) {
    pages.set(grid, (pages.get(grid) || 0) + step);
    fit(grid);
  }

  function fit(grid) {
    // Items the kiosk hid itself (e.g. a group this service does not offer) stay hidden.
    for (const it of grid.children) it.classList.remove("k-paged-out");
    const items = Array.from(grid.children).filter((it) => !it.hidden);
    const bar = pagerFor(grid);
    bar.hidden = true;
    if (!items.length || grid.offsetParent === null) return;
    const limit = grid.getBoundingClientRect().bottom + 1;
    const fitsAll = items.every((it) => it.getBoundingClientRect().bottom <= limit);
    if (fitsAll) { pages.set(grid, 0); return; }
    bar.hidden = false;  // the bar takes room too: measure again with it shown
    const limit2 = grid.getBoundingClientRect().bottom + 1;
    let per = items.findIndex((it) => it.getBoundingClientRect().bottom > limit2);
    per = Math.max(per, 1);
    const total = Math.ceil(items.length / per);
    const page = Math.min(Math.max(pages.get(grid) || 0, 0), total - 1);
    pages.set(grid, page);
    items.forEach((it, i) => {
      it.classList.toggle("k-paged-out", i < page * per || i >= (page + 1) * per);
    });
    const [prev, label, next] = bar.children;
    prev.disabled = page === 0;
    next.disabled = page === total - 1;
    prev.setAttribute("aria-label", fmt(T().page_prev || "‹", {}));
    next.setAttribute("aria-label", fmt(T().page_next || "›", {}));
    label.textContent = fmt(T().page_of || "{n}/{total}", { n: page + 1, total });
  }

  function fitVisible() {
    scheduled = false;
    for (const grid of document.querySelectorAll(".screen:not([hidden]) .k-grid")) fit(grid);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(fitVisible);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const obs = new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "childList" && r.target.classList && r.target.classList.contains("k-grid")) {
          pages.set(r.target, 0);
          schedule();
        }
      }
    });
    for (const grid of document.querySelectorAll(".k-grid")) obs.observe(grid, { childList: true });
    window.addEventListener("resize", schedule);
  });
  document.addEventListener("kiosk:screen", schedule);
  window.MPPKioskFit = { refit: fitVisible };
})();
