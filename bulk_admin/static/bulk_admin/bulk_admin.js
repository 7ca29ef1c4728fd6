/* bulk_admin: live progress of an import job, and a commit that shows its progress. */
"use strict";
(function () {
  // Update the bar from the status endpoint; on the progress page (navigate) also go where
  // the job's state says once it is finished.
  function poll(url, panel, navigate) {
    var bar = panel.querySelector(".bulk-import-bar");
    var rows = panel.querySelector(".rows");
    var rate = panel.querySelector(".rate");
    var left = panel.querySelector(".left");
    var message = panel.querySelector(".bulk-import-message");
    var total = panel.querySelector(".total");
    var state = panel.querySelector(".bulk-import-state");
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (!navigate && data.finished) {
            // The job has not started yet (or has just ended): the counts are the previous
            // step's, so show nothing of them; the form's own request says where to go.
            window.setTimeout(tick, 300);
            return;
          }
          if (state && data.state) {
            state.textContent = state.dataset[data.state] || "";
          }
          if (bar && data.percent !== null && data.percent !== undefined) {
            bar.value = data.percent;
          }
          if (rows) { rows.textContent = data.rows; }
          if (total && data.total) { total.textContent = data.total; }
          if (rate) { rate.textContent = Math.round(data.rate); }
          if (left) {
            // The template's translated text, so that a translated page stays translated.
            left.textContent = data.seconds_left && left.dataset.template
              ? "· " + left.dataset.template.replace("__seconds__", Math.round(data.seconds_left))
              : "";
          }
          if (!navigate) {
            window.setTimeout(tick, 500);
            return;
          }
          if (data.redirect) {
            window.location.assign(data.redirect);
            return;
          }
          if (data.finished) {
            // Failed or cancelled: the page, rendered again, shows the message and stops
            // polling (it has no status URL once the job is finished).
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
    // "div": the page's <body> carries the class "bulk-import-progress" too (its step).
    var panel = document.querySelector("div.bulk-import-progress");
    if (panel && panel.dataset.statusUrl) {
      poll(panel.dataset.statusUrl, panel, true);
    }
    // Mapping and commit: show the progress on this page while the job runs. With the
    // immediate task backend the POST returns only when the job is done; with a worker it
    // returns at once. Either way the status endpoint drives the bar and says where to go.
    document.querySelectorAll("form[data-status-url]").forEach(function (form) {
      var live = document.querySelector(".bulk-import-live");
      if (!live || !window.fetch || !window.FormData) { return; }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var data = new FormData(form);
        form.querySelectorAll("input[type=submit], select").forEach(function (input) { input.disabled = true; });
        live.hidden = false;
        fetch(form.action || window.location.href, {method: "POST", body: data, credentials: "same-origin"})
          .then(function (response) {
            if (!response.ok || !response.redirected) {
              // Refused (a form error, invalid rows, a stale page): show the answer.
              return response.text().then(function (html) {
                document.open();
                document.write(html);
                document.close();
              });
            }
            // The job's page: the result, the preview, or its progress page with a worker.
            window.location.assign(response.url);
          })
          .catch(function () { /* the status poll still reports the outcome */ });
        poll(form.dataset.statusUrl, live, false);
      });
    });
    // Disable a submit button once clicked: one click, one import.
    document.querySelectorAll("form.bulk-import-upload")
      .forEach(function (form) {
        form.addEventListener("submit", function () {
          form.querySelectorAll("input[type=submit]").forEach(function (button) {
            window.setTimeout(function () { button.disabled = true; }, 0);
          });
        });
      });
  });
})();
