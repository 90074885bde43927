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

(function () {
  "use strict";
  var panel = document.getElementById("beslut");
  if (!panel) { return; }
  // Marking needs this script; without it the page shows no controls.
  panel.hidden = false;
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-finding]"));
  var status = document.getElementById("beslut-status");
  var changes = [];
  try { changes = JSON.parse(panel.getAttribute("data-changes") || "[]"); } catch (e) { changes = []; }

  rows.forEach(function (row) {
    var select = row.querySelector("select.beslut");
    var accept = row.querySelector(".accept");
    if (!select || !accept) { return; }
    select.addEventListener("change", function () {
      accept.hidden = select.value !== "accepteras";
      row.setAttribute("data-beslut", select.value);
    });
  });

  function decision(row) {
    var select = row.querySelector("select.beslut");
    return select ? select.value : "";
  }

  function field(row, cls) {
    var input = row.querySelector("input." + cls);
    return input ? input.value.trim() : "";
  }

  // A TOML basic string.
  function toml(text) {
    return "\"" + text.replace(/[\\"]/g, function (c) { return "\\" + c; })
      .replace(/[\u0000-\u001f\u007f]/g, function (c) {
        return "\\u" + ("000" + c.charCodeAt(0).toString(16)).slice(-4);
      }) + "\"";
  }

  function oneLine(text) {
    return text.replace(/[\u0000-\u001f\u007f]/g, " ");
  }

  function save(name, type, text) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: type }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.getElementById("ladda-undantag").addEventListener("click", function () {
    var accepted = rows.filter(function (row) { return decision(row) === "accepteras"; });
    if (accepted.length === 0) {
      status.textContent = "Inga fynd är markerade som accepterade.";
      return;
    }
    var missing = accepted.filter(function (row) {
      return !field(row, "skal") || !field(row, "godkant") ||
        !/^\d{4}-\d{2}-\d{2}$/.test(field(row, "tom"));
    });
    if (missing.length > 0) {
      status.textContent = "Skäl, godkännare och slutdatum saknas för " +
        missing.map(function (row) { return row.dataset.subject; }).join(", ") + ".";
      return;
    }
    var out = "# Undantag beslutade i granskningen " + panel.dataset.asOf + ".\n";
    accepted.forEach(function (row) {
      var d = row.dataset;
      out += "\n# fynd " + d.finding + ": " + oneLine(d.subject) + ", " + oneLine(d.access) + "\n";
      out += "[[exception]]\n";
      out += "rule = " + toml(d.rule) + "\n";
      out += "data_source = " + toml(d.source) + "\n";
      ["account", "group", "role", "scope"].forEach(function (key) {
        if (d[key]) { out += key + " = " + toml(d[key]) + "\n"; }
      });
      out += "reason = " + toml(field(row, "skal")) + "\n";
      out += "approved_by = " + toml(field(row, "godkant")) + "\n";
      out += "expires = " + field(row, "tom") + "\n";
    });
    save("undantag.toml", "application/toml", out);
    status.textContent = accepted.length + " undantag har laddats ner.";
  });

  document.getElementById("ladda-plan").addEventListener("click", function () {
    var rest = rows.filter(function (row) {
      var d = decision(row);
      return d !== "accepteras" && d !== "felaktig-policy";
    });
    var wrong = rows.filter(function (row) { return decision(row) === "felaktig-policy"; });
    var ids = {};
    rest.forEach(function (row) { ids[row.dataset.finding] = true; });
    var out = "# Åtgärdsplan från granskningen " + panel.dataset.asOf + "\n\n## Ändringar\n\n";
    var listed = 0;
    changes.forEach(function (c) {
      var n = c.fixes.filter(function (id) { return ids[id]; }).length;
      if (n === 0 && c.fixes.length > 0) { return; }
      listed += 1;
      out += listed + ". " + oneLine(c.text) + (n > 0 ? " (avslutar " + n + " fynd)" : "") +
        (c.owner ? "; godkänns av " + oneLine(c.owner) : "") + "\n";
    });
    if (listed === 0) { out += "Inga ändringar.\n"; }
    out += "\n## Fynd som ska åtgärdas\n\n";
    rest.forEach(function (row) {
      var d = row.dataset;
      out += "- `" + d.finding + "` " + d.rule + ", " + oneLine(d.subject) + ", " + oneLine(d.access) + "\n";
    });
    if (wrong.length > 0) {
      out += "\n## Fynd där policyn är fel\n\n";
      wrong.forEach(function (row) {
        var d = row.dataset;
        out += "- `" + d.finding + "` " + d.rule + ", " + oneLine(d.subject) + ", " + oneLine(d.access) + "\n";
      });
    }
    save("atgardsplan.md", "text/markdown", out);
    status.textContent = "Åtgärdsplanen har laddats ner.";
  });
})();
