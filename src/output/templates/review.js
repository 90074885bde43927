(function () {
  "use strict";
  var table = document.getElementById("fynd");
  var form = document.getElementById("filter");
  var counter = document.getElementById("antal");
  if (!table || !form || !counter) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  rows.forEach(function (row, i) { row.setAttribute("data-order", String(i)); });
  var total = rows.length;
  // The filters need this script; without it the page shows every row.
  form.hidden = false;

  function value(id) {
    var el = document.getElementById(id);
    return el ? el.value : "";
  }

  function words(text) {
    return " " + text + " ";
  }

  function applyFilters() {
    var source = value("f-kalla");
    var rule = value("f-regel");
    var severity = value("f-allvar");
    var klass = value("f-klass");
    var status = value("f-status");
    var aggregate = value("f-grupp");
    var use = value("f-anvand");
    var text = value("f-text").trim().toLocaleLowerCase("sv");
    var shown = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var match = (!source || d.source === source) &&
        (!rule || d.rule === rule) &&
        (!severity || d.severity === severity) &&
        (!klass || words(d.classification).indexOf(words(klass)) >= 0) &&
        (!status || d.status === status) &&
        (!aggregate || d.aggregate === aggregate) &&
        (!use || d.use === use) &&
        (!text || row.textContent.toLocaleLowerCase("sv").indexOf(text) >= 0);
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    counter.textContent = shown === total
      ? "Visar alla " + total + " fynd"
      : "Visar " + shown + " av " + total + " fynd";
  }

  form.addEventListener("input", applyFilters);
  form.addEventListener("change", applyFilters);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  var clear = document.getElementById("f-rensa");
  if (clear) {
    clear.addEventListener("click", function () {
      form.reset();
      applyFilters();
    });
  }

  function sortKey(row, column) {
    var cell = row.cells[column];
    if (!cell) { return ""; }
    var key = cell.getAttribute("data-key");
    return key !== null ? Number(key) : cell.textContent.trim().toLocaleLowerCase("sv");
  }

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th) {
    var button = th.querySelector("button[data-sort]");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var column = Number(button.getAttribute("data-sort"));
      var current = th.getAttribute("aria-sort");
      var numeric = column === 0;
      var ascending = current === "none" ? !numeric : current === "descending";
      var direction = ascending ? 1 : -1;
      rows.sort(function (a, b) {
        var x = sortKey(a, column);
        var y = sortKey(b, column);
        var c = typeof x === "number" && typeof y === "number"
          ? x - y
          : String(x).localeCompare(String(y), "sv");
        if (c === 0) {
          return Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
        }
        return c * direction;
      });
      rows.forEach(function (row) { tbody.appendChild(row); });
      headers.forEach(function (other) {
        if (other.querySelector("button[data-sort]")) { other.setAttribute("aria-sort", "none"); }
      });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-show-aggregate]"), function (button) {
    button.addEventListener("click", function () {
      form.reset();
      var select = document.getElementById("f-grupp");
      if (select) { select.value = button.getAttribute("data-show-aggregate"); }
      applyFilters();
      var heading = document.getElementById("fynd-rubrik");
      if (heading) {
        heading.scrollIntoView();
        heading.focus();
      }
    });
  });

  applyFilters();
})();
