(function () {
  "use strict";
  var started = performance.now();
  var table = document.getElementById("fynd");
  var form = document.getElementById("filter");
  var counter = document.getElementById("antal");
  var block = document.getElementById("fynd-data");
  if (!table || !form || !counter || !block) { return; }
  var data;
  try { data = JSON.parse(block.textContent); } catch (e) { return; }
  // The page's own timing, in milliseconds, for whoever measures it:
  // `ready` from the start of the script to the first rows shown, `update`
  // for the last filter, cause or sort until the next frame.
  var timing = window.behorigTiming = { ready: null, update: null, updates: 0 };
  var S = data.s;
  var F = data.f;
  var names = data.names;
  var total = F.length;
  var tbody = table.tBodies[0];
  var more = document.getElementById("mer");
  var moreButton = document.getElementById("visa-fler");
  var hasStatus = !!document.getElementById("f-status");
  var hasUse = !!document.getElementById("f-anvand");
  // The columns of a finding in the data block (see the page's generator).
  var ID = 0, RULE = 1, SEV = 2, CLS = 3, SRC = 4, SUBJ = 5, KIND = 6, ACCESS = 7,
    PATH = 8, MSG = 9, STATUS = 10, FIRST = 11, IMY = 12, AGG = 13, USE = 14,
    EVENTS = 15, USETEXT = 16, ACC = 17, GRP = 18, ROLE = 19, SCOPE = 20, CHANGE = 21;
  // Rows shown at first and added each time the reader asks for more; a
  // small report shows all its rows at once.
  var STEP = 200;
  var FIRST_ALL = 1000;
  var initialLimit = total <= FIRST_ALL ? total : STEP;
  var limit = initialLimit;
  var collator = new Intl.Collator("sv");

  function s(i) { return i >= 0 ? S[i] : ""; }
  function message(f) { return f[MSG] >= 0 ? S[f[SUBJ]] + S[f[MSG]] : S[-2 - f[MSG]]; }
  var sourceCount = Object.keys(names.sources).length;
  function source(f) {
    var x = names.sources[S[f[SRC]]];
    return x ? x : [S[f[SRC]], sourceCount];
  }
  function severity(f) { return names.severities[S[f[SEV]]] || [S[f[SEV]], 0]; }
  function classLabels(f) {
    return S[f[CLS]].split(" ").filter(Boolean).map(function (c) { return names.classes[c] || c; }).join(", ");
  }
  function statusLabel(f) {
    var st = S[f[STATUS]];
    return st === "new" ? "Ny" : st === "persisting" ? "Kvarstår" : "";
  }
  function pathSteps(f) {
    var p = f[PATH], out = [];
    for (var k = 0; k + 1 < p.length; k += 2) { out.push([S[p[k]], S[p[k + 1]]]); }
    return out;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  var decisions = {};
  var built = [];

  function build(i) {
    var f = F[i];
    var tr = document.createElement("tr");
    tr.behorigIndex = i;
    var d = tr.dataset;
    d.finding = f[ID];
    d.source = S[f[SRC]];
    d.rule = S[f[RULE]];
    d.severity = S[f[SEV]];
    d.classification = S[f[CLS]];
    d.status = S[f[STATUS]];
    d.use = S[f[USE]];
    d.aggregate = s(f[AGG]);
    d.account = s(f[ACC]);
    d.group = s(f[GRP]);
    d.role = s(f[ROLE]);
    d.scope = s(f[SCOPE]);
    d.subject = S[f[SUBJ]];
    d.access = S[f[ACCESS]];
    var sev = severity(f);
    var td = el("td");
    td.setAttribute("data-key", String(sev[1]));
    td.appendChild(el("span", "sev sev-" + S[f[SEV]], sev[0]));
    tr.appendChild(td);
    var src = source(f);
    td = el("td", null, src[0]);
    td.setAttribute("data-key", String(src[1]));
    tr.appendChild(td);
    td = el("td");
    td.appendChild(el("code", null, S[f[RULE]]));
    td.appendChild(el("br"));
    td.appendChild(el("span", "hint", names.rules[S[f[RULE]]] || ""));
    tr.appendChild(td);
    td = el("td", "subject");
    td.appendChild(document.createTextNode(S[f[SUBJ]]));
    if (S[f[KIND]]) {
      td.appendChild(document.createTextNode(" "));
      td.appendChild(el("span", "hint", "(" + S[f[KIND]] + ")"));
    }
    tr.appendChild(td);
    tr.appendChild(el("td", null, S[f[ACCESS]]));
    tr.appendChild(el("td", null, classLabels(f)));
    if (hasStatus) {
      td = el("td");
      if (S[f[STATUS]]) { td.appendChild(el("span", "status status-" + S[f[STATUS]], statusLabel(f))); }
      if (f[FIRST] >= 0) { td.appendChild(el("br")); td.appendChild(el("span", "hint", "sedan " + S[f[FIRST]])); }
      if (f[IMY] >= 0) { td.appendChild(el("br")); td.appendChild(el("span", "imy-clock", S[f[IMY]])); }
      tr.appendChild(td);
    }
    if (hasUse) {
      td = el("td");
      td.setAttribute("data-key", String(f[EVENTS]));
      if (S[f[USE]] === "used") { td.appendChild(el("strong", "used", S[f[USETEXT]])); } else { td.textContent = S[f[USETEXT]]; }
      tr.appendChild(td);
    }
    var steps = pathSteps(f);
    td = el("td", "evidence");
    td.appendChild(el("span", "print-only", steps.map(function (x) { return x[1]; }).join(" → ")));
    var details = el("details");
    var summary = el("summary", null, "Visa väg");
    summary.appendChild(el("span", "visually-hidden", " för " + S[f[SUBJ]]));
    details.appendChild(summary);
    var ol = el("ol", "path");
    steps.forEach(function (x) {
      var li = el("li");
      li.appendChild(el("span", "step", x[0]));
      li.appendChild(document.createTextNode(" " + x[1]));
      ol.appendChild(li);
    });
    details.appendChild(ol);
    details.appendChild(el("p", "message", message(f)));
    var hint = el("p", "hint", "Fynd-id ");
    hint.appendChild(el("code", null, f[ID]));
    details.appendChild(hint);
    td.appendChild(details);
    tr.appendChild(td);
    td = el("td", "decision");
    if (f[CHANGE] >= 0) { td.appendChild(el("p", "change", "Föreslagen ändring: " + S[f[CHANGE]])); }
    var select = el("select", "beslut");
    select.setAttribute("aria-label", "Beslut för " + S[f[SUBJ]] + ", " + S[f[ACCESS]]);
    [["", "Inte beslutat"], ["atgardas", "Åtgärdas"], ["accepteras", "Accepteras"], ["felaktig-policy", "Felaktig policy"]]
      .forEach(function (o) { var opt = el("option", null, o[1]); opt.value = o[0]; select.appendChild(opt); });
    td.appendChild(select);
    var accept = el("div", "accept");
    accept.hidden = true;
    [["Skäl", "skal", "text"], ["Godkänt av", "godkant", "text"], ["Gäller t.o.m.", "tom", "date"]].forEach(function (x) {
      var label = el("label", null, x[0] + " ");
      var input = el("input", x[1]);
      input.type = x[2];
      if (x[2] === "text") { input.setAttribute("autocomplete", "off"); }
      label.appendChild(input);
      accept.appendChild(label);
    });
    td.appendChild(accept);
    tr.appendChild(td);
    return tr;
  }

  function row(i) {
    if (!built[i]) { built[i] = build(i); }
    return built[i];
  }

  // Everything a row says, lower case, for the free-text filter.
  var haystacks = [];
  function haystack(i) {
    if (haystacks[i] === undefined) {
      var f = F[i];
      haystacks[i] = [severity(f)[0], source(f)[0], S[f[RULE]], names.rules[S[f[RULE]]] || "",
        S[f[SUBJ]], S[f[KIND]], S[f[ACCESS]], classLabels(f), statusLabel(f), s(f[FIRST]),
        s(f[IMY]), S[f[USETEXT]], pathSteps(f).map(function (x) { return x[1]; }).join(" → "),
        message(f), f[ID], s(f[CHANGE])].join(" ").toLowerCase();
    }
    return haystacks[i];
  }

  // The free-text filter's texts are made while the reader looks at the
  // first rows, a slice at a time, so that the first keystroke finds them.
  function warm(from) {
    var upto = Math.min(total, from + 2000);
    for (var i = from; i < upto; i += 1) { haystack(i); }
    if (upto < total) { setTimeout(function () { warm(upto); }, 0); }
  }

  var lastKey = null;
  var sorted = 0;
  var order = [];
  for (var n = 0; n < total; n += 1) { order.push(n); }
  var matches = order;
  var printing = false;

  function value(id) {
    var e = document.getElementById(id);
    return e ? e.value : "";
  }

  function words(text) {
    return " " + text + " ";
  }

  function render() {
    var shown = printing ? order : matches;
    var upto = printing ? shown.length : Math.min(limit, shown.length);
    var fragment = document.createDocumentFragment();
    for (var k = 0; k < upto; k += 1) { fragment.appendChild(row(shown[k])); }
    tbody.textContent = "";
    tbody.appendChild(fragment);
    if (more) {
      more.hidden = upto >= shown.length;
      if (moreButton) {
        moreButton.textContent = "Visa fler fynd (" + upto + " av " + shown.length + " visas)";
      }
    }
  }

  function timed(change) {
    var t = performance.now();
    change();
    requestAnimationFrame(function () {
      setTimeout(function () {
        timing.update = performance.now() - t;
        timing.updates += 1;
      }, 0);
    });
  }

  function filter() {
    var src = value("f-kalla");
    var rule = value("f-regel");
    var sev = value("f-allvar");
    var klass = value("f-klass");
    var status = value("f-status");
    var aggregate = value("f-grupp");
    var use = value("f-anvand");
    var text = value("f-text").trim().toLowerCase();
    // A change event that changes nothing (a search box losing focus)
    // leaves the rows as they are: a row under the pointer stays put.
    var key = [src, rule, sev, klass, status, aggregate, use, text, sorted].join("\u0001");
    if (key === lastKey) { return; }
    lastKey = key;
    if (!src && !rule && !sev && !klass && !status && !aggregate && !use && !text) {
      matches = order;
    } else {
      matches = order.filter(function (i) {
        var f = F[i];
        return (!src || S[f[SRC]] === src) &&
          (!rule || S[f[RULE]] === rule) &&
          (!sev || S[f[SEV]] === sev) &&
          (!klass || words(S[f[CLS]]).indexOf(words(klass)) >= 0) &&
          (!status || S[f[STATUS]] === status) &&
          (!aggregate || s(f[AGG]) === aggregate) &&
          (!use || S[f[USE]] === use) &&
          (!text || haystack(i).indexOf(text) >= 0);
      });
    }
    limit = initialLimit;
    render();
    counter.textContent = matches.length === total
      ? "Visar alla " + total + " fynd"
      : "Visar " + matches.length + " av " + total + " fynd";
  }

  function applyFilters() { timed(filter); }

  form.hidden = false;
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

  function showMore() {
    if (limit >= matches.length) { return; }
    limit += STEP;
    render();
  }
  if (moreButton) { moreButton.addEventListener("click", showMore); }
  if (more && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { showMore(); }
    }, { rootMargin: "600px" }).observe(more);
  }

  function sortKey(i, column) {
    var f = F[i];
    var use = hasStatus ? 7 : 6;
    if (column === 0) { return severity(f)[1]; }
    if (column === 1) { return source(f)[1]; }
    if (column === 2) { return S[f[RULE]] + (names.rules[S[f[RULE]]] || ""); }
    if (column === 3) { return S[f[SUBJ]] + (S[f[KIND]] ? " (" + S[f[KIND]] + ")" : ""); }
    if (column === 4) { return S[f[ACCESS]]; }
    if (column === 5) { return classLabels(f); }
    if (column === use && hasUse) { return f[EVENTS]; }
    if (column === 6 && hasStatus) { return statusLabel(f) + s(f[FIRST]) + s(f[IMY]); }
    return "";
  }

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th) {
    var button = th.querySelector("button[data-sort]");
    if (!button) { return; }
    button.addEventListener("click", function () {
      timed(function () {
        var column = Number(button.getAttribute("data-sort"));
        var current = th.getAttribute("aria-sort");
        var numeric = column === 0;
        var ascending = current === "none" ? !numeric : current === "descending";
        var direction = ascending ? 1 : -1;
        var keys = [];
        for (var k = 0; k < total; k += 1) { keys.push(sortKey(k, column)); }
        sorted += 1;
        order = order.slice().sort(function (a, b) {
          var x = keys[a];
          var y = keys[b];
          var c = typeof x === "number" && typeof y === "number" ? x - y : collator.compare(String(x), String(y));
          return c === 0 ? a - b : c * direction;
        });
        headers.forEach(function (other) {
          if (other.querySelector("button[data-sort]")) { other.setAttribute("aria-sort", "none"); }
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        filter();
      });
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

  // On paper the table shows every finding, whatever the filters.
  function printMode(on) {
    if (printing === on) { return; }
    printing = on;
    render();
  }
  window.addEventListener("beforeprint", function () { printMode(true); });
  window.addEventListener("afterprint", function () { printMode(false); });
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    var follow = function () { printMode(print.matches); };
    if (print.addEventListener) { print.addEventListener("change", follow); }
  }

  // Decisions live beside the data, so that rows can come and go.
  tbody.addEventListener("change", remember);
  tbody.addEventListener("input", remember);
  function remember(event) {
    var tr = event.target.closest("tr");
    if (!tr || tr.behorigIndex === undefined) { return; }
    var select = tr.querySelector("select.beslut");
    var accept = tr.querySelector(".accept");
    var field = function (cls) {
      var input = tr.querySelector("input." + cls);
      return input ? input.value.trim() : "";
    };
    decisions[tr.behorigIndex] = {
      value: select ? select.value : "",
      skal: field("skal"),
      godkant: field("godkant"),
      tom: field("tom")
    };
    if (accept && select) { accept.hidden = select.value !== "accepteras"; }
    if (select) { tr.setAttribute("data-beslut", select.value); }
  }

  filter();
  timing.ready = performance.now() - started;
  if (total > initialLimit) { setTimeout(function () { warm(0); }, 0); }

  var panel = document.getElementById("beslut");
  if (!panel) { return; }
  // Marking needs this script; without it the page shows no controls.
  panel.hidden = false;
  var status = document.getElementById("beslut-status");
  var changes = [];
  try { changes = JSON.parse(panel.getAttribute("data-changes") || "[]"); } catch (e) { changes = []; }

  function decision(i) { return decisions[i] ? decisions[i].value : ""; }
  function answer(i, key) { return decisions[i] ? decisions[i][key] : ""; }

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

  function line(i) {
    var f = F[i];
    return "- `" + f[ID] + "` " + S[f[RULE]] + ", " + oneLine(S[f[SUBJ]]) + ", " + oneLine(S[f[ACCESS]]) + "\n";
  }

  var all = [];
  for (var a = 0; a < total; a += 1) { all.push(a); }

  document.getElementById("ladda-undantag").addEventListener("click", function () {
    var accepted = all.filter(function (i) { return decision(i) === "accepteras"; });
    if (accepted.length === 0) {
      status.textContent = "Inga fynd är markerade som accepterade.";
      return;
    }
    var missing = accepted.filter(function (i) {
      return !answer(i, "skal") || !answer(i, "godkant") ||
        !/^\d{4}-\d{2}-\d{2}$/.test(answer(i, "tom"));
    });
    if (missing.length > 0) {
      status.textContent = "Skäl, godkännare och slutdatum saknas för " +
        missing.map(function (i) { return S[F[i][SUBJ]]; }).join(", ") + ".";
      return;
    }
    var out = "# Undantag beslutade i granskningen " + panel.dataset.asOf + ".\n";
    accepted.forEach(function (i) {
      var f = F[i];
      out += "\n# fynd " + f[ID] + ": " + oneLine(S[f[SUBJ]]) + ", " + oneLine(S[f[ACCESS]]) + "\n";
      out += "[[exception]]\n";
      out += "rule = " + toml(S[f[RULE]]) + "\n";
      out += "data_source = " + toml(S[f[SRC]]) + "\n";
      [["account", ACC], ["group", GRP], ["role", ROLE], ["scope", SCOPE]].forEach(function (k) {
        if (f[k[1]] >= 0 && S[f[k[1]]]) { out += k[0] + " = " + toml(S[f[k[1]]]) + "\n"; }
      });
      out += "reason = " + toml(answer(i, "skal")) + "\n";
      out += "approved_by = " + toml(answer(i, "godkant")) + "\n";
      out += "expires = " + answer(i, "tom") + "\n";
    });
    save("undantag.toml", "application/toml", out);
    status.textContent = accepted.length + " undantag har laddats ner.";
  });

  document.getElementById("ladda-plan").addEventListener("click", function () {
    var rest = all.filter(function (i) {
      var d = decision(i);
      return d !== "accepteras" && d !== "felaktig-policy";
    });
    var wrong = all.filter(function (i) { return decision(i) === "felaktig-policy"; });
    var ids = {};
    rest.forEach(function (i) { ids[F[i][ID]] = true; });
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
    rest.forEach(function (i) { out += line(i); });
    if (wrong.length > 0) {
      out += "\n## Fynd där policyn är fel\n\n";
      wrong.forEach(function (i) { out += line(i); });
    }
    save("atgardsplan.md", "text/markdown", out);
    status.textContent = "Åtgärdsplanen har laddats ner.";
  });
})();
