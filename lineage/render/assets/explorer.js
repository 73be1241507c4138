(function () {
  "use strict";
  // Everything shown comes from the embedded JSON and is written with textContent only:
  // names and errors are untrusted text and must never be parsed as HTML.
  var data = JSON.parse(document.getElementById("lineage-data").textContent);
  var svg = document.querySelector("#graph svg");
  var graphBox = document.getElementById("graph");
  var nodes = {};
  var up = {};
  var down = {};
  var byId = {};
  data.nodes.forEach(function (n) {
    nodes[n.key] = n;
    up[n.key] = [];
    down[n.key] = [];
    if (n.id !== null) { byId[String(n.id)] = n.key; }
  });
  data.edges.forEach(function (e) {
    down[e[0]].push(e[1]);
    up[e[1]].push(e[0]);
  });

  function el(key) { return document.getElementById(key); }
  function edgeEl(t, h) { return document.getElementById("e_" + t + "_" + h); }

  function walk(start, adj) {
    var seen = {};
    var queue = [start];
    while (queue.length) {
      var k = queue.shift();
      adj[k].forEach(function (m) {
        if (!seen[m] && m !== start) { seen[m] = true; queue.push(m); }
      });
    }
    return Object.keys(seen).sort();
  }

  function setClasses(node, names) {
    if (!node) { return; }
    var keep = (node.getAttribute("class") || "").split(/\s+/).filter(function (c) {
      return c && !/^(hl|hl-sel|hl-up|hl-down|match)$/.test(c);
    });
    node.setAttribute("class", keep.concat(names).join(" "));
  }

  function clearAll() {
    svg.querySelectorAll("g.node, g.edge").forEach(function (g) { setClasses(g, []); });
    svg.classList.remove("has-selection");
  }

  function center(target) {
    if (!target) { return; }
    var r = target.getBoundingClientRect();
    var c = graphBox.getBoundingClientRect();
    graphBox.scrollLeft += r.left + r.width / 2 - (c.left + c.width / 2);
    graphBox.scrollTop += r.top + r.height / 2 - (c.top + c.height / 2);
  }

  function showDetails(n) {
    var box = document.getElementById("details");
    box.textContent = "";
    if (!n) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "Click a node to see its details and highlight what it reads and what reads it.";
      box.appendChild(p);
      return;
    }
    var table = document.createElement("table");
    n.details.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      var td = document.createElement("td");
      th.textContent = row[0];
      td.textContent = row[1];
      tr.appendChild(th);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    box.appendChild(table);
    // Consumers (a fold's members, or one insight): links to their PostHog pages, text set as text.
    if (n.links && n.links.length) {
      var list = document.createElement("ul");
      list.className = "consumer-links";
      n.links.forEach(function (link) {
        if (!/^https?:\/\//i.test(String(link[1]))) { return; }
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.textContent = link[0];
        a.setAttribute("href", link[1]);
        a.setAttribute("target", "_blank");
        a.setAttribute("rel", "noopener noreferrer");
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    var counts = document.createElement("p");
    counts.textContent = "upstream: " + walk(n.key, up).length + ", downstream: " + walk(n.key, down).length;
    box.appendChild(counts);
    if (typeof n.url === "string" && /^https?:\/\//.test(n.url)) {
      var a = document.createElement("a");
      a.href = n.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = "Open in PostHog";
      box.appendChild(a);
    }
  }

  var state = { search: null, click: null };
  function report() {
    document.getElementById("lineage-test").textContent = JSON.stringify(state);
  }

  function select(key) {
    clearAll();
    var n = nodes[key];
    if (!n) { showDetails(null); state.click = { key: key, found: false }; report(); return; }
    var ups = walk(key, up);
    var downs = walk(key, down);
    var onPath = {};
    onPath[key] = true;
    ups.forEach(function (k) { setClasses(el(k), ["hl", "hl-up"]); onPath[k] = "up"; });
    downs.forEach(function (k) { setClasses(el(k), ["hl", "hl-down"]); onPath[k] = onPath[k] ? "both" : "down"; });
    setClasses(el(key), ["hl", "hl-sel"]);
    data.edges.forEach(function (e) {
      var t = e[0], h = e[1];
      var upward = (h === key || ups.indexOf(h) >= 0) && ups.indexOf(t) >= 0;
      var downward = (t === key || downs.indexOf(t) >= 0) && downs.indexOf(h) >= 0;
      if (upward || downward) { setClasses(edgeEl(t, h), ["hl"]); }
    });
    svg.classList.add("has-selection");
    showDetails(n);
    center(el(key));
    var highlighted = Array.prototype.map.call(svg.querySelectorAll("g.node.hl"), function (g) { return g.id; });
    state.click = {
      key: key, found: true, id: n.id, upstream: ups, downstream: downs,
      highlighted: highlighted.sort(),
      highlighted_edges: Array.prototype.map.call(svg.querySelectorAll("g.edge.hl"), function (g) { return g.id; }).sort(),
      links: Array.prototype.map.call(document.querySelectorAll("#details ul.consumer-links a"), function (a) {
        return [a.textContent, a.getAttribute("href")];
      })
    };
    report();
  }

  function search(query) {
    var q = String(query).trim().toLowerCase();
    svg.querySelectorAll("g.node.match").forEach(function (g) {
      g.setAttribute("class", g.getAttribute("class").replace(/\s*\bmatch\b/g, ""));
    });
    var info = document.getElementById("search-info");
    if (!q) { info.textContent = ""; state.search = null; report(); return; }
    var hits = data.nodes.filter(function (n) {
      return n.role !== "stub" && n.name.toLowerCase().indexOf(q) >= 0;
    }).map(function (n) { return n.key; });
    hits.forEach(function (k) {
      var g = el(k);
      if (g) { g.setAttribute("class", (g.getAttribute("class") || "") + " match"); }
    });
    info.textContent = hits.length ? hits.length + " found" : "no match";
    if (hits.length) { center(el(hits[0])); }
    state.search = { query: query, matches: hits };
    report();
  }

  svg.querySelectorAll("g.node").forEach(function (g) {
    g.addEventListener("click", function (ev) {
      if (!nodes[g.id]) { return; }
      // Plain clicks select; Ctrl/Cmd-click keeps the PostHog link behaviour.
      if (!(ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); }
      ev.stopPropagation();
      select(g.id);
    });
  });
  graphBox.addEventListener("click", function (ev) {
    if (ev.target === graphBox || ev.target === svg || (ev.target.closest && !ev.target.closest("g.node"))) {
      clearAll();
      showDetails(null);
    }
  });
  var input = document.getElementById("search");
  input.addEventListener("input", function () { search(input.value); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && state.search && state.search.matches.length) { select(state.search.matches[0]); }
  });

  var scale = 1;
  var baseW = parseFloat(svg.getAttribute("width")) || 0;
  var baseH = parseFloat(svg.getAttribute("height")) || 0;
  function zoom(factor) {
    if (!baseW || !baseH) { return; }
    // The SVG's size is in points; the box is measured in CSS pixels (4/3 of a point).
    var px = 4 / 3;
    scale = factor === 0
      ? Math.min(graphBox.clientWidth / (baseW * px), graphBox.clientHeight / (baseH * px), 1)
      : scale * factor;
    svg.setAttribute("width", (baseW * scale).toFixed(1) + "pt");
    svg.setAttribute("height", (baseH * scale).toFixed(1) + "pt");
  }
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", function () { zoom(0); });

  showDetails(null);
  // Open on the whole graph when it is larger than the window (as the fit button does); a
  // search or click from the URL below then centres what it finds.
  zoom(0);
  // Test and deep-link hook: #search=<text>&click=<node id or key> is applied on load.
  var hash = window.location.hash.replace(/^#/, "");
  hash.split("&").forEach(function (part) {
    var eq = part.indexOf("=");
    if (eq < 0) { return; }
    var name = part.slice(0, eq);
    var value = decodeURIComponent(part.slice(eq + 1));
    if (name === "search") { input.value = value; search(value); }
    if (name === "click") { select(byId[value] || value); }
  });
  state.ready = true;
  report();
})();
