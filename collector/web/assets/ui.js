// Operator pages: a button or form with data-confirm asks before it
// submits (resolve an incident, end a maintenance window now).
"use strict";
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const ask = (ev.submitter && ev.submitter.dataset.confirm) || form.dataset.confirm;
  if (ask && !window.confirm(ask)) {
    ev.preventDefault();
  }
});
