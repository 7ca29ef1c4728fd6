/* bulk_admin: live progress of an import job, and a commit that shows its progress. */
"use strict";
(function () {
  function poll(url, panel, waitForStart) {
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
          if (waitForStart && data.status === "validated") {
            // The commit request has not started the job yet. Show nothing of this
            // status: its counts and 100 % are the validation's, not the import's.
            window.setTimeout(tick, 300);
            return;
          }
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
          if (data.finished && data.status !== "validated") {
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
    // Commit: show the progress here while the import runs. With the immediate task
    // backend the POST returns only when the import is done; with a worker it returns at
    // once. Either way the status endpoint drives the bar and says where to go next.
    var commit = document.querySelector("form.bulk-import-commit");
    var livePanel = document.querySelector(".bulk-import-live");
    if (commit && livePanel && window.fetch && window.FormData) {
      commit.addEventListener("submit", function (event) {
        event.preventDefault();
        var buttons = commit.querySelectorAll("input[type=submit]");
        buttons.forEach(function (button) { button.disabled = true; });
        livePanel.hidden = false;
        fetch(commit.action, {method: "POST", body: new FormData(commit), credentials: "same-origin"})
          .then(function (response) {
            // Refused (invalid rows, stale page): the preview says why.
            if (!response.ok || response.url.indexOf("/preview/") !== -1) { window.location.reload(); }
          })
          .catch(function () { /* the status poll still reports the outcome */ });
        poll(commit.dataset.statusUrl, livePanel, true);
      });
    }
    // Disable a submit button once clicked: one click, one import.
    document.querySelectorAll("form.bulk-import-mapping, form.bulk-import-upload")
      .forEach(function (form) {
        form.addEventListener("submit", function () {
          form.querySelectorAll("input[type=submit]").forEach(function (button) {
            window.setTimeout(function () { button.disabled = true; }, 0);
          });
        });
      });
  });
})();
