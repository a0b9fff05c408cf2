// Kiosk: a visit with several services on one ticket ("Tambah layanan lain", service packages).
// kiosk.js calls window.KioskVisit.init(api) and asks this module at a few points; the plan is
// a list of {service, agency}; the first entry is the service whose detail screen was open.
// Every piece of data goes into the DOM with textContent.
(function () {
  "use strict";

  const MAX_STEPS = 6;

  window.KioskVisit = {
    init(api) {
      const { state, T, $, el, fmt } = api;
      // plan: [{service, agency}]; adding: choosing the next service; pkg: the package tapped.
      const v = { plan: [], adding: false, pkg: null, problem: null };

      function findService(id) {
        for (const a of state.agencies) {
          const s = a.services.find((x) => x.id === id);
          if (s) return { service: s, agency: a };
        }
        return null;
      }

      function reset() {
        v.plan = [];
        v.adding = false;
        v.pkg = null;
        v.problem = null;
        banner();
      }

      function active() { return v.plan.length > 1; }

      function banner() {
        const b = $("visit-banner");
        if (!b) return;
        b.hidden = !v.adding;
        if (v.adding) {
          $("visit-banner-text").textContent = fmt(T.v_adding, { n: v.plan.length + 1, max: MAX_STEPS })
            + " — " + v.plan.map((p) => p.service.name).join(" → ");
        }
      }

      function startAdding() {
        if (!v.plan.length && state.service && state.agency) {
          v.plan = [{ service: state.service, agency: state.agency }];
        }
        if (v.plan.length >= MAX_STEPS) return render();
        v.adding = true;
        state.history = [];
        banner();
        api.renderAgencies();
        api.show("agencies");
      }

      // A service tile tapped while adding: it joins the plan (once), then the plan is shown.
      function addService(service, agency) {
        if (!v.adding) return false;
        v.adding = false;
        if (!v.plan.some((p) => p.service.id === service.id) && v.plan.length < MAX_STEPS) {
          v.plan.push({ service, agency });
        }
        banner();
        render();
        state.history = ["agencies"];
        api.show("visit");
        return true;
      }

      function choosePackage(pkg) {
        const steps = pkg.service_ids.map(findService).filter(Boolean);
        if (!steps.length) return;
        v.plan = steps;
        v.pkg = pkg;
        v.adding = false;
        banner();
        render();
        state.history = ["agencies"];
        api.show("visit", { push: false });
      }

      function stepItem(p, i) {
        const li = el("li", "k-visit-step");
        li.dataset.serviceId = p.service.id;
        const head = el("div", "k-visit-step-head");
        head.append(el("span", "k-step", String(i + 1)));
        const title = el("span", "k-tile-title", p.service.name);
        head.append(title, api.statusPill(p.service));
        li.append(head);
        const where = api.floorText(p.agency);
        li.append(el("div", "k-tile-meta", p.agency.name + (where ? " · " + where : "")));
        if (p.service.requirements) {
          li.append(el("div", "k-tile-meta", fmt(T.v_requirements, { text: p.service.requirements })));
        }
        li.append(el("div", "k-tile-meta k-fee", fmt(T.v_fee, { text: p.service.fee || T.none })));
        if (v.plan.length > 1) {
          const rm = el("button", "k-btn k-btn-secondary k-visit-remove", "×");
          rm.type = "button";
          rm.setAttribute("aria-label", fmt(T.v_remove, { name: p.service.name }));
          rm.addEventListener("click", () => { drop(p.service.id); });
          li.append(rm);
        }
        return li;
      }

      function drop(serviceId) {
        v.plan = v.plan.filter((p) => p.service.id !== serviceId);
        if (v.problem && v.problem.service_id === serviceId) v.problem = null;
        if (!v.plan.length) return api.goHome();
        render();
      }

      function render() {
        $("visit-steps").replaceChildren(...v.plan.map(stepItem));
        $("visit-add-btn").hidden = v.plan.length >= MAX_STEPS;
        const prob = $("visit-problem");
        prob.hidden = !v.problem;
        if (v.problem) {
          const found = v.plan.find((p) => p.service.id === v.problem.service_id);
          const name = found ? found.service.name : "";
          $("visit-problem-msg").textContent = fmt(T.v_not_available, { name, message: v.problem.message });
          $("visit-without-btn").textContent = fmt(T.v_without, { name });
          $("visit-without-btn").hidden = v.plan.length < 2;
        }
        // The first step is the ticket's own service and agency (its number and printed head).
        if (v.plan.length) {
          state.service = v.plan[0].service;
          state.agency = v.plan[0].agency;
        }
      }

      function renderPackages() {
        const wrap = $("package-wrap");
        if (!wrap) return;
        const pkgs = (state.packages || []).filter((p) => p.service_ids.every(findService));
        wrap.hidden = !pkgs.length || v.adding;
        $("package-list").replaceChildren(...pkgs.map((pkg) => {
          const b = el("button", "k-tile k-service k-package");
          b.type = "button";
          b.dataset.packageId = pkg.id;
          const body = el("span", "k-tile-body");
          body.append(el("span", "k-tile-title", pkg.name));
          body.append(el("span", "k-tile-meta", fmt(T.n_services, { n: pkg.service_ids.length })
            + ": " + pkg.service_ids.map((id) => findService(id).service.name).join(" → ")));
          if (pkg.description) body.append(el("span", "k-tile-meta", pkg.description));
          b.append(body);
          b.addEventListener("click", () => choosePackage(pkg));
          return b;
        }));
      }

      // The body's extra fields of an issue, while a visit is planned.
      function extra() {
        if (!active()) return null;
        const out = { next_service_ids: v.plan.slice(1).map((p) => p.service.id) };
        if (v.pkg) out.package_id = v.pkg.id;
        return out;
      }

      // A step refused at issue (closed or full): say which and offer the visit without it.
      function onStepRefused(err) {
        if (!active() || !err.service_id || !v.plan.some((p) => p.service.id === err.service_id)) {
          return false;
        }
        v.problem = { service_id: err.service_id, message: err.message || "" };
        render();
        state.history = ["agencies"];
        api.show("visit");
        api.refreshCatalog();
        return true;
      }

      function fillSteps(node, t) {
        const list = node.querySelector('[data-f="steps"]');
        const title = node.querySelector('[data-f="steps-title"]');
        if (!list) return;
        const steps = t.steps || [];
        list.hidden = title.hidden = steps.length < 2;
        list.replaceChildren(...steps.map((st) => {
          const found = findService(st.service_id);
          const li = el("li", "t-step");
          if (!found) return li;
          const where = api.floorText(found.agency);
          li.textContent = found.service.name + " — " + found.agency.name + (where ? " (" + where + ")" : "");
          return li;
        }));
      }

      document.addEventListener("DOMContentLoaded", () => {
        $("add-step-btn").addEventListener("click", startAdding);
        $("visit-add-btn").addEventListener("click", startAdding);
        $("visit-banner-done").addEventListener("click", () => {
          v.adding = false;
          banner();
          render();
          api.show("visit");
        });
        $("visit-take-btn").addEventListener("click", () => api.takeTicket(null));
        $("visit-priority-btn").addEventListener("click", () => {
          $("priority-service").textContent = v.plan.map((p) => p.service.name).join(" → ");
          api.show("priority", { push: true });
        });
        $("visit-without-btn").addEventListener("click", () => {
          if (!v.problem) return;
          const sid = v.problem.service_id;
          v.problem = null;
          drop(sid);
          if (v.plan.length) api.takeTicket(null);
        });
      });

      return { reset, active, startAdding, adding: () => v.adding, addService, render, renderPackages, extra,
               onStepRefused, fillSteps };
    },
  };
})();
