/// The admin page served at `GET /_plughost/`: one self-contained HTML document (inline CSS and
/// script, no external assets) that renders `GET /_plughost/plugins` and refreshes it every few seconds.
enum AdminPage {
    /// The page's bytes, served as `text/html; charset=utf-8`.
    static let html: String = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>plughost</title>
    <style>
    :root {
      --fg: #1d2330; --muted: #667085; --line: #e3e6ec; --bg: #f6f7f9; --card: #fff;
      --green: #1a7f37; --green-bg: #dcf5e3; --red: #b42318; --red-bg: #fde4e1;
      --amber: #9a5b00; --amber-bg: #fff1d6; --blue: #1d4ed8; --blue-bg: #e0e9ff;
      --gray: #4b5563; --gray-bg: #eceef2; --purple: #6b21a8; --purple-bg: #f1e4fb;
      --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
    }
    * { box-sizing: border-box; }
    body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
    header { background: #1d2330; color: #e8ebf1; padding: 10px 20px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 22px; }
    header h1 { font-size: 17px; margin: 0 8px 0 0; letter-spacing: .02em; }
    header .stat { color: #aab2c0; white-space: nowrap; }
    header .stat b { color: #fff; font-weight: 600; font-variant-numeric: tabular-nums; }
    header .refreshed { margin-left: auto; }
    header .refreshed.stale b { color: #ffb4a8; }
    main { padding: 14px 20px 28px; max-width: 1600px; }
    #error { margin: 0 0 14px; padding: 9px 12px; border: 1px solid #f3b2aa; background: var(--red-bg); color: var(--red); border-radius: 6px; font-weight: 500; }
    section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 14px; overflow: hidden; }
    section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0; padding: 9px 12px; border-bottom: 1px solid var(--line); }
    section h2 .count { color: var(--fg); margin-left: 6px; }
    section h3 { font-size: 12px; color: var(--muted); margin: 10px 12px 4px; font-weight: 600; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; vertical-align: top; padding: 6px 12px; border-bottom: 1px solid var(--line); }
    th { font-size: 12px; font-weight: 600; color: var(--muted); background: #fafbfc; white-space: nowrap; }
    tr:last-child > td { border-bottom: 0; }
    td.empty { color: var(--muted); font-style: italic; }
    .mono { font-family: var(--mono); font-size: 12.5px; }
    .sub { color: var(--muted); font-size: 12px; }
    .nowrap { white-space: nowrap; }
    .wrap { overflow-wrap: anywhere; }
    .path { overflow-wrap: break-word; }
    td.alias-cell { max-width: 240px; }
    .strong { font-weight: 600; }
    .muted { color: var(--muted); }
    .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; background: var(--gray-bg); color: var(--gray); white-space: nowrap; }
    .state-running, .ok { background: var(--green-bg); color: var(--green); }
    .state-loaded { background: var(--blue-bg); color: var(--blue); }
    .state-failed, .bad { background: var(--red-bg); color: var(--red); }
    .state-quarantined { background: var(--amber-bg); color: var(--amber); }
    .method { display: inline-block; min-width: 52px; text-align: center; padding: 1px 6px; border-radius: 4px; font: 600 11.5px var(--mono); background: var(--blue-bg); color: var(--blue); }
    .method-POST, .method-PUT, .method-PATCH { background: var(--green-bg); color: var(--green); }
    .method-DELETE { background: var(--red-bg); color: var(--red); }
    .chain { display: flex; flex-wrap: wrap; align-items: center; gap: 3px 4px; font-family: var(--mono); font-size: 12px; }
    .wrapper { padding: 1px 6px; border-radius: 4px; background: var(--purple-bg); color: var(--purple); white-space: nowrap; }
    .wrapper .name { opacity: .75; }
    .arrow { color: var(--muted); }
    .chain-end { padding: 1px 6px; border-radius: 4px; background: var(--gray-bg); color: var(--gray); }
    .chip { display: inline-block; margin: 1px 3px 1px 0; padding: 0 6px; border-radius: 4px; font: 12px var(--mono); background: var(--gray-bg); color: var(--gray); white-space: nowrap; }
    .registered-wrapper { background: var(--purple-bg); color: var(--purple); }
    .outcome-added { background: var(--green-bg); color: var(--green); }
    .outcome-changed, .outcome-recreated { background: var(--blue-bg); color: var(--blue); }
    .outcome-quarantined { background: var(--amber-bg); color: var(--amber); }
    .outcome-state_handed_over { background: var(--purple-bg); color: var(--purple); }
    .outcome-label { color: var(--muted); font-size: 12px; margin-right: 4px; }
    .outcomes > div + div { margin-top: 2px; }
    .error-text { color: var(--red); overflow-wrap: anywhere; font-family: var(--mono); font-size: 12px; }
    .warning-text { color: var(--amber); overflow-wrap: anywhere; font-family: var(--mono); font-size: 12px; }
    tr.unavailable > td { background: #fffaf0; }
    .reason { color: var(--amber); font-size: 12.5px; overflow-wrap: anywhere; }
    .facts { display: flex; flex-wrap: wrap; gap: 4px 22px; padding: 8px 12px 0; color: var(--muted); }
    .facts b { color: var(--fg); font-variant-numeric: tabular-nums; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 0 12px; padding-bottom: 6px; }
    td.num { font-variant-numeric: tabular-nums; text-align: right; }
    th.num { text-align: right; }
    footer { color: var(--muted); font-size: 12px; padding: 0 20px 20px; }
    </style>
    </head>
    <body>
    <header>
      <h1>plughost</h1>
      <span class="stat">generation <b id="generation">–</b></span>
      <span class="stat" id="draining-stat">draining <b id="draining">–</b></span>
      <span class="stat">lingering <b id="lingering">–</b></span>
      <span class="stat">reloads <b id="reloads">–</b></span>
      <span class="stat">retained Swift images <b id="retained">–</b></span>
      <span class="stat" id="workers-stat" hidden>workers <b id="workers">–</b></span>
      <span class="stat refreshed" id="refreshed-stat">last refresh <b id="refreshed">never</b></span>
    </header>
    <main id="app" data-status="loading" data-refreshes="0">
      <div id="error" role="alert" hidden></div>
      <section id="plugins">
        <h2>Plugins<span class="count" id="plugins-count"></span></h2>
        <div class="scroll"><table>
          <thead><tr><th>Alias</th><th>State</th><th>Version</th><th>ABI</th><th>SHA-256</th><th>Library</th><th>Wrappers</th><th>Last error</th></tr></thead>
          <tbody id="plugins-body"><tr><td colspan="8" class="empty">Loading…</td></tr></tbody>
        </table></div>
      </section>
      <section id="endpoints">
        <h2>Endpoints<span class="count" id="endpoints-count"></span></h2>
        <div class="scroll"><table>
          <thead><tr><th>Method</th><th>Path</th><th>Plugin</th><th>Kind</th><th>Wrapper chain (outermost first)</th><th>Unavailable</th></tr></thead>
          <tbody id="endpoints-body"><tr><td colspan="6" class="empty">Loading…</td></tr></tbody>
        </table></div>
      </section>
      <section id="reloads-section">
        <h2>Reloads<span class="count" id="reloads-count"></span></h2>
        <div class="scroll"><table>
          <thead><tr><th>Started</th><th>Generation</th><th>Result</th><th class="num">Swap</th><th class="num">Drain</th><th>Per plugin</th><th>Problems</th></tr></thead>
          <tbody id="reloads-body"><tr><td colspan="7" class="empty">Loading…</td></tr></tbody>
        </table></div>
      </section>
      <section id="supervisor" hidden>
        <h2>Supervisor</h2>
        <div class="facts" id="supervisor-facts"></div>
        <div class="grid">
          <div>
            <h3>Workers</h3>
            <table>
              <thead><tr><th>Slot</th><th>PID</th><th>State</th><th class="num">Restarts</th><th>Successor</th></tr></thead>
              <tbody id="workers-body"></tbody>
            </table>
          </div>
          <div>
            <h3>Crashes and hangs (journal, all time)</h3>
            <table>
              <thead><tr><th>Plugin</th><th class="num">Crashes</th></tr></thead>
              <tbody id="crashes-body"></tbody>
            </table>
          </div>
        </div>
        <h3>Quarantined builds</h3>
        <div class="scroll"><table>
          <thead><tr><th>Plugin</th><th>SHA-256</th><th class="num">Crashes</th><th>Reason</th></tr></thead>
          <tbody id="quarantined-body"></tbody>
        </table></div>
      </section>
    </main>
    <footer>Refreshes from <span class="mono" id="source">plugins</span> every 3 s. A bearer token can be given as <span class="mono">#token=…</span> in the page address.</footer>
    <script>
    (function () {
      "use strict";
      var REFRESH_MS = 3000;
      // Relative to the page, so it works behind a path prefix: /_plughost/ -> /_plughost/plugins.
      var path = location.pathname;
      var source = path.charAt(path.length - 1) === "/" ? "plugins" : path.split("/").pop() + "/plugins";
      var tokenMatch = /(?:^#|&)token=([^&]*)/.exec(location.hash);
      var token = tokenMatch ? decodeURIComponent(tokenMatch[1]) : null;
      var refreshes = 0;
      var lastOk = null;

      function $(id) { return document.getElementById(id); }

      // Every string from the JSON reaches the DOM through text nodes and setAttribute only.
      function append(node, child) {
        if (child === null || child === undefined || child === false) return;
        if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
        if (typeof child === "object" && child.nodeType) { node.appendChild(child); return; }
        node.appendChild(document.createTextNode(String(child)));
      }
      function el(tag, attrs, children) {
        var node = document.createElement(tag);
        if (attrs) {
          Object.keys(attrs).forEach(function (key) {
            var value = attrs[key];
            if (value === null || value === undefined || value === false) return;
            node.setAttribute(key, String(value));
          });
        }
        append(node, children);
        return node;
      }
      // A token safe to use in a class name.
      function cls(value) { return String(value === null || value === undefined ? "" : value).toLowerCase().replace(/[^a-z0-9_-]+/g, "_"); }
      function has(value) { return value !== null && value !== undefined && value !== ""; }
      function orDash(value) { return has(value) ? String(value) : "–"; }
      function list(value) { return Array.isArray(value) ? value : []; }
      function pad(n) { return (n < 10 ? "0" : "") + n; }
      function clock(date) { return pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()); }
      function stamp(date) {
        var now = new Date();
        var day = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
        var today = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
        return day === today ? clock(date) : day + " " + clock(date);
      }
      function ago(date) {
        var seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
        if (seconds < 90) return seconds + " s ago";
        if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
        if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
        return Math.round(seconds / 86400) + " d ago";
      }
      function ms(micros) { return typeof micros === "number" ? (micros / 1000).toFixed(2) + " ms" : "–"; }
      function rows(body, items, columns, emptyText) {
        body.replaceChildren.apply(body, items.length ? items : [el("tr", null, el("td", { colspan: columns, "class": "empty" }, emptyText))]);
      }
      function badge(state) { return el("span", { "class": "badge state-" + cls(state), "data-state": state }, orDash(state)); }
      function hash(sha) {
        if (!has(sha)) return el("span", { "class": "muted" }, "–");
        return el("span", { "class": "mono hash", title: String(sha), "data-sha256": String(sha) }, String(sha).slice(0, 12));
      }
      function wrapperSpan(name) {
        var text = String(name);
        var slash = text.indexOf("/");
        var alias = slash < 0 ? text : text.slice(0, slash);
        return el("span", { "class": "wrapper", "data-wrapper": text, "data-wrapper-alias": alias, title: text },
          slash < 0 ? text : [el("span", { "class": "strong" }, alias), el("span", { "class": "name" }, text.slice(slash))]);
      }

      function setStat(id, value) { $(id).textContent = orDash(value); }

      function renderHeader(data) {
        setStat("generation", data.generation);
        setStat("lingering", data.lingering_generations);
        setStat("reloads", data.reloads);
        setStat("retained", data.retained_swift_images);
        $("draining-stat").hidden = !has(data.draining_generations);
        setStat("draining", data.draining_generations);
        var supervisor = data.supervisor && typeof data.supervisor === "object" ? data.supervisor : null;
        $("workers-stat").hidden = !supervisor;
        if (supervisor) {
          var workers = list(supervisor.workers);
          $("workers").textContent = workers.filter(function (w) { return w && w.serving; }).length + "/" + workers.length + " serving";
        }
      }

      function renderPlugins(plugins) {
        $("plugins-count").textContent = String(plugins.length);
        rows($("plugins-body"), plugins.map(function (p) {
          var key = has(p.alias) ? p.alias : p.manifest;
          var failing = p.state === "failed" || p.state === "quarantined";
          var warnings = list(p.warnings).filter(function (w) { return w !== p.last_error; });
          return el("tr", { "data-plugin": orDash(key), "data-state": p.state }, [
            el("td", { "class": "alias-cell" }, [el("div", { "class": "mono strong wrap" }, has(p.alias) ? p.alias : "(no alias)"),
                            has(p.namespace) ? el("div", { "class": "sub wrap" }, p.namespace) : null]),
            el("td", null, badge(p.state)),
            el("td", { "class": "mono" }, orDash(p.version)),
            el("td", { "class": "mono" }, orDash(p.abi)),
            el("td", null, hash(p.sha256)),
            el("td", null, [el("div", { "class": "mono path" }, orDash(p.library)),
                            has(p.manifest) ? el("div", { "class": "sub path", title: p.manifest }, p.manifest) : null]),
            el("td", null, list(p.wrappers).length
              ? list(p.wrappers).map(function (w) { return el("span", { "class": "chip registered-wrapper", "data-registered-wrapper": w }, w); })
              : el("span", { "class": "muted" }, "–")),
            el("td", null, [
              has(p.last_error) ? el("div", { "class": failing ? "error-text" : "warning-text", "data-last-error": "" }, p.last_error) : null,
              warnings.map(function (w) { return el("div", { "class": "warning-text", "data-warning": "" }, w); }),
              !has(p.last_error) && !warnings.length ? el("span", { "class": "muted" }, "–") : null
            ])
          ]);
        }), 8, "No plugins.");
      }

      function renderEndpoints(plugins) {
        var items = [];
        plugins.forEach(function (p) {
          list(p.endpoints).forEach(function (e) { items.push({ alias: p.alias, endpoint: e }); });
        });
        $("endpoints-count").textContent = String(items.length);
        rows($("endpoints-body"), items.map(function (item) {
          var e = item.endpoint;
          var chain = [];
          list(e.wrappers).forEach(function (w) { chain.push(wrapperSpan(w), el("span", { "class": "arrow" }, "→")); });
          chain.push(el("span", { "class": "chain-end" }, "endpoint"));
          return el("tr", { "data-endpoint": String(e.method) + " " + String(e.path), "data-endpoint-plugin": orDash(item.alias),
                            "class": has(e.unavailable) ? "unavailable" : null }, [
            el("td", null, el("span", { "class": "method method-" + cls(e.method).toUpperCase() }, orDash(e.method))),
            el("td", { "class": "mono path" }, orDash(e.path)),
            el("td", { "class": "mono wrap alias-cell" }, orDash(item.alias)),
            el("td", null, el("span", { "class": "badge" + (e.kind === "quarantined" ? " state-quarantined" : "") }, orDash(e.kind))),
            el("td", null, el("div", { "class": "chain", "data-chain": list(e.wrappers).join(" ") }, chain)),
            el("td", null, has(e.unavailable) ? el("span", { "class": "reason", "data-unavailable": "" }, e.unavailable) : el("span", { "class": "muted" }, "–"))
          ]);
        }), 6, "No endpoints.");
      }

      var OUTCOMES = [["added", "added"], ["changed", "changed"], ["recreated", "re-created"], ["removed", "removed"],
                      ["quarantined", "quarantined"], ["state_handed_over", "state handed over"]];

      function renderReloads(data) {
        var reports = Array.isArray(data.recent_reloads) ? data.recent_reloads.slice() : (data.last_reload ? [data.last_reload] : []);
        reports = reports.filter(function (r) { return r && typeof r === "object"; }).reverse();
        $("reloads-count").textContent = String(reports.length);
        rows($("reloads-body"), reports.map(function (r, index) {
          var started = typeof r.started_at_ns === "number" && r.started_at_ns > 0 ? new Date(r.started_at_ns / 1e6) : null;
          var outcomes = [];
          OUTCOMES.forEach(function (pair) {
            var aliases = list(r[pair[0]]);
            if (!aliases.length) return;
            outcomes.push(el("div", null, [el("span", { "class": "outcome-label" }, pair[1]),
              aliases.map(function (a) { return el("span", { "class": "chip outcome-" + pair[0], "data-outcome": pair[0], "data-alias": a }, a); })]));
          });
          if (list(r.unchanged).length) {
            outcomes.push(el("div", { "class": "sub" }, "unchanged: " + list(r.unchanged).join(", ")));
          }
          if (!outcomes.length) outcomes.push(el("span", { "class": "muted" }, r.succeeded ? "nothing changed" : "–"));
          var problems = list(r.problems);
          return el("tr", { "data-reload": String(index), "data-reload-generation": r.generation,
                            "data-succeeded": String(!!r.succeeded), title: has(r.summary) ? r.summary : null }, [
            el("td", { "class": "nowrap", title: started ? started.toISOString() : null }, started ? [stamp(started), el("div", { "class": "sub" }, ago(started))] : "–"),
            el("td", { "class": "mono" }, orDash(r.generation)),
            el("td", null, el("span", { "class": "badge " + (r.succeeded ? "ok" : "bad") }, r.succeeded ? "swapped" : "failed")),
            el("td", { "class": "num nowrap" }, ms(r.swap_latency_us)),
            el("td", { "class": "num nowrap" }, [ms(r.drain_us), r.drain_timed_out ? el("div", { "class": "reason" }, "timed out") : null]),
            el("td", { "class": "outcomes" }, outcomes),
            el("td", null, problems.length
              ? problems.map(function (p) { return el("div", { "class": "error-text", "data-problem": "" }, p); })
              : el("span", { "class": "muted" }, "–"))
          ]);
        }), 7, "No reloads yet.");
      }

      function renderSupervisor(supervisor) {
        var section = $("supervisor");
        if (!supervisor || typeof supervisor !== "object") { section.hidden = true; return; }
        section.hidden = false;
        var workers = list(supervisor.workers);
        var restarts = workers.reduce(function (sum, w) { return sum + (w && typeof w.restarts === "number" ? w.restarts : 0); }, 0);
        $("supervisor-facts").replaceChildren(
          el("span", null, ["supervisor pid ", el("b", null, orDash(supervisor.pid))]),
          el("span", null, ["workers ", el("b", null, String(workers.length))]),
          el("span", null, ["restarts ", el("b", null, String(restarts))]),
          el("span", null, ["reload rounds ", el("b", null, orDash(supervisor.reload_rounds))]));
        rows($("workers-body"), workers.map(function (w) {
          return el("tr", { "data-worker": orDash(w.slot) }, [
            el("td", { "class": "mono" }, orDash(w.slot)),
            el("td", { "class": "mono" }, orDash(w.pid)),
            el("td", null, el("span", { "class": "badge" + (w.serving ? " ok" : "") }, w.serving ? "serving" : "not serving")),
            el("td", { "class": "num" }, orDash(w.restarts)),
            el("td", { "class": "mono" }, has(w.successor) ? w.successor : "–")
          ]);
        }), 5, "No workers.");
        var crashes = supervisor.crashes && typeof supervisor.crashes === "object" ? supervisor.crashes : {};
        rows($("crashes-body"), Object.keys(crashes).sort().map(function (alias) {
          return el("tr", { "data-crashes": alias }, [el("td", { "class": "mono" }, alias), el("td", { "class": "num" }, orDash(crashes[alias]))]);
        }), 2, "No crashes journaled.");
        rows($("quarantined-body"), list(supervisor.quarantined).map(function (q) {
          return el("tr", { "data-quarantined": orDash(q.alias) }, [
            el("td", { "class": "mono strong" }, orDash(q.alias)),
            el("td", null, hash(q.sha256)),
            el("td", { "class": "num" }, orDash(q.crashes)),
            el("td", { "class": "reason" }, orDash(q.reason))
          ]);
        }), 4, "Nothing quarantined.");
      }

      function render(data) {
        var plugins = list(data.plugins).filter(function (p) { return p && typeof p === "object"; });
        renderHeader(data);
        renderPlugins(plugins);
        renderEndpoints(plugins);
        renderReloads(data);
        renderSupervisor(data.supervisor);
      }

      function showError(message) {
        var banner = $("error");
        banner.textContent = "Refresh failed: " + message + (lastOk ? " — showing data from " + clock(lastOk) + "." : ".");
        banner.hidden = false;
        $("refreshed-stat").classList.add("stale");
        $("app").setAttribute("data-status", "error");
        if (!lastOk) {
          Array.prototype.forEach.call(document.querySelectorAll("td.empty"), function (cell) { cell.textContent = "No data yet."; });
        }
      }

      function refresh() {
        var headers = { "Accept": "application/json" };
        if (token) headers["Authorization"] = "Bearer " + token;
        fetch(source, { headers: headers, cache: "no-store", credentials: "same-origin" })
          .then(function (response) {
            return response.text().then(function (text) {
              var body = null;
              try { body = JSON.parse(text); } catch (ignored) { body = null; }
              if (!response.ok) {
                var reason = body && typeof body.error === "string" ? body.error : response.statusText;
                throw new Error("HTTP " + response.status + (reason ? " — " + reason : ""));
              }
              if (!body || typeof body !== "object") throw new Error("the answer is not a JSON object");
              return body;
            });
          })
          .then(function (data) {
            render(data);
            lastOk = new Date();
            refreshes += 1;
            $("refreshed").textContent = clock(lastOk);
            $("refreshed-stat").classList.remove("stale");
            $("error").hidden = true;
            var app = $("app");
            app.setAttribute("data-status", "ok");
            app.setAttribute("data-refreshes", String(refreshes));
            app.setAttribute("data-generation", orDash(data.generation));
          })
          .catch(function (error) { showError(error && error.message ? error.message : String(error)); })
          .then(function () { setTimeout(refresh, REFRESH_MS); });
      }

      $("source").textContent = source;
      refresh();
    })();
    </script>
    </body>
    </html>
    """#
}
