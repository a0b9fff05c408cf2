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
    // Beyond the bottom (a grid) or the right edge (a one-row strip) does not fit.
    const outside = (it) => {
      const box = grid.getBoundingClientRect();
      const r = it.getBoundingClientRect();
      return r.bottom > box.bottom + 1 || r.right > box.right + 1;
    };
    if (!items.some(outside)) { pages.set(grid, 0); return; }
    bar.hidden = false;  // the bar takes room too: measure again with it shown
    let per = items.filter((it) => !outside(it)).length;
    per = Math.max(per, 1);
    const apply = (page) => items.forEach((it, i) => {
      it.classList.toggle("k-paged-out", i < page * per || i >= (page + 1) * per);
    });
    // Tiles differ in height (a name on two lines): a later page may not fit where the first
    // did. Fewer per page until every page fits (or one tile a page is all there is room for).
    for (;;) {
      let ok = true;
      for (let pg = 0; ok && pg < Math.ceil(items.length / per); pg++) {
        apply(pg);
        ok = items.every((it) => it.classList.contains("k-paged-out") || !outside(it));
      }
      if (ok || per === 1) break;
      per -= 1;
    }
    const total = Math.ceil(items.length / per);
    const page = Math.min(Math.max(pages.get(grid) || 0, 0), total - 1);
    pages.set(grid, page);
    apply(page);
    const [prev, label, next] = bar.children;
    prev.disabled = page === 0;
    next.disabled = page === total - 1;
    prev.setAttribute("aria-label", fmt(T().page_prev || "‹", {}));
    next.setAttribute("aria-label", fmt(T().page_next || "›", {}));
    label.textContent = fmt(T().page_of || "{n}/{total}", { n: page + 1, total });
  }

  function fitVisible() {
    scheduled = false;
    // Twice: paging one grid (its bar appears) changes the room left for the others.
    const grids = document.querySelectorAll(".screen:not([hidden]) .k-grid");
    for (let pass = 0; pass < 2; pass++) for (const grid of grids) fit(grid);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(fitVisible);
  }

  // What a grid lists: the catalog's refresh every 20 s renders the same tiles again, which
  // must not send a citizen on page 3 back to page 1 (another list starts on page 1).
  const lists = new WeakMap();
  function listed(grid) {
    return Array.from(grid.children, (it) => it.dataset.agencyId || it.dataset.serviceId
      || it.dataset.packageId || it.dataset.priority || it.textContent.slice(0, 40)).join("|");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const obs = new MutationObserver((records) => {
      let changed = false;
      for (const r of records) {
        const grid = r.target;
        if (r.type === "childList" && grid.classList && grid.classList.contains("k-grid")) {
          const now = listed(grid);
          if (lists.get(grid) !== now) pages.set(grid, 0);
          lists.set(grid, now);
          changed = true;
        }
      }
      // At once (a microtask, before the next paint or task): never a frame with every tile
      // shown and the bottom rows cut.
      if (changed) fitVisible();
    });
    for (const grid of document.querySelectorAll(".k-grid")) obs.observe(grid, { childList: true });
    // A grid whose box changes later (a banner shown above it, fonts loaded) is fitted again.
    if ("ResizeObserver" in window) {
      const ro = new ResizeObserver(schedule);
      for (const grid of document.querySelectorAll(".k-grid")) ro.observe(grid);
    }
    window.addEventListener("resize", schedule);
  });
  // Another screen starts its grids on page 1 (the next citizen too).
  let shown = null;
  document.addEventListener("kiosk:screen", (ev) => {
    if (ev.detail !== shown) {
      for (const grid of document.querySelectorAll("#screen-" + ev.detail + " .k-grid")) pages.set(grid, 0);
    }
    shown = ev.detail;
    schedule();
  });
  document.addEventListener("kiosk:reset", () => { shown = null; });
  window.MPPKioskFit = { refit: fitVisible };
})();
