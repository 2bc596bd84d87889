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

/* The import form: the file goes straight to storage through a presigned upload (an S3 presigned POST in the
   cloud, the API's signed upload route locally), then the job starts naming the upload; the API's 6 MB request cap
   does not bound the file. Should any step fail, the form is posted as it is (the file through the console). */
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var note = document.getElementById("import-uploading");
  function field(name) { var input = form.elements[name]; return input ? input.value : ""; }
  function chosen() {  // the registry picked, or the form's one kind (a court's measures)
    var checked = form.querySelector("input[name=registry]:checked");
    return checked ? checked.value : (form.getAttribute("data-kind") || "");
  }
  function refusedOr(answer) { return answer.ok ? answer : Promise.reject(answer); }
  form.addEventListener("submit", function (event) {
    var file = form.elements.file.files[0];
    if (!file || !chosen()) { return; }
    event.preventDefault();
    note.hidden = false;
    var reserve = new FormData();
    reserve.append("csrf_token", field("csrf_token"));
    reserve.append("registry", chosen());
    reserve.append("file_name", file.name);
    fetch(form.getAttribute("data-upload-url"), { method: "POST", body: reserve, credentials: "same-origin",
                                                  headers: { "Accept": "application/json" } })
      .then(refusedOr)
      .then(function (answer) { return answer.json(); })
      .then(function (ticket) {
        var post = new FormData();
        Object.keys(ticket.upload.fields).forEach(function (name) { post.append(name, ticket.upload.fields[name]); });
        post.append("file", file);
        return fetch(ticket.upload.url, { method: "POST", body: post, credentials: "omit" })
          .then(refusedOr)
          .then(function () { return ticket; });
      })
      .then(function (ticket) {
        var start = document.createElement("form");
        start.method = "post";
        start.action = form.getAttribute("data-start-url");
        [["csrf_token", field("csrf_token")], ["back", field("back")], ["registry", chosen()],
         ["upload_id", ticket.upload_id]].forEach(function (pair) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = pair[0];
          input.value = pair[1];
          start.appendChild(input);
        });
        document.body.appendChild(start);
        start.submit();
      })
      .catch(function () { note.hidden = true; form.submit(); });
  });
}());
