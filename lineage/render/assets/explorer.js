(function () {
  "use strict";
  // The lineage explorer. Everything shown comes from the embedded JSON and is written with
  // textContent or setAttribute only: names, folders and errors are untrusted text and must never
  // be parsed as HTML. Only what the user looks at is drawn, laid out here by a small layered layout.
  var SVGNS = "http://www.w3.org/2000/svg";
  var DRAW_LIMIT = 400;      // most nodes drawn at once; a bigger set is listed instead
  var ROWS_PER_COLUMN = 25;  // a layer with more nodes wraps into several columns
  var state = { ready: false, errors: [] };
  var testBox = document.getElementById("lineage-test");
  function report() { testBox.textContent = JSON.stringify(state); }
  window.addEventListener("error", function (ev) {
    state.errors.push(String(ev.message || ev.type));
    report();
  });
  document.addEventListener("securitypolicyviolation", function (ev) {
    state.errors.push("CSP blocked " + ev.violatedDirective + " " + ev.blockedURI);
    report();
  });

  var data = JSON.parse(document.getElementById("lineage-data").textContent);
  var N = data.nodes;
  var FOLDERS = data.folders;
  var CONSUMER = {};
  data.consumer_kinds.forEach(function (k) { CONSUMER[k] = true; });
  var succ = [], pred = [], byId = {}, byName = {}, hasConsumers = false;
  N.forEach(function (n, i) {
    succ.push([]); pred.push([]);
    byId[n.i] = i;
    (byName[n.n] = byName[n.n] || []).push(i);
    if (CONSUMER[n.k]) { hasConsumers = true; }
  });
  data.edges.forEach(function (e) { succ[e[0]].push(e[1]); pred[e[1]].push(e[0]); });
  function isConsumer(i) { return CONSUMER[N[i].k] === true; }

  // Text as a reader should see it: no control characters or bidi overrides.
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g;
  function shown(text) { return String(text).replace(/[\r\n\t]+/g, " ").replace(CONTROL, "\ufffd"); }
  function cut(text, n) { text = shown(text); return text.length <= n ? text : text.slice(0, n - 1) + "\u2026"; }
  function folderName(i) { return N[i].f >= 0 && FOLDERS[N[i].f] !== "" ? FOLDERS[N[i].f] : null; }

  // -- graph walks --------------------------------------------------------------------------
  // Multi-source breadth-first search: index -> fewest hops (starts at 0), as lineage.graph.bfs.
  function bfs(adj, starts, depth, skip) {
    var hops = new Map();
    var queue = [];
    starts.forEach(function (s) { if (!hops.has(s)) { hops.set(s, 0); queue.push(s); } });
    for (var q = 0; q < queue.length; q++) {
      var v = queue[q], h = hops.get(v);
      if (depth !== null && h >= depth) { continue; }
      var next = adj[v];
      for (var j = 0; j < next.length; j++) {
        var w = next[j];
        if (!hops.has(w) && !(skip && skip(w))) { hops.set(w, h + 1); queue.push(w); }
      }
    }
    return hops;
  }

  // -- the selector language of lineage/select.py ------------------------------------------
  var GLOB_CHARS = /[*?[]/;
  var KNOWN_STATUSES = { cancelled: 1, completed: 1, failed: 1, modified: 1, running: 1 };
  var METHODS = data.methods.slice();
  if (hasConsumers && METHODS.indexOf("consumers") < 0) { METHODS.push("consumers"); }
  var KINDS = data.kinds.slice();
  data.consumer_kinds.forEach(function (k) {
    if (KINDS.indexOf(k) < 0 && N.some(function (n) { return n.k === k; })) { KINDS.push(k); }
  });
  function SelectorError(message) { this.message = message; }

  // fnmatch.fnmatchcase: * ? [seq] [!seq], anchored, "." matches newlines too.
  var globCache = {};
  function globRe(pat) {
    if (globCache[pat]) { return globCache[pat]; }
    var i = 0, n = pat.length, res = "";
    while (i < n) {
      var c = pat[i++];
      if (c === "*") { res += "[\\s\\S]*"; } else if (c === "?") { res += "[\\s\\S]"; } else if (c === "[") {
        var j = i;
        if (j < n && pat[j] === "!") { j++; }
        if (j < n && pat[j] === "]") { j++; }
        while (j < n && pat[j] !== "]") { j++; }
        if (j >= n) { res += "\\["; } else {
          var stuff = pat.slice(i, j);
          i = j + 1;
          var neg = false;
          if (stuff[0] === "!") { neg = true; stuff = stuff.slice(1); }
          stuff = stuff.replace(/\\/g, "\\\\").replace(/\]/g, "\\]").replace(/\[/g, "\\[");
          if (!neg && stuff[0] === "^") { stuff = "\\" + stuff; }
          res += stuff === "" ? (neg ? "[\\s\\S]" : "(?!)") : "[" + (neg ? "^" : "") + stuff + "]";
        }
      } else { res += c.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&"); }
    }
    var re = new RegExp("^(?:" + res + ")$");
    globCache[pat] = re;
    return re;
  }
  function fnmatch(text, pat) { return globRe(pat).test(text); }

  function fail(text, what) { throw new SelectorError("bad selector " + JSON.stringify(text) + ": " + what); }

  function splitOutside(text, seps, start, end) {
    var spans = [], i = start;
    while (i < end) {
      while (i < end && seps.indexOf(text[i]) >= 0) { i++; }
      if (i >= end) { break; }
      var s = i;
      while (i < end && seps.indexOf(text[i]) < 0) {
        if (text[i] === "\"" || text[i] === "'") {
          var close = text.indexOf(text[i], i + 1);
          if (close < 0) { fail(text, "the quote " + text[i] + " is never closed; close it or drop it"); }
          i = close;
        }
        i++;
      }
      spans.push([s, i]);
    }
    return spans;
  }
  function splitCommas(text, start, end) {
    var spans = [], i = start, piece = start;
    while (i < end) {
      if (text[i] === "\"" || text[i] === "'") {
        var close = text.indexOf(text[i], i + 1);
        if (close < 0) { fail(text, "the quote " + text[i] + " is never closed; close it or drop it"); }
        i = close;
      } else if (text[i] === ",") { spans.push([piece, i]); piece = i + 1; }
      i++;
    }
    spans.push([piece, end]);
    return spans;
  }
  function parseAtom(text, raw) {
    var pos = 0, at = false, parents = false, pdepth = null;
    var m = /^(?:(@)|(\d*)\+)/.exec(raw);
    if (m && m[1]) {
      at = true; pos = 1;
      if (/^\d*\+/.test(raw.slice(1))) { fail(text, "'@' cannot be combined with a '+' prefix"); }
    } else if (m) { parents = true; pos = m[0].length; pdepth = m[2] ? parseInt(m[2], 10) : null; }
    var children = false, cdepth = null, stop = raw.length;
    var s = /\+(\d*)$/.exec(raw.slice(pos));
    if (s) {
      children = true; stop = pos + s.index; cdepth = s[1] ? parseInt(s[1], 10) : null;
      if (at) { fail(text, "'@' cannot be combined with a '+' suffix"); }
    }
    var body = raw.slice(pos, stop), method = null;
    var mm = /^([A-Za-z_]\w*):/.exec(body);
    if (mm) {
      method = mm[1];
      if (METHODS.indexOf(method) < 0) {
        fail(text, "unknown selector method " + JSON.stringify(method) + "; known methods: " + METHODS.join(", "));
      }
      body = body.slice(mm[0].length);
    }
    var value = body;
    if (body.length >= 2 && (body[0] === "\"" || body[0] === "'") && body[body.length - 1] === body[0]) {
      value = body.slice(1, -1);
    }
    if (!value) {
      fail(text, method !== null ? "method " + JSON.stringify(method) + " needs a value"
        : "a term has graph operators but no name; write e.g. '+orders' or '2+orders+1'");
    }
    if (method === null && /[+@:]/.test(value)) {
      fail(text, "cannot read " + JSON.stringify(raw) + ": operators go around a name ('2+name+1', '@name')");
    }
    return { value: value, method: method, at: at, parents: parents, pdepth: pdepth,
      children: children, cdepth: cdepth };
  }
  function parseSelector(text) {
    var parts = [];
    splitOutside(text, " \t\n", 0, text.length).forEach(function (span) {
      var atoms = splitCommas(text, span[0], span[1]).map(function (p) {
        if (p[0] === p[1]) { fail(text, "an empty term around ','; write 'a,b' with a term on each side"); }
        return parseAtom(text, text.slice(p[0], p[1]));
      });
      parts.push(atoms);
    });
    if (!parts.length) {
      throw new SelectorError("empty selector; give a name, a glob like 'orders_*', or a method like 'folder:Finance'");
    }
    return parts;
  }
  function matchAll(test) {
    var out = [];
    for (var i = 0; i < N.length; i++) { if (test(N[i])) { out.push(i); } }
    return out;
  }
  function baseOf(atom, text) {
    var value = atom.value, method = atom.method;
    if (method === null && !GLOB_CHARS.test(value)) {
      if (Object.prototype.hasOwnProperty.call(byId, value)) { return [byId[value]]; }
      var lowered = value.toLowerCase();
      if (lowered !== value && Object.prototype.hasOwnProperty.call(byId, lowered)) { return [byId[lowered]]; }
      if (Object.prototype.hasOwnProperty.call(byName, value)) { return byName[value].slice(); }
      fail(text, "unknown view or table " + JSON.stringify(value));
    }
    if (method === null || method === "name") { return matchAll(function (n) { return fnmatch(n.n, value); }); }
    if (method === "id") {
      var low = value.toLowerCase();
      return matchAll(function (n) { return fnmatch(n.i.toLowerCase(), low); });
    }
    if (method === "folder" || method === "status") {
      var pat = value.toLowerCase();
      var found = matchAll(function (n) {
        var v = method === "folder" ? (n.f >= 0 ? FOLDERS[n.f] : null) : (n.s === undefined ? null : n.s);
        return typeof v === "string" && fnmatch(v.toLowerCase(), pat);
      });
      if (!found.length && !GLOB_CHARS.test(value) && !(method === "status" && KNOWN_STATUSES[pat])) {
        fail(text, "unknown " + method + " " + JSON.stringify(value));
      }
      return found;
    }
    if (method === "kind") {
      if (KINDS.indexOf(value) < 0) { fail(text, "kind " + JSON.stringify(value) + " is not one of " + KINDS.join(", ")); }
      return matchAll(function (n) { return n.k === value; });
    }
    var flag = { "true": true, "false": false }[value.toLowerCase()];
    if (flag === undefined) { fail(text, method + ":" + value + " must be " + method + ":true or " + method + ":false"); }
    if (method === "ghost") { return matchAll(function (n) { return (n.g === true) === flag; }); }
    if (method === "consumers") { return matchAll(function (n) { return (CONSUMER[n.k] === true) === flag; }); }
    return matchAll(function (n) { return n.m === flag; });
  }
  function evalAtom(atom, text) {
    var base = baseOf(atom, text);
    if (atom.at) {
      var below = bfs(succ, base, null);
      return new Set(bfs(pred, Array.from(below.keys()), null).keys());
    }
    var out = new Set(base);
    if (atom.parents) { bfs(pred, base, atom.pdepth).forEach(function (_, k) { out.add(k); }); }
    if (atom.children) { bfs(succ, base, atom.cdepth).forEach(function (_, k) { out.add(k); }); }
    return out;
  }
  // The sorted indices a selector picks, exactly as lineage.select.select does; SelectorError if bad.
  function runSelector(text) {
    var chosen = new Set();
    parseSelector(text).forEach(function (atoms) {
      var found = null;
      atoms.forEach(function (atom) {
        var ids = evalAtom(atom, text);
        if (found === null) { found = ids; } else {
          var both = new Set();
          found.forEach(function (k) { if (ids.has(k)) { both.add(k); } });
          found = both;
        }
      });
      found.forEach(function (k) { chosen.add(k); });
    });
    return Array.from(chosen).sort(function (a, b) { return a - b; });
  }

  // -- layered layout -----------------------------------------------------------------------
  // items: [{key, w, h}], edges: [[tailKey, headKey]]. Returns {pos: key -> {x, y}, width, height}.
  // Cycles broken by DFS back edges; layers by longest path; order by barycenter sweeps; big layers
  // wrap into columns; each node then moves towards its neighbours within its column.
  function layered(items, edges, fixed) {
    var n = items.length, idx = {};
    items.forEach(function (it, i) { idx[it.key] = i; });
    var out = items.map(function () { return []; }), inn = items.map(function () { return []; });
    var seen = {};
    edges.forEach(function (e) {
      var a = idx[e[0]], b = idx[e[1]];
      if (a === undefined || b === undefined || a === b || seen[a + ">" + b]) { return; }
      seen[a + ">" + b] = true;
      out[a].push(b); inn[b].push(a);
    });
    // break cycles: iterative DFS, dropping back edges from the DAG
    var colour = new Array(n).fill(0), dagOut = items.map(function () { return []; });
    var dagIn = items.map(function () { return []; });
    for (var r = 0; r < n; r++) {
      if (colour[r]) { continue; }
      var stack = [[r, 0]];
      colour[r] = 1;
      while (stack.length) {
        var top = stack[stack.length - 1], v = top[0];
        if (top[1] < out[v].length) {
          var w = out[v][top[1]++];
          if (colour[w] === 1) { continue; }
          dagOut[v].push(w); dagIn[w].push(v);
          if (colour[w] === 0) { colour[w] = 1; stack.push([w, 0]); }
        } else { colour[v] = 2; stack.pop(); }
      }
    }
    // longest-path layers in topological order
    var indeg = dagIn.map(function (a) { return a.length; }), order = [], layer = new Array(n).fill(0);
    for (var i = 0; i < n; i++) { if (!indeg[i]) { order.push(i); } }
    for (var q = 0; q < order.length; q++) {
      dagOut[order[q]].forEach(function (w) {
        layer[w] = Math.max(layer[w], layer[order[q]] + 1);
        if (--indeg[w] === 0) { order.push(w); }
      });
    }
    // sources sit just before their nearest reader
    order.forEach(function (v) {
      if (!dagIn[v].length && dagOut[v].length) {
        layer[v] = Math.max(0, Math.min.apply(null, dagOut[v].map(function (w) { return layer[w]; })) - 1);
      }
    });
    // layers the caller fixed (hops from a focus node) win; then the smallest becomes 0
    if (fixed) {
      items.forEach(function (it, v) { if (fixed[it.key] !== undefined) { layer[v] = fixed[it.key]; } });
      var least = Math.min.apply(null, layer);
      for (i = 0; i < n; i++) { layer[i] -= least; }
    }
    var nl = 0;
    layer.forEach(function (l) { nl = Math.max(nl, l + 1); });
    var layers = [];
    for (var l = 0; l < nl; l++) { layers.push([]); }
    for (i = 0; i < n; i++) { layers[layer[i]].push(i); }
    var rank = new Array(n).fill(0);
    function renumber(ly) { ly.forEach(function (v, k) { rank[v] = (k + 0.5) / ly.length; }); }
    layers.forEach(renumber);
    for (var sweep = 0; sweep < 6; sweep++) {
      var down = sweep % 2 === 0;
      for (var t = 0; t < nl; t++) {
        var ly = layers[down ? t : nl - 1 - t];
        var bary = {};
        ly.forEach(function (v) {
          var nb = (down ? inn[v] : out[v]);
          if (!nb.length) { nb = inn[v].concat(out[v]); }
          var sum = 0;
          nb.forEach(function (w) { sum += rank[w]; });
          bary[v] = nb.length ? sum / nb.length : rank[v];
        });
        ly.sort(function (a, b) { return bary[a] - bary[b] || rank[a] - rank[b]; });
        renumber(ly);
      }
    }
    // coordinates along the flow (x) and across it (y); big layers wrap into columns
    var GAP_X = 70, GAP_Y = 12, COL_GAP = 24;
    var pos = {}, x = 20, height = 0;
    var col = new Array(n).fill(0), colsOf = [];
    layers.forEach(function (ly) {
      var ncols = Math.ceil(ly.length / ROWS_PER_COLUMN) || 1, per = Math.ceil(ly.length / ncols);
      var cols = [];
      for (var c = 0; c < ncols; c++) { cols.push(ly.slice(c * per, (c + 1) * per)); }
      cols.forEach(function (members) {
        var wmax = 0, y = 20;
        members.forEach(function (v) { wmax = Math.max(wmax, items[v].w); });
        members.forEach(function (v) {
          pos[v] = { x: x + wmax / 2, y: y + items[v].h / 2 };
          y += items[v].h + GAP_Y;
        });
        x += wmax + COL_GAP;
        colsOf.push(members);
      });
      x += GAP_X - COL_GAP;
    });
    // pull each single-column layer towards its neighbours, keeping the order and spacing
    for (var round = 0; round < 4; round++) {
      colsOf.forEach(function (members) {
        if (members.length > ROWS_PER_COLUMN) { return; }
        var want = members.map(function (v) {
          var nb = inn[v].concat(out[v]);
          if (!nb.length) { return pos[v].y; }
          var sum = 0;
          nb.forEach(function (w) { sum += pos[w].y; });
          return sum / nb.length;
        });
        var ys = [];
        members.forEach(function (v, k) {
          var minY = k ? ys[k - 1] + (items[members[k - 1]].h + items[v].h) / 2 + GAP_Y : 20 + items[v].h / 2;
          ys.push(Math.max(want[k], minY));
        });
        // shift the column back so that, on average, nodes sit where their neighbours want them
        var shift = 0;
        members.forEach(function (v, k) { shift += want[k] - ys[k]; });
        shift = shift / members.length;
        var lowest = 20 + items[members[0]].h / 2 - ys[0];
        shift = Math.max(shift, lowest);
        members.forEach(function (v, k) { pos[v].y = ys[k] + shift; });
      });
    }
    var result = {};
    var width = x;
    items.forEach(function (it, v) {
      result[it.key] = pos[v];
      height = Math.max(height, pos[v].y + it.h / 2 + 20);
    });
    return { pos: result, width: width, height: height };
  }

  // -- drawing ------------------------------------------------------------------------------
  var canvas = document.getElementById("canvas");
  var graphBox = document.getElementById("graph");
  var pictureBox = document.getElementById("picture");
  var notice = document.getElementById("notice");
  var detailsBox = document.getElementById("details");
  var moreBox = document.getElementById("more");
  var view = { tx: 0, ty: 0, s: 1, w: 0, h: 0 };
  var viewport = null;
  var drawnPos = {};     // node index -> {x, y, w, h}
  var current = null;    // the state being shown (see show())
  var selected = null;   // node index with the details panel open

  function svgEl(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function textWidth(text) { return Math.min(text.length, 48) * 6.6 + 22; }
  function applyView() {
    if (viewport) {
      viewport.setAttribute("transform", "translate(" + view.tx.toFixed(1) + "," + view.ty.toFixed(1) +
        ") scale(" + view.s.toFixed(4) + ")");
    }
  }
  function fit() {
    var bw = graphBox.clientWidth || 800, bh = graphBox.clientHeight || 600;
    view.s = Math.min(bw / Math.max(view.w, 1), bh / Math.max(view.h, 1), 1.25);
    view.tx = (bw - view.w * view.s) / 2;
    view.ty = Math.max((bh - view.h * view.s) / 2, 0);
    applyView();
  }
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = graphBox.clientWidth / 2; cy = graphBox.clientHeight / 2; }
    var s = Math.max(0.02, Math.min(view.s * factor, 6));
    view.tx = cx - (cx - view.tx) * (s / view.s);
    view.ty = cy - (cy - view.ty) * (s / view.s);
    view.s = s;
    applyView();
  }

  function edgePath(a, b, arrowGap) {
    var x1 = a.x + a.w / 2, y1 = a.y, x2 = b.x - b.w / 2 - arrowGap, y2 = b.y;
    if (x2 <= x1 + 10) {  // backwards or same column: loop around below
      var dy = Math.max(a.h, b.h) + 10;
      return "M" + x1 + "," + y1 + " C" + (x1 + 40) + "," + (y1 + dy) + " " + (x2 - 40) + "," + (y2 + dy) +
        " " + x2 + "," + y2;
    }
    var mx = (x1 + x2) / 2;
    return "M" + x1.toFixed(1) + "," + y1.toFixed(1) + " C" + mx.toFixed(1) + "," + y1.toFixed(1) + " " +
      mx.toFixed(1) + "," + y2.toFixed(1) + " " + x2.toFixed(1) + "," + y2.toFixed(1);
  }

  // Draw boxes: [{key, label, sub, cls, attrs, onclick, ondblclick}] and edges [[key, key, cls]].
  function draw(boxes, edges, fixed) {
    var started = window.performance.now();
    canvas.textContent = "";
    drawnPos = {};
    var defs = svgEl("defs", {}, canvas);
    var marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
      markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" }, defs);
    svgEl("path", { d: "M0,0 L10,5 L0,10 z", "class": "arrowhead" }, marker);
    viewport = svgEl("g", { "class": "viewport" }, canvas);
    var items = boxes.map(function (b) {
      var w = Math.max(textWidth(b.label), b.sub ? textWidth(b.sub) : 0);
      return { key: b.key, w: w, h: b.sub ? 38 : 26 };
    });
    var tb = data.rankdir === "TB";
    // the layout flows along x; top to bottom, a box's height runs along the flow instead
    var lay = layered(tb ? items.map(function (it) { return { key: it.key, w: it.h, h: it.w }; }) : items, edges, fixed);
    if (tb) {
      Object.keys(lay.pos).forEach(function (k) { var p = lay.pos[k]; lay.pos[k] = { x: p.y, y: p.x }; });
      var t = lay.width; lay.width = lay.height; lay.height = t;
    }
    var size = {};
    items.forEach(function (it) { size[it.key] = it; });
    var edgeLayer = svgEl("g", { "class": "edges" }, viewport);
    var nodeLayer = svgEl("g", { "class": "nodes" }, viewport);
    edges.forEach(function (e) {
      var a = lay.pos[e[0]], b = lay.pos[e[1]];
      if (!a || !b) { return; }
      var pa = { x: a.x, y: a.y, w: size[e[0]].w, h: size[e[0]].h };
      var pb = { x: b.x, y: b.y, w: size[e[1]].w, h: size[e[1]].h };
      var d = data.rankdir === "TB"
        ? "M" + pa.x + "," + (pa.y + pa.h / 2) + " L" + pb.x + "," + (pb.y - pb.h / 2 - 2)
        : edgePath(pa, pb, 2);
      var path = svgEl("path", { d: d, "class": "edge " + (e[2] || ""), "data-from": e[0], "data-to": e[1],
        "marker-end": "url(#arrow)" }, edgeLayer);
      if (e[3]) { svgEl("title", {}, path).textContent = e[3]; }
    });
    boxes.forEach(function (b) {
      var p = lay.pos[b.key], it = size[b.key];
      var g = svgEl("g", { "class": b.cls, transform: "translate(" + (p.x - it.w / 2).toFixed(1) + "," +
        (p.y - it.h / 2).toFixed(1) + ")" }, nodeLayer);
      Object.keys(b.attrs || {}).forEach(function (k) { g.setAttribute(k, b.attrs[k]); });
      if (/\bmatview\b/.test(b.cls)) { svgEl("rect", { x: 3, y: 3, width: it.w, height: it.h, rx: 3, "class": "shadow" }, g); }
      svgEl("rect", { x: 0, y: 0, width: it.w, height: it.h, rx: /\btable\b/.test(b.cls) ? 12 : 4, "class": "box" }, g);
      var label = svgEl("text", { x: it.w / 2, y: b.sub ? 15 : 17, "text-anchor": "middle" }, g);
      label.textContent = b.label;
      if (b.sub) {
        var sub = svgEl("text", { x: it.w / 2, y: 31, "text-anchor": "middle", "class": "sub" }, g);
        sub.textContent = b.sub;
      }
      var title = svgEl("title", {}, g);
      title.textContent = b.title || b.label;
      if (b.onclick) { g.addEventListener("click", function (ev) { ev.stopPropagation(); b.onclick(ev); }); }
      if (b.ondblclick) { g.addEventListener("dblclick", function (ev) { ev.stopPropagation(); b.ondblclick(ev); }); }
      if (b.node !== undefined) { drawnPos[b.node] = { x: p.x, y: p.y }; }
    });
    view.w = lay.width; view.h = lay.height;
    fit();
    // layout and DOM building; the browser paints after the script returns
    state.drawMs = Math.round(window.performance.now() - started);
    state.boxes = boxes.length;
  }

  // -- what to draw -------------------------------------------------------------------------
  function nodeBox(i, extraCls) {
    var n = N[i];
    var kind = n.k && /^(table|view|matview|unknown|insight|dashboard|notebook|endpoint|alert)$/.test(n.k) ? n.k : "unknown";
    var f = folderName(i);
    return {
      key: "n" + i, node: i, label: cut(n.n, 48), sub: null,
      title: cut(n.n, 200) + (f ? "\nfolder: " + cut(f, 100) : "") + "\n" + kind + ", " + n.h,
      cls: "node " + kind + " h-" + n.h + (n.g ? " ghost" : "") + (extraCls || "") + (selected === i ? " sel" : ""),
      attrs: { "data-node-id": n.i },
      onclick: function () { selectNode(i); },
      ondblclick: function () { focusOn(i, current && current.up, current && current.down); }
    };
  }

  // Draw a set of node indices with "+k more" stubs where the set cuts the graph, consumers folded.
  function drawSet(set, opts) {
    opts = opts || {};
    var inSet = new Set(set);
    var unfolded = opts.unfolded || new Set();
    var shownSet = new Set();
    set.forEach(function (i) {
      if (!isConsumer(i) || opts.keepConsumers || inSet.has(i) && pred[i].some(function (p) { return unfolded.has(p); })) {
        shownSet.add(i);
      }
    });
    // a consumer the user asked for directly stays, folded or not
    if (opts.pinned) { opts.pinned.forEach(function (i) { if (inSet.has(i)) { shownSet.add(i); } }); }
    var boxes = [], edges = [], stubs = [], fixed = opts.layers ? {} : null;
    var ordered = Array.from(shownSet).sort(function (a, b) { return a - b; });
    ordered.forEach(function (i) {
      boxes.push(nodeBox(i, opts.focus === i ? " focus" : (opts.marked && opts.marked.has(i) ? " marked" : "")));
    });
    ordered.forEach(function (i) {
      succ[i].forEach(function (j) { if (shownSet.has(j)) { edges.push(["n" + i, "n" + j]); } });
      var hiddenUp = pred[i].filter(function (p) { return !shownSet.has(p); });
      var hiddenDown = succ[i].filter(function (s) { return !shownSet.has(s) && !isConsumer(s); });
      var consumers = succ[i].filter(function (s) { return !shownSet.has(s) && isConsumer(s); });
      var up = hiddenUp.length + (N[i].cu || 0), down = hiddenDown.length + (N[i].cd || 0);
      // around a focus node, stubs point away from it: a child's other parents are not the question
      if (opts.layers && opts.layers.get(i) > 0) { up = 0; }
      if (opts.layers && opts.layers.get(i) < 0) { down = 0; }
      [["u", up, hiddenUp, "upstream"], ["d", down, hiddenDown, "downstream"], ["c", consumers.length, consumers, "consumers"]]
        .forEach(function (s) {
          if (!s[1]) { return; }
          var key = s[0] + i;
          var label = s[0] === "c" ? "+" + s[1] + " consumer" + (s[1] > 1 ? "s" : "") : "+" + s[1] + " more";
          boxes.push({ key: key, label: label, cls: "stub" + (s[0] === "c" ? " consumers" : ""),
            title: label + " " + s[3] + " of " + cut(N[i].n, 100) + (s[0] === "c" ? " (click to unfold)" : " (click to list and add)"),
            attrs: { "data-stub-of": N[i].i, "data-direction": s[3], "data-count": String(s[1]) },
            onclick: function () {
              if (s[0] === "c") { unfold(i); } else { listHidden(i, s[2], s[3]); }
            } });
          edges.push(s[0] === "u" ? [key, "n" + i, "stub"] : ["n" + i, key, "stub"]);
          if (fixed && opts.layers.has(i)) { fixed[key] = opts.layers.get(i) + (s[0] === "u" ? -1 : 1); }
          stubs.push({ of: N[i].i, direction: s[3], count: s[1] });
        });
    });
    if (fixed) { opts.layers.forEach(function (l, i) { fixed["n" + i] = l; }); }
    draw(boxes, edges, fixed);
    state.drawn = ordered.map(function (i) { return N[i].i; }).sort();
    state.stubs = stubs;
  }

  function setNotice(text) { notice.textContent = text || ""; state.notice = text || ""; }

  function clearCanvas() {
    canvas.textContent = "";
    viewport = null;
    drawnPos = {};
    state.drawn = [];
    state.stubs = [];
  }
  function tooMany(set, what) {
    clearCanvas();
    setNotice(what + ": " + set.length + " nodes, more than the " + DRAW_LIMIT +
      " drawn at once. Narrow it (a selector such as folder:NAME,kind:matview, fewer hops) or pick one below.");
    listNodes(set, what);
  }

  function listNodes(set, heading) {
    moreBox.textContent = "";
    var h = document.createElement("h2");
    h.textContent = heading + " (" + set.length + ")";
    moreBox.appendChild(h);
    var ul = document.createElement("ul");
    set.slice(0, 500).forEach(function (i) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = cut(N[i].n, 80);
      b.addEventListener("click", function () { focusOn(i); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    moreBox.appendChild(ul);
    if (set.length > 500) {
      var p = document.createElement("p");
      p.textContent = "and " + (set.length - 500) + " more";
      moreBox.appendChild(p);
    }
  }

  // -- modes ----------------------------------------------------------------------------------
  function showCanvas() {
    if (pictureBox) { pictureBox.hidden = true; }
    canvas.style.display = "";
  }

  // Longest-path depth of every node in the whole graph (nodes on a cycle: after what reaches them).
  var depthCache = null;
  function depths() {
    if (depthCache) { return depthCache; }
    var indeg = pred.map(function (p) { return p.length; }), depth = new Array(N.length).fill(0), queue = [];
    indeg.forEach(function (d, i) { if (!d) { queue.push(i); } });
    for (var q = 0; q < queue.length; q++) {
      var v = queue[q];
      succ[v].forEach(function (w) {
        depth[w] = Math.max(depth[w], depth[v] + 1);
        if (--indeg[w] === 0) { queue.push(w); }
      });
    }
    depthCache = depth;
    return depth;
  }

  function overview() {
    current = { mode: "overview" };
    showCanvas();
    moreBox.textContent = "";
    var groups = {}, keys = [];
    N.forEach(function (n, i) {
      var f = folderName(i);
      var k = f === null ? "" : f;
      if (!groups[k]) { groups[k] = { name: f, members: 0, health: {}, depths: [] }; keys.push(k); }
      groups[k].members++;
      groups[k].depths.push(depths()[i]);
      groups[k].health[n.h] = (groups[k].health[n.h] || 0) + 1;
    });
    keys.sort();
    var index = {};
    keys.forEach(function (k, j) { index[k] = j; });
    var counts = {};
    data.edges.forEach(function (e) {
      var a = folderName(e[0]), b = folderName(e[1]);
      a = a === null ? "" : a; b = b === null ? "" : b;
      if (a !== b) { var k = index[a] + ">" + index[b]; counts[k] = (counts[k] || 0) + 1; }
    });
    var boxes = keys.map(function (k) {
      var g = groups[k], h = g.health;
      var sub = g.members + " nodes" + (h.failed ? " \u00b7 " + h.failed + " failed" : "") +
        (h.stale ? " \u00b7 " + h.stale + " stale" : "") + (h.completed ? " \u00b7 " + h.completed + " ok" : "");
      var worst = h.failed ? "failed" : h.stale ? "stale" : h.running ? "running" : h.completed ? "completed" : "none";
      return { key: "f" + index[k], label: g.name === null ? "(no folder)" : cut(g.name, 48), sub: sub,
        cls: "folder h-" + worst, attrs: { "data-folder": g.name === null ? "" : g.name },
        title: (g.name === null ? "nodes in no folder" : "folder " + cut(g.name, 200)) + "\n" + sub + "\nclick to open",
        onclick: function () { openFolder(g.name); } };
    });
    var edges = Object.keys(counts).sort().map(function (k) {
      var ab = k.split(">");
      return ["f" + ab[0], "f" + ab[1], "folder-edge", counts[k] + " edge" + (counts[k] > 1 ? "s" : "")];
    });
    // a folder's column: the median depth of its members in the whole graph, so that folders of
    // sources sit left of the folders that read them even when a few edges run backwards
    var medians = keys.map(function (k) {
      var d = groups[k].depths.sort(function (a, b) { return a - b; });
      return d[Math.floor((d.length - 1) / 2)];
    });
    var distinct = medians.slice().sort(function (a, b) { return a - b; }).filter(function (v, j, arr) { return !j || arr[j - 1] !== v; });
    var fixed = {};
    // about as many columns as rows, so that the overview fits a screen
    var columns = Math.min(distinct.length, Math.max(2, Math.ceil(Math.sqrt(keys.length))));
    keys.forEach(function (k, j) { fixed["f" + j] = Math.floor(distinct.indexOf(medians[j]) * columns / distinct.length); });
    draw(boxes, edges, fixed);
    state.drawn = [];
    state.folders = keys.map(function (k) { return groups[k].name; });
    setNotice("Overview: " + keys.length + " folders, " + N.length + " nodes. Click a folder, or search.");
    setHash("");
    finish("overview");
  }

  function openFolder(name) {
    var set = [];
    N.forEach(function (n, i) { if (folderName(i) === name) { set.push(i); } });
    current = { mode: "folder", folder: name };
    showCanvas();
    setHash(name === null ? "folder=" : "folder=" + encodeURIComponent(name));
    var what = name === null ? "nodes in no folder" : "folder " + cut(name, 80);
    if (set.length > DRAW_LIMIT) {
      // a start for narrowing it down: the folder as a selector, ready to refine
      if (name !== null) { selInput.value = "folder:" + (/[\s,"']/.test(name) ? (name.indexOf("\"") < 0 ? "\"" + name + "\"" : "'" + name + "'") : name); }
      tooMany(set, what);
      finish("folder");
      return;
    }
    moreBox.textContent = "";
    drawSet(set, { unfolded: unfoldedSet() });
    setNotice(what + ": " + set.length + " nodes; \"+k more\" leads outside the folder.");
    finish("folder");
  }

  var unfoldedViews = new Set();
  function unfoldedSet() { return unfoldedViews; }
  function unfold(i) { unfoldedViews.add(i); redraw(); }

  function focusOn(i, up, down, keepExtra) {
    up = up === undefined || up === null ? readInt("up", 1) : up;
    down = down === undefined || down === null ? readInt("down", 1) : down;
    document.getElementById("up").value = up;
    document.getElementById("down").value = down;
    var extra = keepExtra && current && current.mode === "focus" && current.node === i ? current.extra : new Set();
    if (!keepExtra) { unfoldedViews = new Set(); }
    current = { mode: "focus", node: i, up: up, down: down, extra: extra };
    showCanvas();
    var set = neighbourhood(i, up, down);
    extra.forEach(function (k) { set.add(k); });
    var list = Array.from(set).sort(function (a, b) { return a - b; });
    setHash("focus=" + encodeURIComponent(N[i].i === N[i].n || byName[N[i].n].length > 1 ? N[i].i : N[i].n) +
      "&up=" + up + "&down=" + down);
    if (list.length > DRAW_LIMIT) { tooMany(list, cut(N[i].n, 80) + " with " + up + " up and " + down + " down"); finish("focus"); return; }
    moreBox.textContent = "";
    drawSet(list, { focus: i, unfolded: unfoldedViews, pinned: new Set([i]), layers: hopLayers(i, set) });
    setNotice(cut(N[i].n, 80) + ": " + up + " hop" + (up === 1 ? "" : "s") + " up, " + down + " down, " +
      list.length + " nodes. Click \"+k more\" to add neighbours one at a time.");
    selectNode(i, true);
    finish("focus");
  }
  // the focus node, ancestors within `up` hops and descendants within `down` (consumers only below)
  function neighbourhood(i, up, down) {
    var set = new Set([i]);
    bfs(pred, [i], up).forEach(function (_, k) { set.add(k); });
    bfs(succ, [i], down).forEach(function (_, k) { set.add(k); });
    return set;
  }
  // the layer of each drawn node in focus mode: hops above (negative) or below the focus node
  function hopLayers(i, set) {
    var layers = new Map();
    bfs(pred, [i], null, function (k) { return !set.has(k); }).forEach(function (h, k) { layers.set(k, -h); });
    bfs(succ, [i], null, function (k) { return !set.has(k); }).forEach(function (h, k) { if (!layers.has(k)) { layers.set(k, h); } });
    // neighbours added one at a time sit next to what they touch
    var changed = true;
    for (var round = 0; changed && round < 5; round++) {
      changed = false;
      set.forEach(function (k) {
        if (layers.has(k)) { return; }
        var below = succ[k].filter(function (s) { return layers.has(s); });
        var above = pred[k].filter(function (p) { return layers.has(p); });
        if (below.length) { layers.set(k, Math.min.apply(null, below.map(function (s) { return layers.get(s); })) - 1); changed = true; } else if (above.length) {
          layers.set(k, Math.max.apply(null, above.map(function (p) { return layers.get(p); })) + 1); changed = true;
        }
      });
    }
    return layers;
  }
  function expand(direction) {
    if (!current || current.mode !== "focus") {
      setNotice("Focus on a node first (search for it, or double-click it), then add hops.");
      report();
      return;
    }
    if (direction === "up") { focusOn(current.node, current.up + 1, current.down, true); } else {
      focusOn(current.node, current.up, current.down + 1, true);
    }
  }
  function listHidden(i, hidden, where) {
    selectNode(i, true);
    moreBox.textContent = "";
    var h = document.createElement("h2");
    h.textContent = hidden.length + " " + where + " not drawn";
    moreBox.appendChild(h);
    var all = document.createElement("button");
    all.type = "button";
    all.id = "add-all";
    all.textContent = "add all " + hidden.length;
    all.addEventListener("click", function () { addNodes(hidden); });
    moreBox.appendChild(all);
    var ul = document.createElement("ul");
    hidden.slice().sort(function (a, b) { return N[a].n < N[b].n ? -1 : N[a].n > N[b].n ? 1 : a - b; })
      .forEach(function (k) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "link add-one";
        b.setAttribute("data-add", N[k].i);
        b.textContent = "+ " + cut(N[k].n, 80);
        b.addEventListener("click", function () { addNodes([k]); });
        li.appendChild(b);
        ul.appendChild(li);
      });
    moreBox.appendChild(ul);
    if (N[i].cu || N[i].cd) {
      var p = document.createElement("p");
      p.textContent = "The crawl's depth limit also left out " + ((N[i].cu || 0) + (N[i].cd || 0)) +
        " neighbours that are not in the snapshot.";
      moreBox.appendChild(p);
    }
  }
  function addNodes(list) {
    if (!current) { return; }
    if (current.mode === "focus") {
      list.forEach(function (k) { current.extra.add(k); });
      focusOn(current.node, current.up, current.down, true);
      return;
    }
    var set = new Set(current.set || []);
    list.forEach(function (k) { set.add(k); });
    showSet(Array.from(set).sort(function (a, b) { return a - b; }), current.mode, current.label, current.marked);
  }

  function showSet(list, mode, label, marked) {
    current = { mode: mode, set: list, label: label, marked: marked };
    showCanvas();
    if (list.length > DRAW_LIMIT) { tooMany(list, label); finish(mode); return; }
    moreBox.textContent = "";
    drawSet(list, { unfolded: unfoldedViews, pinned: new Set(list), marked: marked });
    setNotice(label + ": " + list.length + " nodes.");
    finish(mode);
  }

  function applySelector(text) {
    document.getElementById("selector").value = text;
    setHash("select=" + encodeURIComponent(text));
    var list;
    try { list = runSelector(text); } catch (err) {
      if (!(err instanceof SelectorError)) { throw err; }
      current = { mode: "select" };
      clearCanvas();
      setNotice(err.message);
      state.selectError = err.message;
      finish("select");
      return;
    }
    state.selectError = null;
    state.selected = list.map(function (i) { return N[i].i; }).sort();
    if (!list.length) { current = { mode: "select" }; clearCanvas(); setNotice("selector " + JSON.stringify(text) + " selects no nodes"); finish("select"); return; }
    showSet(list, "select", "selector " + cut(text, 80));
  }

  function resolveName(text) {
    text = String(text).trim();
    if (Object.prototype.hasOwnProperty.call(byId, text)) { return byId[text]; }
    if (Object.prototype.hasOwnProperty.call(byId, text.toLowerCase())) { return byId[text.toLowerCase()]; }
    if (Object.prototype.hasOwnProperty.call(byName, text)) { return byName[text][0]; }
    return null;
  }

  function showPath(fromText, toText) {
    var a = resolveName(fromText), b = resolveName(toText);
    document.getElementById("path-from").value = fromText;
    document.getElementById("path-to").value = toText;
    setHash("path=" + encodeURIComponent(fromText) + "&to=" + encodeURIComponent(toText));
    if (a === null || b === null) {
      current = { mode: "path" };
      clearCanvas();
      setNotice("path: no view or table named " + JSON.stringify(a === null ? fromText : toText));
      finish("path");
      return;
    }
    var list = between(a, b);
    var label = "path from " + cut(N[a].n, 60) + " to " + cut(N[b].n, 60);
    if (!list.length) { list = between(b, a); label = "path from " + cut(N[b].n, 60) + " to " + cut(N[a].n, 60); }
    if (!list.length) {
      current = { mode: "path" };
      clearCanvas();
      setNotice("no path between " + cut(N[a].n, 60) + " and " + cut(N[b].n, 60) + " in either direction");
      finish("path");
      return;
    }
    showSet(list, "path", label, new Set([a, b]));
  }
  // every node on some path from a down to b
  function between(a, b) {
    var below = bfs(succ, [a], null);
    if (!below.has(b)) { return []; }
    var above = bfs(pred, [b], null);
    var out = [];
    below.forEach(function (_, k) { if (above.has(k)) { out.push(k); } });
    return out.sort(function (x, y) { return x - y; });
  }

  function broken() {
    var bad = [];
    N.forEach(function (n, i) { if (n.h === "failed" || n.h === "stale") { bad.push(i); } });
    var radius = bfs(succ, bad, null);
    var all = Array.from(radius.keys()).sort(function (a, b) { return a - b; });
    setHash("broken=1");
    state.broken = all.map(function (i) { return N[i].i; }).sort();
    if (!bad.length) {
      current = { mode: "broken" };
      showCanvas();
      clearCanvas();
      setNotice("Nothing is failing or stale.");
      finish("broken");
      return;
    }
    var label = "only broken: " + bad.length + " failing or stale, " + (all.length - bad.length) + " downstream of them";
    if (all.length > DRAW_LIMIT) {
      // draw the broken ones themselves; "+k more" stands for their blast radius
      showSet(bad.length > DRAW_LIMIT ? all : bad, "broken", label, new Set(bad));
    } else {
      showSet(all, "broken", label, new Set(bad));
    }
    setNotice(label + ".");
  }

  function redraw() {
    if (!current) { return; }
    if (current.mode === "focus") { focusOn(current.node, current.up, current.down, true); } else if (current.set) {
      showSet(current.set, current.mode, current.label, current.marked);
    } else if (current.mode === "folder") { openFolder(current.folder); }
  }

  // -- details --------------------------------------------------------------------------------
  function selectNode(i, quiet) {
    selected = i;
    canvas.querySelectorAll("g.node.sel").forEach(function (g) { g.classList.remove("sel"); });
    canvas.querySelectorAll("path.edge.hl").forEach(function (p) { p.classList.remove("hl"); });
    var key = "n" + i;
    canvas.querySelectorAll("g.node").forEach(function (g) {
      if (g.getAttribute("data-node-id") === N[i].i) { g.classList.add("sel"); }
    });
    canvas.querySelectorAll("path.edge").forEach(function (p) {
      if (p.getAttribute("data-from") === key || p.getAttribute("data-to") === key) { p.classList.add("hl"); }
    });
    showDetails(i);
    if (!quiet) { state.clicked = N[i].i; report(); }
  }
  function addButton(parent, label, handler, id) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (id) { b.id = id; }
    b.addEventListener("click", handler);
    parent.appendChild(b);
    return b;
  }
  function showDetails(i) {
    detailsBox.textContent = "";
    if (i === null) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "Click a node for its details; double-click (or Enter) to focus on it.";
      detailsBox.appendChild(p);
      return;
    }
    var n = N[i];
    var table = document.createElement("table");
    n.d.forEach(function (row) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      var td = document.createElement("td");
      th.textContent = row[0];
      td.textContent = row[1];
      tr.appendChild(th);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    detailsBox.appendChild(table);
    var counts = document.createElement("p");
    counts.textContent = "reads " + pred[i].length + ", read by " + succ[i].length + "; upstream in all " +
      (bfs(pred, [i], null).size - 1) + ", downstream in all " + (bfs(succ, [i], null).size - 1);
    detailsBox.appendChild(counts);
    var actions = document.createElement("p");
    addButton(actions, "focus here", function () { focusOn(i); }, "focus-here");
    addButton(actions, "path from here", function () { document.getElementById("path-from").value = n.n; });
    addButton(actions, "path to here", function () { document.getElementById("path-to").value = n.n; });
    detailsBox.appendChild(actions);
    if (typeof n.u === "string" && /^https?:\/\//.test(n.u)) {
      var a = document.createElement("a");
      a.href = n.u;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = "Open in PostHog";
      detailsBox.appendChild(a);
    }
    if (n.q) {
      var h = document.createElement("h2");
      h.textContent = "SQL";
      detailsBox.appendChild(h);
      var pre = document.createElement("pre");
      pre.className = "sql";
      pre.textContent = n.q;
      detailsBox.appendChild(pre);
    }
  }

  // -- search ---------------------------------------------------------------------------------
  var searchInput = document.getElementById("search");
  var results = document.getElementById("results");
  var searchHits = [];
  function searchFor(text) {
    var q = String(text).trim();
    var lower = q.toLowerCase();
    var hits = [];
    if (!q) { return hits; }
    var glob = GLOB_CHARS.test(q);
    var seenFolder = {};
    N.forEach(function (n, i) {
      var f = folderName(i);
      if (f !== null && !seenFolder[f] && (glob ? fnmatch(f.toLowerCase(), lower) : f.toLowerCase().indexOf(lower) >= 0)) {
        seenFolder[f] = true;
        hits.push({ folder: f });
      }
    });
    var exact = [], starts = [], rest = [];
    N.forEach(function (n, i) {
      var name = n.n.toLowerCase();
      if (glob ? fnmatch(name, lower) : name.indexOf(lower) >= 0) {
        (name === lower || n.i === q ? exact : name.indexOf(lower) === 0 ? starts : rest).push({ node: i });
      }
    });
    hits.sort(function (a, b) { return a.folder < b.folder ? -1 : 1; });
    return exact.concat(starts, hits, rest);
  }
  function showResults(text) {
    results.textContent = "";
    searchHits = searchFor(text);
    var info = document.getElementById("search-info");
    info.textContent = String(text).trim() ? (searchHits.length ? searchHits.length + " found" : "no match") : "";
    state.search = { query: text, matches: searchHits.slice(0, 50).map(function (h) { return h.node !== undefined ? N[h.node].i : "folder:" + h.folder; }) };
    searchHits.slice(0, 15).forEach(function (h) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "result";
      b.textContent = h.node !== undefined ? cut(N[h.node].n, 70) + (folderName(h.node) ? "  \u00b7 " + cut(folderName(h.node), 30) : "")
        : "folder: " + cut(h.folder, 60);
      b.addEventListener("click", function () { pick(h); });
      results.appendChild(b);
    });
    results.style.display = searchHits.length && document.activeElement === searchInput ? "block" : "none";
    report();
  }
  function pick(h) {
    results.style.display = "none";
    if (h.node !== undefined) { focusOn(h.node); } else { openFolder(h.folder); }
  }
  searchInput.addEventListener("input", function () { showResults(searchInput.value); highlightPicture(searchInput.value); });
  searchInput.addEventListener("focus", function () { showResults(searchInput.value); });
  searchInput.addEventListener("blur", function () { setTimeout(function () { results.style.display = "none"; }, 200); });
  searchInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && searchHits.length) { pick(searchHits[0]); searchInput.blur(); }
    if (ev.key === "Escape") { searchInput.blur(); }
  });

  // -- the pre-drawn picture of small workspaces ----------------------------------------------
  var picture = data.picture || null;
  var pic = null;
  if (picture && pictureBox) {
    pic = { svg: pictureBox.querySelector("svg"), nodes: {}, up: {}, down: {} };
    picture.nodes.forEach(function (n) { pic.nodes[n.key] = n; pic.up[n.key] = []; pic.down[n.key] = []; });
    picture.edges.forEach(function (e) { pic.down[e[0]].push(e[1]); pic.up[e[1]].push(e[0]); });
    pic.svg.querySelectorAll("g.node").forEach(function (g) {
      var n = pic.nodes[g.id];
      if (n && n.id !== null) { g.setAttribute("data-node-id", n.id); }
      g.addEventListener("click", function (ev) {
        if (!pic.nodes[g.id]) { return; }
        if (!(ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); }
        ev.stopPropagation();
        pictureSelect(g.id);
      });
    });
  }
  function walk(start, adj) {
    var seen = {}, queue = [start];
    while (queue.length) {
      var k = queue.shift();
      adj[k].forEach(function (m) { if (!seen[m] && m !== start) { seen[m] = true; queue.push(m); } });
    }
    return Object.keys(seen).sort();
  }
  function setClasses(node, names) {
    if (!node) { return; }
    var keep = (node.getAttribute("class") || "").split(/\s+/).filter(function (c) {
      return c && !/^(hl|hl-sel|hl-up|hl-down)$/.test(c);
    });
    node.setAttribute("class", keep.concat(names).join(" "));
  }
  function pictureSelect(key) {
    var svg = pic.svg;
    svg.querySelectorAll("g.node, g.edge").forEach(function (g) { setClasses(g, []); });
    var n = pic.nodes[key];
    if (!n) { state.click = { key: key, found: false }; report(); return; }
    var ups = walk(key, pic.up), downs = walk(key, pic.down);
    ups.forEach(function (k) { setClasses(document.getElementById(k), ["hl", "hl-up"]); });
    downs.forEach(function (k) { setClasses(document.getElementById(k), ["hl", "hl-down"]); });
    setClasses(document.getElementById(key), ["hl", "hl-sel"]);
    picture.edges.forEach(function (e) {
      var t = e[0], h = e[1];
      var upward = (h === key || ups.indexOf(h) >= 0) && ups.indexOf(t) >= 0;
      var downward = (t === key || downs.indexOf(t) >= 0) && downs.indexOf(h) >= 0;
      if (upward || downward) { setClasses(document.getElementById("e_" + t + "_" + h), ["hl"]); }
    });
    svg.classList.add("has-selection");
    if (n.id !== null && Object.prototype.hasOwnProperty.call(byId, n.id)) { selected = byId[n.id]; showDetails(selected); } else {
      detailsBox.textContent = "";
      var table = document.createElement("table");
      n.details.forEach(function (row) {
        var tr = document.createElement("tr"), th = document.createElement("th"), td = document.createElement("td");
        th.textContent = row[0]; td.textContent = row[1];
        tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
      });
      detailsBox.appendChild(table);
    }
    state.click = {
      key: key, found: true, id: n.id, upstream: ups, downstream: downs,
      highlighted: Array.prototype.map.call(svg.querySelectorAll("g.node.hl"), function (g) { return g.id; }).sort(),
      highlighted_edges: Array.prototype.map.call(svg.querySelectorAll("g.edge.hl"), function (g) { return g.id; }).sort()
    };
    report();
  }
  function highlightPicture(text) {
    if (!pic || pictureBox.hidden) { return; }
    var q = String(text).trim().toLowerCase();
    pic.svg.querySelectorAll("g.node.match").forEach(function (g) { g.classList.remove("match"); });
    var hits = !q ? [] : picture.nodes.filter(function (n) {
      return n.role !== "stub" && n.name.toLowerCase().indexOf(q) >= 0;
    }).map(function (n) { return n.key; });
    hits.forEach(function (k) { var g = document.getElementById(k); if (g) { g.classList.add("match"); } });
    state.pictureSearch = q ? { query: text, matches: hits } : null;
    report();
  }
  function showPicture() {
    if (!pic) { return; }
    current = { mode: "picture" };
    pictureBox.hidden = false;
    canvas.style.display = "none";
    drawnPos = {};
    moreBox.textContent = "";
    state.drawn = Array.prototype.map.call(pic.svg.querySelectorAll("g.node[data-node-id]"), function (g) {
      return g.getAttribute("data-node-id");
    }).sort();
    setNotice("The whole graph: " + N.length + " nodes. Click to highlight; double-click a node to focus on it.");
    setHash("");
    finish("picture");
  }
  if (pic) {
    pic.svg.querySelectorAll("g.node").forEach(function (g) {
      g.addEventListener("dblclick", function () {
        var n = pic.nodes[g.id];
        if (n && n.id !== null && Object.prototype.hasOwnProperty.call(byId, n.id)) { focusOn(byId[n.id]); }
      });
    });
  }

  // -- URL hash, controls, keyboard -----------------------------------------------------------
  var writingHash = false;
  function setHash(text) {
    var target = text ? "#" + text : " ";
    try { history.replaceState(null, "", text ? target : window.location.pathname + window.location.search); } catch (e) {
      writingHash = true;
      window.location.hash = text;
    }
  }
  function finish(mode) {
    state.mode = mode;
    state.hash = window.location.hash;
    report();
  }
  function readInt(id, fallback) {
    var v = parseInt(document.getElementById(id).value, 10);
    return isNaN(v) || v < 0 ? fallback : Math.min(v, 99);
  }
  function parseHash() {
    var out = {};
    window.location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq < 0) { if (part) { out[part] = ""; } return; }
      try { out[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1)); } catch (e) {
        out[part.slice(0, eq)] = part.slice(eq + 1);
      }
    });
    return out;
  }
  function fromHash() {
    var h = parseHash();
    var has = function (k) { return Object.prototype.hasOwnProperty.call(h, k); };
    var num = function (k, d) { var v = parseInt(h[k], 10); return isNaN(v) || v < 0 ? d : Math.min(v, 99); };
    if (has("focus")) {
      var i = resolveName(h.focus);
      if (i === null) { overview(); setNotice("no view or table named " + JSON.stringify(cut(h.focus, 80))); return; }
      focusOn(i, num("up", 1), num("down", 1));
    } else if (has("select")) { applySelector(h.select); } else if (has("path")) { showPath(h.path, h.to || ""); } else if (has("folder")) {
      openFolder(h.folder === "" ? null : h.folder);
    } else if (has("broken")) { broken(); } else if (has("overview")) { overview(); } else if (has("search") || has("click")) {
      if (pic) { showPicture(); } else { overview(); }
      if (has("search")) { searchInput.value = h.search; showResults(h.search); highlightPicture(h.search); }
      if (has("click") && pic) {
        var key = h.click;
        picture.nodes.forEach(function (n) { if (n.id === h.click) { key = n.key; } });
        pictureSelect(key);
      }
    } else if (data.start && data.start.overview) { overview(); } else if (data.start && Object.prototype.hasOwnProperty.call(byId, data.start.focus)) {
      focusOn(byId[data.start.focus]);
    } else if (pic) { showPicture(); } else { overview(); }
    // test hooks: click these buttons in turn; evaluate these selectors
    if (has("do")) {
      h["do"].split(",").forEach(function (id) {
        var target = id.charAt(0) === "+" ? moreBox.querySelector("[data-add=\"" + CSS.escape(id.slice(1)) + "\"]")
          : id.charAt(0) === "~" ? canvas.querySelector("g.stub[data-stub-of=\"" + CSS.escape(id.slice(2)) + "\"][data-direction=\"" +
            ({ u: "upstream", d: "downstream", c: "consumers" })[id.charAt(1)] + "\"]")
            : document.getElementById(id);
        if (target) { target.dispatchEvent(new MouseEvent("click", { bubbles: true })); } else { state.errors.push("no element " + id); }
      });
    }
    if (has("keys")) {
      h.keys.split(",").forEach(function (key) {
        document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true }));
      });
      state.selectedNode = selected === null ? null : N[selected].i;
    }
    if (has("selftest")) {
      state.selftest = JSON.parse(h.selftest).map(function (text) {
        try { return { selector: text, ids: runSelector(text).map(function (k) { return N[k].i; }).sort() }; } catch (err) {
          if (!(err instanceof SelectorError)) { throw err; }
          return { selector: text, error: err.message };
        }
      });
    }
    report();
  }
  window.addEventListener("hashchange", function () {
    if (writingHash) { writingHash = false; return; }
    fromHash();
  });

  document.getElementById("show-overview").addEventListener("click", overview);
  document.getElementById("show-picture").addEventListener("click", showPicture);
  document.getElementById("show-broken").addEventListener("click", broken);
  document.getElementById("expand-up").addEventListener("click", function () { expand("up"); });
  document.getElementById("expand-down").addEventListener("click", function () { expand("down"); });
  ["up", "down"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", function () {
      if (current && current.mode === "focus") { focusOn(current.node, readInt("up", 1), readInt("down", 1), true); }
    });
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  var selInput = document.getElementById("selector");
  document.getElementById("run-select").addEventListener("click", function () { applySelector(selInput.value); });
  selInput.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { applySelector(selInput.value); } });
  document.getElementById("run-path").addEventListener("click", function () {
    showPath(document.getElementById("path-from").value, document.getElementById("path-to").value);
  });

  // pan by dragging the background, zoom with the wheel
  var drag = null;
  canvas.addEventListener("pointerdown", function (ev) {
    if (ev.target.closest && ev.target.closest("g.node, g.stub, g.folder")) { return; }
    drag = { x: ev.clientX, y: ev.clientY, tx: view.tx, ty: view.ty };
  });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) { return; }
    view.tx = drag.tx + ev.clientX - drag.x;
    view.ty = drag.ty + ev.clientY - drag.y;
    applyView();
  });
  window.addEventListener("pointerup", function () { drag = null; });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  // arrows walk the drawing: left/right to a parent/child, up/down within the column
  function move(key) {
    if (selected === null || !drawnPos[selected]) {
      var first = Object.keys(drawnPos)[0];
      if (first !== undefined) { selectNode(parseInt(first, 10)); }
      return;
    }
    var here = drawnPos[selected], best = null, bestScore = Infinity;
    var candidates = key === "ArrowLeft" ? pred[selected] : key === "ArrowRight" ? succ[selected] : Object.keys(drawnPos).map(Number);
    candidates.forEach(function (k) {
      var p = drawnPos[k];
      if (!p || k === selected) { return; }
      var score;
      if (key === "ArrowLeft" || key === "ArrowRight") { score = Math.abs(p.y - here.y); } else {
        if (Math.abs(p.x - here.x) > 1) { return; }
        var dy = p.y - here.y;
        if ((key === "ArrowUp" && dy >= 0) || (key === "ArrowDown" && dy <= 0)) { return; }
        score = Math.abs(dy);
      }
      if (score < bestScore) { bestScore = score; best = k; }
    });
    if (best !== null) { selectNode(best); }
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) { return; }
    // Enter and space on a button or link are that control's own
    if (t && (t.tagName === "BUTTON" || t.tagName === "A") && (ev.key === "Enter" || ev.key === " ")) { return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var k = ev.key;
    if (k === "/") { ev.preventDefault(); searchInput.focus(); } else if (/^Arrow/.test(k)) { ev.preventDefault(); move(k); } else if (k === "Enter" && selected !== null) {
      focusOn(selected);
    } else if (k === "u") { expand("up"); } else if (k === "d") { expand("down"); } else if (k === "o") { overview(); } else if (k === "b") {
      broken();
    } else if (k === "+" || k === "=") { zoom(1.25); } else if (k === "-") { zoom(0.8); } else if (k === "0") { fit(); } else if (k === "Escape") {
      selected = null; showDetails(null);
    }
  });

  showDetails(null);
  fromHash();
  state.ready = true;
  report();
})();
