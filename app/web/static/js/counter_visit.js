/* Counter console: the current ticket's whole visit (several services on one ticket).
 * counter.js sends "console:snapshot" with the console's view and its API helpers; an officer
 * of the current step adds a service, drops a step not started yet, or moves one up or down.
 * Data is put in the page with textContent only. */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var node = document.getElementById("visit-i18n");
  var T = node ? JSON.parse(node.textContent) : {};
  var last = null;

  var el = MPP.text;

  function button(label, text, onClick, disabled) {
    var b = el("button", "btn btn-small", text);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.title = label;
    b.disabled = !!disabled;
    b.addEventListener("click", onClick);
    return b;
  }

  function change(fn) {
    if (!last) return;
    last.act(fn);
  }

  function reorder(cur, pendingIds, from, to) {
    var ids = pendingIds.slice();
    var moved = ids.splice(from, 1)[0];
    ids.splice(to, 0, moved);
    change(function () {
      return last.api("PUT", "/api/v1/tickets/" + cur.id + "/steps/order", { step_ids: ids });
    });
  }

  function render(detail) {
    last = detail;
    var cur = detail.snap.current;
    var panel = document.getElementById("visit-panel");
    var steps = (cur && cur.steps) || [];
    panel.hidden = !cur;
    var list = document.getElementById("visit-steps");
    if (!cur) { list.replaceChildren(); return; }
    var pending = steps.filter(function (s) { return s.status === "pending"; });
    var pendingIds = pending.map(function (s) { return s.id; });
    list.replaceChildren.apply(list, steps.map(function (s) {
      var li = el("li", "visit-step");
      li.dataset.status = s.status;
      li.dataset.serviceId = s.service_id;
      if (s.current) li.classList.add("is-current");
      li.appendChild(el("span", "visit-step-name", s.service + " · " + s.agency));
      li.appendChild(el("span", "badge visit-step-status", T[s.status] || s.status));
      var i = pendingIds.indexOf(s.id);
      if (detail.operate && i >= 0) {
        var tools = el("span", "visit-step-tools");
        tools.appendChild(button(T.up + ": " + s.service, "↑", function () {
          reorder(cur, pendingIds, i, i - 1);
        }, i === 0));
        tools.appendChild(button(T.down + ": " + s.service, "↓", function () {
          reorder(cur, pendingIds, i, i + 1);
        }, i === pendingIds.length - 1));
        tools.appendChild(button(T.drop + ": " + s.service, "×", function () {
          change(function () {
            return last.api("DELETE", "/api/v1/tickets/" + cur.id + "/steps/" + s.id);
          });
        }));
        li.appendChild(tools);
      }
      return li;
    }));
  }

  root.addEventListener("console:snapshot", function (ev) { render(ev.detail); });

  var form = document.getElementById("visit-add-form");
  if (form) form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var cur = last && last.snap.current;
    var select = document.getElementById("visit-add-service");
    var serviceId = Number(select.value);
    if (!cur || !serviceId) return;
    select.value = "";
    change(function () {
      return last.api("POST", "/api/v1/tickets/" + cur.id + "/steps", { service_id: serviceId });
    });
  });
})();
