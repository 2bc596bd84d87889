/* Progressive enhancement for the job page: poll the job's progress and update the bar; without this script the
   page shows the same figures and a link to reload it. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-finished") === "yes") { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("job-bar");
  var status = document.getElementById("job-status");
  var numbers = document.getElementById("job-numbers");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        bar.value = job.percent;
        bar.textContent = job.percent + " %";
        status.textContent = job.label;
        numbers.textContent = job.numbers;
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
