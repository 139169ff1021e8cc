// Pointer read-out for the charts: the charts are drawn already; this turns
// a position back into the values of each line (the chart carries its scale).
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  function num(el, k) { return parseFloat(el.getAttribute("data-" + k)); }
  function fmtMs(v) {
    if (v >= 1000) return (v / 1000).toFixed(2) + " s";
    if (v >= 100) return v.toFixed(0) + " ms";
    if (v >= 10) return v.toFixed(1) + " ms";
    return v.toFixed(2) + " ms";
  }
  function fmtVal(v, unit) {
    if (unit === "ms") return fmtMs(v);
    var s = v >= 100 ? Math.round(v).toLocaleString("en") : v >= 10 ? v.toFixed(1) : v.toFixed(2);
    return s + " " + unit;
  }
  function fmtX(x, scale) {
    if (scale === "pct") {
      var p = 100 * (1 - Math.pow(10, -x));
      var d = Math.max(0, Math.min(6, Math.ceil(x) - 1));
      return "p" + p.toFixed(d);
    }
    var t = Math.round(x), m = Math.floor(t / 60), s = t % 60;
    return "t = " + (m ? m + "m" + (s < 10 ? "0" : "") + s + "s" : s + "s");
  }
  // points parses a path's "M x y L x y …" into [[x, y], …] per series.
  function points(d) {
    var out = [], re = /[ML]\s*(-?[\d.]+)\s+(-?[\d.]+)/g, m;
    while ((m = re.exec(d))) out.push([parseFloat(m[1]), parseFloat(m[2])]);
    return out;
  }
  var charts = document.querySelectorAll("svg[data-scale]");
  var drawn = 0;
  Array.prototype.forEach.call(charts, function (svg) {
    var g = { l: num(svg, "l"), r: num(svg, "r"), t: num(svg, "t"), b: num(svg, "b"),
      x0: num(svg, "x0"), x1: num(svg, "x1"), y0: num(svg, "y0"), y1: num(svg, "y1"),
      scale: svg.getAttribute("data-scale"), unit: svg.getAttribute("data-unit") };
    var series = Array.prototype.map.call(svg.querySelectorAll("path.line"), function (p) {
      return { name: p.getAttribute("data-name"), cls: p.getAttribute("class").split(" ")[1], pts: points(p.getAttribute("d")) };
    });
    if (series.some(function (s) { return s.pts.length > 0; })) drawn++;
    var cursor = document.createElementNS(svg.namespaceURI, "line");
    cursor.setAttribute("class", "cursor");
    cursor.setAttribute("y1", g.t); cursor.setAttribute("y2", g.b);
    cursor.style.display = "none";
    svg.appendChild(cursor);
    var dots = series.map(function (s) {
      var c = document.createElementNS(svg.namespaceURI, "circle");
      c.setAttribute("r", 3.5); c.setAttribute("class", "dot " + s.cls); c.style.display = "none";
      svg.appendChild(c);
      return c;
    });
    function hide() { tip.hidden = true; cursor.style.display = "none"; dots.forEach(function (d) { d.style.display = "none"; }); }
    function move(ev) {
      var box = svg.getBoundingClientRect();
      var vb = svg.viewBox.baseVal;
      var px = (ev.clientX - box.left) * vb.width / box.width;
      if (px < g.l - 4 || px > g.r + 4) { hide(); return; }
      var html = "", shown = false, at = null;
      series.forEach(function (s, i) {
        var best = null;
        for (var k = 0; k < s.pts.length; k++) {
          if (best === null || Math.abs(s.pts[k][0] - px) < Math.abs(best[0] - px)) best = s.pts[k];
        }
        if (!best || Math.abs(best[0] - px) > (g.r - g.l) / 20) { dots[i].style.display = "none"; return; }
        if (at === null) at = best[0];
        var v = g.y0 + (g.b - best[1]) / (g.b - g.t) * (g.y1 - g.y0);
        dots[i].setAttribute("cx", best[0]); dots[i].setAttribute("cy", best[1]); dots[i].style.display = "";
        html += '<div class="' + s.cls + '"><i></i>' + s.name.replace(/[&<>]/g, "") + ": <b>" + fmtVal(v, g.unit) + "</b></div>";
        shown = true;
      });
      if (!shown) { hide(); return; }
      var x = g.x0 + (at - g.l) / (g.r - g.l) * (g.x1 - g.x0);
      cursor.setAttribute("x1", at); cursor.setAttribute("x2", at); cursor.style.display = "";
      tip.innerHTML = "<div>" + fmtX(x, g.scale) + "</div>" + html;
      tip.hidden = false;
      var left = ev.clientX + 14, top = ev.clientY + 14;
      if (left + tip.offsetWidth > window.innerWidth - 8) left = ev.clientX - tip.offsetWidth - 14;
      if (top + tip.offsetHeight > window.innerHeight - 8) top = ev.clientY - tip.offsetHeight - 14;
      tip.style.left = Math.max(4, left) + "px"; tip.style.top = Math.max(4, top) + "px";
    }
    svg.addEventListener("pointermove", move);
    svg.addEventListener("pointerdown", move);
    svg.addEventListener("pointerleave", hide);
  });
  window.addEventListener("scroll", function () { tip.hidden = true; }, { passive: true });
  // Marks the page as ready with the number of charts that have lines.
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
