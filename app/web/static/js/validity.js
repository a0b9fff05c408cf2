/* Browser-native validation messages in the page's language (issue 17): a form that carries
   data-msg-choose (and optionally data-msg-fill) gets those Babel-translated texts instead of
   the browser's own ("Please select one of these options." on an Indonesian page). */
"use strict";
(function () {
  for (const form of document.querySelectorAll("form[data-msg-choose]")) {
    const choose = form.dataset.msgChoose;
    const fill = form.dataset.msgFill || choose;
    form.addEventListener("invalid", (ev) => {
      const field = ev.target;
      if (field.validity.valueMissing) {
        field.setCustomValidity(field.type === "radio" || field.type === "checkbox" ||
          field.tagName === "SELECT" ? choose : fill);
      }
    }, true);
    const clear = (ev) => {
      const field = ev.target;
      if (!field || !field.setCustomValidity) return;
      // A radio group: clearing one member is not enough, the others keep the message.
      const group = field.name ? form.querySelectorAll('[name="' + field.name + '"]') : [field];
      for (const f of group) f.setCustomValidity("");
    };
    form.addEventListener("change", clear);
    form.addEventListener("input", clear);
    form.addEventListener("reset", () => {
      for (const f of form.elements) if (f.setCustomValidity) f.setCustomValidity("");
    });
  }
})();
