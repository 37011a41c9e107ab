/* genlab report pages: interactive curves (zoom, toggles, hover), epoch sliders, sortable tables.
   Plain JavaScript over SVG, no library and no network. Data comes from <script type="application/json">. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22"];

  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function svg(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "-";
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    if (Number.isInteger(v)) return String(v);
    return String(parseFloat(v.toPrecision(4)));
  }
  function niceTicks(lo, hi, n) {
    var span = hi - lo;
    if (!(span > 0)) return [lo];
    var raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    var step = (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * mag, out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(parseFloat(v.toPrecision(12)));
    return out;
  }
  function logTicks(lo, hi) {
    var out = [], a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
    for (var e = a; e <= b; e++) {
      [1, 2, 5].forEach(function (m) {
        var v = m * Math.pow(10, e);
        if (v >= lo && v <= hi && (m === 1 || b - a <= 2)) out.push(v);
      });
    }
    return out.length >= 2 ? out : niceTicks(lo, hi, 4);
  }
  function nearest(xs, x) { /* index of the value of sorted xs closest to x (nulls skipped) */
    var lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] === null || xs[mid] < x) lo = mid; else hi = mid; }
    if (xs[hi] === null) return lo;
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  /* ---------------------------------------------------------------------------------------------
     Charts. spec: {groups: {name: [{name, x: {step: [...], epoch: [...]}, y: [...]}]}, xkeys: [...],
                    group_label, ylabel, empty} */
  function Chart(root, spec) {
    var groups = Object.keys(spec.groups), st = { group: spec.group || groups[0], xkey: spec.xkeys[0], log: false,
      zoom: null, hidden: {} };
    root.textContent = "";
    var controls = el("div", { class: "controls" }, root);
    if (groups.length > 1) {
      var lab = el("label", {}, controls, (spec.group_label || "show") + " ");
      var sel = el("select", { "aria-label": spec.group_label || "show" }, lab);
      groups.forEach(function (g) { var o = el("option", { value: g }, sel, g); if (g === st.group) o.selected = true; });
      sel.addEventListener("change", function () { st.group = sel.value; st.zoom = null; legend(); draw(); });
    }
    if (spec.xkeys.length > 1) {
      var xl = el("label", {}, controls, "x axis ");
      var xs = el("select", { "aria-label": "x axis" }, xl);
      spec.xkeys.forEach(function (k) { el("option", { value: k }, xs, k); });
      xs.addEventListener("change", function () { st.xkey = xs.value; st.zoom = null; draw(); });
    }
    var ll = el("label", {}, controls);
    var logBox = el("input", { type: "checkbox" }, ll);
    ll.appendChild(document.createTextNode(" log scale"));
    logBox.addEventListener("change", function () { st.log = logBox.checked; draw(); });
    var reset = el("button", { type: "button" }, controls, "reset zoom");
    reset.addEventListener("click", function () { st.zoom = null; draw(); });
    var leg = el("div", { class: "legend", role: "group", "aria-label": "series: click to hide or show" }, root);
    var plot = el("div", { class: "plot" }, root);
    var tip = el("div", { class: "tip", hidden: "" }, plot);
    el("p", { class: "hint" }, root, "Drag across the plot to zoom in, double-click (or reset zoom) to zoom out; " +
       "hover for values; click a name to hide or show its line.");
    var current = null;

    function series() { return spec.groups[st.group] || []; }
    function color(i) { return PALETTE[i % PALETTE.length]; }
    function legend() {
      leg.textContent = "";
      series().forEach(function (s, i) {
        var b = el("button", { type: "button", "aria-pressed": st.hidden[s.name] ? "false" : "true" }, leg);
        el("span", { class: "swatch", style: "background:" + color(i) }, b);
        b.appendChild(document.createTextNode(s.name));
        b.addEventListener("click", function () {
          st.hidden[s.name] = !st.hidden[s.name];
          b.setAttribute("aria-pressed", st.hidden[s.name] ? "false" : "true");
          draw();
        });
      });
    }

    function draw() {
      plot.querySelectorAll("svg").forEach(function (n) { n.remove(); });
      tip.hidden = true;
      var W = Math.max(260, Math.round(plot.clientWidth || 600)), H = Math.round(Math.max(200, Math.min(360, W * 0.42)));
      var m = { l: 58, r: 14, t: 10, b: 34 }, pw = W - m.l - m.r, ph = H - m.t - m.b;
      var vis = [];
      series().forEach(function (s, i) { if (!st.hidden[s.name]) vis.push({ s: s, c: color(i), x: s.x[st.xkey] }); });
      var x0 = Infinity, x1 = -Infinity;
      vis.forEach(function (v) { v.x.forEach(function (x) { if (x !== null) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); } }); });
      if (st.zoom) { x0 = st.zoom[0]; x1 = st.zoom[1]; }
      var logOk = st.log, y0 = Infinity, y1 = -Infinity;
      vis.forEach(function (v) {
        v.s.y.forEach(function (y, j) {
          var x = v.x[j];
          if (y === null || x === null || x < x0 || x > x1) return;
          if (st.log && y <= 0) { logOk = false; return; }
          y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        });
      });
      var root_ = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
        "aria-label": (spec.ylabel || st.group) + " against " + st.xkey });
      plot.insertBefore(root_, tip);
      if (!isFinite(x0) || !isFinite(y0)) {
        var t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, root_);
        t.textContent = vis.length ? "no values in this range" : "every line is hidden";
        current = null;
        return;
      }
      if (x0 === x1) { x0 -= 1; x1 += 1; }
      var useLog = st.log && logOk && y0 > 0;
      if (useLog) { if (y0 === y1) { y0 /= 2; y1 *= 2; } } else {
        if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
        var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
      }
      var fy = useLog ? function (y) { return m.t + ph * (1 - (Math.log(y) - Math.log(y0)) / (Math.log(y1) - Math.log(y0))); }
                      : function (y) { return m.t + ph * (1 - (y - y0) / (y1 - y0)); };
      var fx = function (x) { return m.l + pw * (x - x0) / (x1 - x0); };
      var yt = useLog ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
      yt.forEach(function (v) {
        var y = fy(v);
        svg("line", { class: "gridline", x1: m.l, x2: W - m.r, y1: y, y2: y }, root_);
        var t = svg("text", { x: m.l - 6, y: y + 4, "text-anchor": "end" }, root_); t.textContent = fmt(v);
      });
      niceTicks(x0, x1, Math.max(2, Math.round(pw / 90))).forEach(function (v) {
        var x = fx(v);
        svg("line", { class: "axis", x1: x, x2: x, y1: m.t + ph, y2: m.t + ph + 4 }, root_);
        var t = svg("text", { x: x, y: m.t + ph + 16, "text-anchor": "middle" }, root_); t.textContent = fmt(v);
      });
      svg("line", { class: "axis", x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph }, root_);
      svg("line", { class: "axis", x1: m.l, x2: m.l, y1: m.t, y2: m.t + ph }, root_);
      var xl = svg("text", { x: m.l + pw / 2, y: H - 4, "text-anchor": "middle" }, root_); xl.textContent = st.xkey;
      if (st.log && !useLog) {
        var w = svg("text", { x: W - m.r, y: m.t + 12, "text-anchor": "end" }, root_);
        w.textContent = "log scale needs positive values; linear shown";
      }
      var clip = "c" + Math.random().toString(36).slice(2);
      var cp = svg("clipPath", { id: clip }, svg("defs", {}, root_));
      svg("rect", { x: m.l, y: m.t, width: pw, height: ph }, cp);
      vis.forEach(function (v) {
        var d = "", pen = false;
        v.s.y.forEach(function (y, j) {
          var x = v.x[j];
          if (y === null || x === null || (useLog && y <= 0)) { pen = false; return; }
          d += (pen ? "L" : "M") + fx(x).toFixed(1) + "," + fy(y).toFixed(1); pen = true;
        });
        svg("path", { d: d, fill: "none", stroke: v.c, "stroke-width": 1.6, "clip-path": "url(#" + clip + ")",
          "stroke-linejoin": "round" }, root_);
        if (v.s.y.length <= 40) v.s.y.forEach(function (y, j) {
          var x = v.x[j];
          if (y === null || x === null || x < x0 || x > x1 || (useLog && y <= 0)) return;
          svg("circle", { cx: fx(x), cy: fy(y), r: 2.2, fill: v.c }, root_);
        });
      });
      var hover = svg("g", {}, root_);
      var sel = svg("rect", { class: "sel", x: 0, y: m.t, width: 0, height: ph, visibility: "hidden" }, root_);
      var hit = svg("rect", { x: m.l, y: m.t, width: pw, height: ph, fill: "transparent" }, root_);
      current = { fx: fx, fy: fy, m: m, pw: pw, ph: ph, x0: x0, x1: x1, vis: vis, hover: hover, sel: sel, W: W, useLog: useLog };
      var drag = null;
      function dataX(ev) {
        var r = root_.getBoundingClientRect(), px = (ev.clientX - r.left) * W / r.width;
        return { px: Math.max(m.l, Math.min(m.l + pw, px)), x: x0 + (Math.max(m.l, Math.min(m.l + pw, px)) - m.l) / pw * (x1 - x0) };
      }
      hit.addEventListener("pointerdown", function (ev) { drag = dataX(ev); hit.setPointerCapture(ev.pointerId); });
      hit.addEventListener("pointermove", function (ev) {
        var p = dataX(ev);
        if (drag) {
          sel.setAttribute("x", Math.min(drag.px, p.px)); sel.setAttribute("width", Math.abs(p.px - drag.px));
          sel.setAttribute("visibility", "visible");
        }
        show(p, ev);
      });
      hit.addEventListener("pointerup", function (ev) {
        if (!drag) return;
        var p = dataX(ev), a = drag; drag = null;
        sel.setAttribute("visibility", "hidden");
        if (Math.abs(p.px - a.px) > 6) { st.zoom = [Math.min(a.x, p.x), Math.max(a.x, p.x)]; draw(); }
      });
      hit.addEventListener("pointerleave", function () { if (!drag) { hover.textContent = ""; tip.hidden = true; } });
      hit.addEventListener("dblclick", function () { st.zoom = null; draw(); });
    }

    function show(p, ev) {
      var c = current;
      if (!c) return;
      c.hover.textContent = "";
      svg("line", { class: "cross", x1: p.px, x2: p.px, y1: c.m.t, y2: c.m.t + c.ph }, c.hover);
      tip.textContent = "";
      var head = null;
      c.vis.forEach(function (v) {
        if (!v.x.length) return;
        var j = nearest(v.x, p.x), x = v.x[j], y = v.s.y[j];
        if (x === null || y === null || x < c.x0 || x > c.x1) return;
        if (head === null) { head = el("div", {}, tip); el("b", {}, head, st.xkey + " " + fmt(x)); }
        if (!(c.useLog && y <= 0)) svg("circle", { cx: c.fx(x), cy: c.fy(y), r: 3.5, fill: v.c, stroke: "white", "stroke-width": 1 }, c.hover);
        var row = el("div", {}, tip);
        el("span", { class: "swatch", style: "background:" + v.c }, row);
        row.appendChild(document.createTextNode(v.s.name + ": " + fmt(y)));
      });
      if (head === null) { tip.hidden = true; return; }
      tip.hidden = false;
      var r = plot.getBoundingClientRect(), left = ev.clientX - r.left + 14;
      if (left + tip.offsetWidth > r.width) left = Math.max(0, ev.clientX - r.left - tip.offsetWidth - 14);
      tip.style.left = left + "px";
      tip.style.top = Math.max(0, ev.clientY - r.top - tip.offsetHeight / 2) + "px";
    }

    legend();
    draw();
    var timer = null;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(draw, 120); });
  }

  /* ---------------------------------------------------------------------------------------------
     Epoch sliders. data: {labels: [...], panels: [[{src, alt} | null per frame] per panel], names: [...]} */
  function Frames(root, d) {
    var input = root.querySelector("input[type=range]"), out = root.querySelector("output");
    var figs = root.querySelectorAll(".panel");
    var play = root.querySelector("[data-play]"), timer = null;
    function set(i) {
      i = Math.max(0, Math.min(d.labels.length - 1, i));
      input.value = i;
      out.textContent = d.labels[i];
      figs.forEach(function (fig, p) {
        var f = d.panels[p][i], im = fig.querySelector("img"), empty = fig.querySelector(".empty");
        if (f) { im.src = f.src; im.alt = f.alt; im.hidden = false; empty.hidden = true; }
        else { im.hidden = true; empty.hidden = false; empty.textContent = d.names[p] + ": no picture at " + d.labels[i]; }
      });
    }
    input.addEventListener("input", function () { set(+input.value); });
    root.querySelector("[data-prev]").addEventListener("click", function () { set(+input.value - 1); });
    root.querySelector("[data-next]").addEventListener("click", function () { set(+input.value + 1); });
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
      if (+input.value >= d.labels.length - 1) set(0);
      play.textContent = "pause";
      timer = setInterval(function () {
        if (+input.value >= d.labels.length - 1) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
        set(+input.value + 1);
      }, 600);
    });
  }

  /* ---------------------------------------------------------------------------------------------
     Sortable tables: a click on a header sorts by its column (numbers by value, text alphabetically,
     empty cells last); a second click reverses. */
  function Sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var b = document.createElement("button");
      b.type = "button";
      while (th.firstChild) b.appendChild(th.firstChild);
      th.appendChild(b);
      b.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        function key(r) {
          var c = r.cells[col];
          if (!c) return null;
          var s = c.hasAttribute("data-sort") ? c.getAttribute("data-sort") : c.textContent.trim();
          if (s === "" || s === "-") return null;
          var n = Number(s);
          return isNaN(n) ? s.toLowerCase() : n;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
          if (typeof x !== typeof y) return (typeof x === "number" ? -1 : 1);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-chart]").forEach(function (n) { Chart(n, data(n.getAttribute("data-chart"))); });
    document.querySelectorAll("[data-frames]").forEach(function (n) { Frames(n, data(n.getAttribute("data-frames"))); });
    document.querySelectorAll("table.sortable").forEach(Sortable);
    document.querySelectorAll("[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var text = b.parentNode.querySelector("code").textContent;
        var done = function () { b.textContent = "copied"; setTimeout(function () { b.textContent = "copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
        else {
          var r = document.createRange(); r.selectNodeContents(b.parentNode.querySelector("code"));
          var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); b.textContent = "selected";
        }
      });
    });
    var seconds = document.body.getAttribute("data-reload"), box = document.getElementById("autoreload");
    if (seconds && box) {
      setInterval(function () { if (box.checked) location.reload(); }, +seconds * 1000);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
