/* Severity and account filters for report.html. Without JavaScript the form stays hidden and
   every finding is shown. Allowed by the page's CSP through the hash of this exact text. */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var sevBoxes = Array.prototype.slice.call(form.querySelectorAll("input[data-sev]"));
  var account = document.getElementById("filter-account");
  var count = document.getElementById("filter-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-finding]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-rule-group]"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-account-section]"));
  function apply() {
    var wanted = {};
    sevBoxes.forEach(function (box) { wanted[box.value] = box.checked; });
    var acct = account.value;
    var shown = 0;
    items.forEach(function (el) {
      var ok = wanted[el.getAttribute("data-severity")] === true &&
        (acct === "" || el.getAttribute("data-account") === acct);
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    groups.forEach(function (group) {
      group.hidden = group.querySelector("[data-finding]:not([hidden])") === null;
    });
    sections.forEach(function (section) {
      section.hidden = acct !== "" && section.getAttribute("data-account-section") !== acct;
    });
    count.textContent = "Showing " + shown + " of " + items.length + " findings";
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
}());
