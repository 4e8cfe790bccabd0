/// The text of the UI's stylesheet and script.
enum UIAssetText {
    static let css = #"""
        :root { --fg: #1b1f24; --muted: #555d66; --bg: #ffffff; --panel: #f4f6f8; --line: #d0d7de; --accent: #0b5cad;
          --ok: #1a7f37; --warn: #8a5a00; --bad: #b42318; --focus: #ffbf47; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 10px 20px; background: #0d2b4a; color: #fff; }
        header.top a { color: #fff; text-decoration: none; } header.top a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; }
        header.top .brand { font-weight: 700; font-size: 1.1rem; }
        header.top nav { display: flex; flex-wrap: wrap; gap: 14px; flex: 1; }
        header.top .who { display: flex; align-items: center; gap: 10px; font-size: .9rem; }
        header.top .who button { background: transparent; color: #fff; border: 1px solid #fff; }
        main { max-width: 1100px; margin: 0 auto; padding: 20px; }
        h1 { font-size: 1.6rem; margin: .2em 0 .6em; } h2 { font-size: 1.2rem; margin: 1.6em 0 .5em; }
        .muted, .help { color: var(--muted); font-size: .92rem; }
        .flash { padding: 10px 14px; border-radius: 6px; margin: 0 0 16px; border: 1px solid; }
        .flash.success { background: #e9f7ee; border-color: var(--ok); } .flash.error { background: #fdeceb; border-color: var(--bad); }
        .flash.info { background: #eaf2fb; border-color: var(--accent); } .flash ul { margin: 6px 0 0; }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 12px 0; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .95rem; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--panel); font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .85rem; font-weight: 600; border: 1px solid; }
        .badge.ok { color: var(--ok); border-color: var(--ok); } .badge.warn { color: var(--warn); border-color: var(--warn); } .badge.bad { color: var(--bad); border-color: var(--bad); }
        label { display: block; font-weight: 600; margin: 10px 0 4px; } label.inline { display: inline; font-weight: 400; margin: 0 12px 0 4px; }
        input[type=text], input[type=password], input[type=url], input[type=date], input[type=number], select, textarea {
          width: 100%; max-width: 560px; padding: 7px 9px; border: 1px solid #8c959f; border-radius: 5px; font: inherit; background: #fff; }
        textarea { min-height: 8em; font-family: ui-monospace, monospace; font-size: .85rem; }
        td input[type=text], td select, td input[type=date] { max-width: none; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 12px 0; padding: 8px 14px 14px; max-width: 620px; }
        legend { font-weight: 700; padding: 0 4px; }
        button, .button { display: inline-block; padding: 7px 14px; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent);
          color: #fff; font: inherit; cursor: pointer; text-decoration: none; }
        button.secondary, .button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--bad); border-color: var(--bad); }
        button[disabled] { opacity: .5; cursor: not-allowed; }
        form.inline { display: inline; }
        .actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 14px 0; }
        .steps { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; padding: 0; margin: 0 0 16px; }
        .steps a { display: block; padding: 6px 12px; border: 1px solid var(--line); border-radius: 16px; text-decoration: none; }
        .steps a[aria-current="step"] { background: var(--accent); color: #fff; border-color: var(--accent); }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 12px 0; }
        .card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; } .card .n { font-size: 1.5rem; font-weight: 700; }
        .problems li { margin: 6px 0; } .problems code { background: #fff3; }
        #live-problems[data-state=ready] { color: var(--ok); } #live-problems[data-state=problems] { color: var(--bad); }
        .secret-once { font-family: ui-monospace, monospace; word-break: break-all; background: #fff; border: 2px dashed var(--warn); padding: 10px; }
        svg.chart { width: 100%; height: auto; max-height: 260px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
        svg.chart .axis { stroke: #8c959f; } svg.chart .tick { font-size: 11px; fill: var(--muted); }
        svg.chart .c-activated { fill: #1a7f37; } svg.chart .c-unchanged { fill: #8c959f; } svg.chart .c-excluded { fill: #d4a72c; } svg.chart .c-failed { fill: #b42318; }
        svg.chart .c-received { fill: none; stroke: #0b5cad; stroke-width: 2; } svg.chart .c-received-dot { fill: #0b5cad; }
        .legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: .9rem; margin: 6px 0; } .legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; }
        .legend .l-activated::before { background: #1a7f37; } .legend .l-unchanged::before { background: #8c959f; } .legend .l-excluded::before { background: #d4a72c; }
        .legend .l-failed::before { background: #b42318; } .legend .l-received::before { background: #0b5cad; height: 3px; vertical-align: 3px; }
        pre, code { font-family: ui-monospace, monospace; font-size: .85rem; } td code { word-break: break-all; }
        @media (max-width: 640px) { main { padding: 12px; } header.top { padding: 10px 12px; } th, td { padding: 5px 4px; } }
        """#

    static let script = #"""
        (function () {
          "use strict";
          function csrf() { var field = document.querySelector("input[name=csrf]"); return field ? field.value : ""; }

          // Connect: show the fields of the chosen sign-in flow and login host.
          function toggleGroups(name, attr) {
            var chosen = document.querySelector("input[name=" + name + "]:checked");
            document.querySelectorAll("[" + attr + "]").forEach(function (group) {
              var on = chosen && group.getAttribute(attr) === chosen.value;
              group.hidden = !on;
              group.querySelectorAll("input, textarea, select").forEach(function (input) { input.disabled = !on; });
            });
          }
          [["authType", "data-auth-fields"], ["loginKind", "data-login-fields"]].forEach(function (pair) {
            document.querySelectorAll("input[name=" + pair[0] + "]").forEach(function (radio) {
              radio.addEventListener("change", function () { toggleGroups(pair[0], pair[1]); });
            });
            if (document.querySelector("input[name=" + pair[0] + "]")) { toggleGroups(pair[0], pair[1]); }
          });

          // Mapping and audiences: the server's check of the draft, as it is typed.
          document.querySelectorAll("form[data-check]").forEach(function (form) {
            var box = document.getElementById("live-problems");
            var timer = null, sequence = 0;
            function run() {
              var body = new URLSearchParams(new FormData(form));
              body.set("list", form.getAttribute("data-list"));
              var mine = ++sequence;
              box.setAttribute("data-state", "checking");
              fetch(form.getAttribute("data-check"), { method: "POST", credentials: "same-origin",
                headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf() }, body: body.toString() })
                .then(function (response) { return response.json(); })
                .then(function (answer) {
                  if (mine !== sequence) { return; }
                  box.textContent = "";
                  if (answer.ready) {
                    box.setAttribute("data-state", "ready");
                    box.textContent = "No problems found: this can be saved.";
                    return;
                  }
                  box.setAttribute("data-state", "problems");
                  var list = document.createElement("ul");
                  list.className = "problems";
                  (answer.problems || []).forEach(function (problem) {
                    var item = document.createElement("li");
                    if (problem.field) { var where = document.createElement("code"); where.textContent = problem.field; item.appendChild(where); item.appendChild(document.createTextNode(" ")); }
                    item.appendChild(document.createTextNode(problem.message));
                    list.appendChild(item);
                  });
                  box.appendChild(list);
                })
                .catch(function () { box.setAttribute("data-state", "error"); box.textContent = "The check could not reach the service."; });
            }
            function later() { clearTimeout(timer); timer = setTimeout(run, 350); countFields(); }
            form.addEventListener("input", later);
            form.addEventListener("change", later);
            form.querySelectorAll("[data-add-row]").forEach(function (button) {
              button.hidden = false;
              button.addEventListener("click", function () {
                var rows = form.querySelectorAll("tr[data-row]");
                var last = rows[rows.length - 1];
                var copy = last.cloneNode(true);
                copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
                copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
                last.parentNode.appendChild(copy);
                copy.querySelector("input").focus();
              });
            });
            run();
          });

          // Audiences: distinct Mapping ID fields in use, against Salesforce's 25.
          function countFields() {
            var counter = document.getElementById("fields-used");
            if (!counter) { return; }
            var used = {};
            document.querySelectorAll("tr[data-row]").forEach(function (row) {
              var box = row.querySelector("input[name=active]");
              var field = row.querySelector("input[name=mappingId]");
              if (box && box.checked && field && field.value.trim()) { used[field.value.trim().toLowerCase().replace(/__c$/, "")] = true; }
            });
            counter.textContent = String(Object.keys(used).length);
          }
          countFields();

          // Ask before what cannot be undone (one listener: forms redrawn by the refresh ask too).
          document.addEventListener("submit", function (event) {
            var form = event.target;
            if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
          });

          // Monitoring: while work is in flight the page refreshes itself (not while a field is in use).
          var main = document.querySelector("main[data-refresh]");
          if (main) {
            var stamp = document.getElementById("refreshed");
            var tick = function () {
              var active = document.activeElement;
              if (active && main.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName)) { setTimeout(tick, 5000); return; }
              fetch(window.location.href, { credentials: "same-origin", headers: { "X-Sfdest-Refresh": "1" } })
                .then(function (response) { return response.text(); })
                .then(function (text) {
                  var next = new DOMParser().parseFromString(text, "text/html").querySelector("main");
                  if (!next) { return; }
                  main.innerHTML = next.innerHTML;
                  stamp = document.getElementById("refreshed");
                  if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString(); }
                  if (next.hasAttribute("data-refresh")) { setTimeout(tick, 5000); } else { main.removeAttribute("data-refresh"); }
                })
                .catch(function () { setTimeout(tick, 10000); });
            };
            setTimeout(tick, 5000);
          }
        })();
        """#
}
