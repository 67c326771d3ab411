// Small behaviours the pages share. No inline script anywhere: the Content-Security-Policy forbids it.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One click, one submission: a double click must not send the form twice.
  if (form.dataset.submitted === "yes") {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "yes";
  var buttons = form.querySelectorAll("button[type=submit]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].setAttribute("aria-busy", "true");
  }
});
// Coming back with the browser's back button shows a fresh form, not a stuck one.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submitted]").forEach(function (form) {
    delete form.dataset.submitted;
    form.querySelectorAll("[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); });
  });
});
// On the change request form, show only the parts that belong to the chosen kind.
(function () {
  var form = document.getElementById("request-form");
  if (!form) return;
  function sync() {
    var chosen = form.querySelector("input[name=kind]:checked");
    var kind = chosen ? chosen.value : "";
    form.querySelectorAll("[data-kind-section]").forEach(function (section) {
      section.hidden = kind !== "" && section.getAttribute("data-kind-section") !== kind;
    });
    // An addendum has nobody left to save: Retention is not offered for it.
    var retention = form.querySelector("input[name=escalation][value=retention]");
    if (retention) {
      retention.disabled = kind === "addendum";
      if (retention.disabled) retention.checked = false;
    }
  }
  form.addEventListener("change", sync);
  sync();
})();
// On the retention call form, show the questions of the chosen outcome only.
(function () {
  var form = document.getElementById("outcome-form");
  if (!form) return;
  function sync() {
    var chosen = form.querySelector("input[name=outcome]:checked");
    var outcome = chosen ? chosen.value : "";
    form.querySelectorAll("[data-outcome-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-outcome-section").split(" ").indexOf(outcome) < 0;
    });
  }
  form.addEventListener("change", sync);
  sync();
})();
