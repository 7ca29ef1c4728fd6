/* bulk_admin: live progress of an import job, and a commit that shows its progress. */
"use strict";
(function () {
  function poll(url, panel) {
    var bar = panel.querySelector(".bulk-import-bar");
    var rows = panel.querySelector(".rows");
    var rate = panel.querySelector(".rate");
    var left = panel.querySelector(".left");
    var message = panel.querySelector(".bulk-import-message");
    var total = panel.querySelector(".total");
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (bar && data.percent !== null && data.percent !== undefined) {
            bar.value = data.percent;
          }
          if (rows) { rows.textContent = data.rows; }
          if (total && data.total) { total.textContent = data.total; }
          if (rate) { rate.textContent = Math.round(data.rate); }
          if (left) {
            left.textContent = data.seconds_left ? "· ~" + Math.round(data.seconds_left) + " s" : "";
          }
          if (data.redirect) {
            window.location.assign(data.redirect);
            return;
          }
          if (data.finished) {
            if (message && data.message) {
              message.textContent = data.message;
              message.hidden = false;
            }
            window.location.reload();
            return;
          }
          window.setTimeout(tick, 500);
        })
        .catch(function () { window.setTimeout(tick, 2000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.querySelector(".bulk-import-progress");
    if (panel && panel.dataset.statusUrl) {
      poll(panel.dataset.statusUrl, panel);
    }
    // Disable a submit button once clicked: one click, one import.
    document.querySelectorAll("form.bulk-import-commit, form.bulk-import-mapping, form.bulk-import-upload")
      .forEach(function (form) {
        form.addEventListener("submit", function () {
          form.querySelectorAll("input[type=submit]").forEach(function (button) {
            window.setTimeout(function () { button.disabled = true; }, 0);
          });
        });
      });
  });
})();
