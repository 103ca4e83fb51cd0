/* value-diag report: draws the charts of the JSON in #vd-data with uPlot.
 *
 * Each run's points come encoded (value_diag/report/encode.py): x as runs of equal
 * differences, each series as whole multiples of a power of ten, each the difference
 * from the one before. Thresholds come per set of rules. Each chart is drawn when it
 * comes near the screen (a run's own, once its section is opened). window.valueDiag
 * keeps the charts and any error, for the tests that open the page in a browser.
 */
(function () {
  "use strict";

  var state = { charts: [], errors: [], ready: false, startupMs: null };
  window.valueDiag = state;
  window.addEventListener("error", function (e) {
    state.errors.push(String(e.message));
  });

  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("vd-data").textContent);
  var LEVEL = {
    critical: "#cf222e",
    warning: "#b08000",
    ok: "#1a7f37",
    info: "#6e7781",
  };
  var BAND = { critical: "rgba(207,34,46,0.08)", warning: "rgba(212,167,44,0.12)" };
  var SEVERITY = { warning: 1, critical: 2 };
  var HEIGHT = 200;

  function decodeX(enc) {
    var out = [];
    if (!enc.length) return out;
    var x = enc[0];
    out.push(x);
    for (var i = 1; i < enc.length; i += 2) {
      for (var k = 0; k < enc[i + 1]; k++) {
        x += enc[i];
        out.push(x);
      }
    }
    return out;
  }

  function decodeValues(enc, n) {
    var out = new Array(n).fill(null);
    if (!enc) return out;
    var e = enc[0];
    var scale = Math.pow(10, Math.abs(e));
    var q = 0;
    for (var i = 1; i < enc.length; i++) {
      var d = enc[i];
      if (d === null) continue;
      q += d;
      out[i - 1] = e < 0 ? q / scale : q * scale;
    }
    return out;
  }

  function decodeBad(flat, x) {
    var out = [];
    for (var i = 0; i < (flat || []).length; i += 2) out.push({ x: x[flat[i]], what: flat[i + 1] });
    return out;
  }

  /* A number as the panel writes it: three significant digits, no -0. */
  function fmt(v) {
    if (v === null || v === undefined) return "\u2014";
    if (!isFinite(v)) return isNaN(v) ? "NaN" : v > 0 ? "Inf" : "-Inf";
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e6 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
    return String(Number(v.toPrecision(3)));
  }

  function fmtX(v) {
    return v === null || v === undefined ? "\u2014" : Math.round(v).toLocaleString("en");
  }

  /* An axis tick in a few characters: 250, 12.5k, 1.02M. */
  function tickX(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return Number((v / 1e9).toPrecision(3)) + "G";
    if (a >= 1e6) return Number((v / 1e6).toPrecision(3)) + "M";
    if (a >= 1e4) return Number((v / 1e3).toPrecision(3)) + "k";
    return String(Math.round(v));
  }

  /* Run colours: hues a golden angle apart, so neighbours differ however many runs. */
  function color(i) {
    return "hsl(" + Math.round((i * 137.508 + 210) % 360) + ",70%," + (i % 2 ? 38 : 46) + "%)";
  }

  var runs = data.runs.map(function (r, i) {
    var x = decodeX(r.x);
    var y = {};
    var bad = {};
    data.charts.forEach(function (c) {
      y[c.key] = r.y[c.key] ? decodeValues(r.y[c.key], x.length) : null;
      bad[c.key] = decodeBad(r.bad[c.key], x);
    });
    return { name: r.name, status: r.status, rules: r.rules, x: x, y: y, bad: bad, color: color(i) };
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* The y range: the data's, widened to the thresholds near it (an alarm line far from
   * every value would squash the curves flat: it is named in the caption instead). */
  function yRange(lines) {
    return function (u, lo, hi) {
      if (lo === null || hi === null || !isFinite(lo) || !isFinite(hi)) {
        lo = 0;
        hi = 1;
      }
      var span = hi - lo || Math.abs(hi) || 1;
      lines.forEach(function (l) {
        if (l[0] >= lo - 3 * span && l[0] <= hi + 3 * span) {
          lo = Math.min(lo, l[0]);
          hi = Math.max(hi, l[0]);
        }
      });
      var pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
      return [lo - pad, hi + pad];
    };
  }

  /* Thresholds under the curves: the alarming side shaded, the line dashed. */
  function drawGuides(lines) {
    return function (u) {
      var ctx = u.ctx;
      var b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      lines.forEach(function (l) {
        var y = Math.round(u.valToPos(l[0], "y", true)) + 0.5; /* a crisp line: one row */
        if (BAND[l[1]]) {
          /* the band reaches the next, worse line on its side, else the edge */
          var end = l[2] === "above" ? b.top : b.top + b.height;
          lines.forEach(function (m) {
            if (m[2] !== l[2] || !BAND[m[1]] || SEVERITY[m[1]] <= SEVERITY[l[1]]) return;
            var my = u.valToPos(m[0], "y", true);
            if (l[2] === "above" ? my < y && my > end : my > y && my < end) end = my;
          });
          ctx.fillStyle = BAND[l[1]];
          ctx.fillRect(b.left, Math.min(y, end), b.width, Math.abs(end - y));
        }
        ctx.strokeStyle = LEVEL[l[1]];
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash(l[1] === "ok" || l[1] === "info" ? [2, 4] : [6, 4]);
        ctx.beginPath();
        ctx.moveTo(b.left, y);
        ctx.lineTo(b.left + b.width, y);
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  /* Points that are not numbers: a red mark at their x, over everything. */
  function drawBad(members, key) {
    return function (u) {
      var ctx = u.ctx;
      var b = u.bbox;
      ctx.save();
      ctx.fillStyle = LEVEL.critical;
      ctx.strokeStyle = LEVEL.critical;
      ctx.font = Math.round(10 * devicePixelRatio) + "px sans-serif";
      members.forEach(function (ri, si) {
        if (!u.series[si + 1].show) return;
        runs[ri].bad[key].forEach(function (p) {
          var x = u.valToPos(p.x, "x", true);
          if (x < b.left || x > b.left + b.width) return;
          ctx.beginPath();
          ctx.setLineDash([2, 2]);
          ctx.moveTo(x, b.top);
          ctx.lineTo(x, b.top + b.height);
          ctx.stroke();
          var w = ctx.measureText(p.what).width;
          var at = x + 3 + w > b.left + b.width ? x - 3 - w : x + 3; /* inside the plot */
          ctx.fillText(p.what, at, b.top + 12 * devicePixelRatio);
        });
      });
      ctx.restore();
    };
  }

  /* Hover: the point of the run nearest the cursor, named beside it. */
  function tooltip(fig, members) {
    var tip = el("div", "tip");
    tip.hidden = true;
    return {
      hooks: {
        init: function (u) {
          u.over.appendChild(tip);
        },
        setCursor: function (u) {
          var idx = u.cursor.idx;
          var top = u.cursor.top;
          if (idx === null || idx === undefined || top === null || top < 0) {
            tip.hidden = true;
            return;
          }
          var best = -1;
          var dist = Infinity;
          for (var s = 1; s < u.series.length; s++) {
            var v = u.data[s][idx];
            if (!u.series[s].show || v === null || v === undefined) continue;
            var d = Math.abs(u.valToPos(v, "y") - top);
            if (d < dist) {
              dist = d;
              best = s;
            }
          }
          if (best < 0) {
            tip.hidden = true;
            return;
          }
          var run = runs[members[best - 1]];
          tip.textContent = "";
          tip.appendChild(el("b", "name", run.name));
          tip.appendChild(el("span", "value", fmt(u.data[best][idx])));
          tip.appendChild(el("span", "at", data.x + " " + fmtX(u.data[0][idx])));
          tip.style.borderColor = run.color;
          tip.hidden = false;
          var left = u.cursor.left + 12;
          tip.style.left = Math.min(left, u.over.clientWidth - tip.offsetWidth - 2) + "px";
          tip.style.top = Math.max(0, top - tip.offsetHeight - 8) + "px";
        },
      },
    };
  }

  /* Zoom one chart of a group, and the others follow. */
  var syncing = false;
  var zoomed = {}; /* per group, the x range a chart drawn later starts at */
  var hiddenRuns = {}; /* per group, the runs hidden from its legends */
  function followZoom(group) {
    return function (u, key) {
      if (key !== "x" || syncing || !u.status) return;
      syncing = true;
      var min = u.scales.x.min;
      var max = u.scales.x.max;
      zoomed[group] = { min: min, max: max };
      state.charts.forEach(function (c) {
        if (c.group === group && c.u !== u && c.u.scales.x.min !== min) {
          c.u.setScale("x", { min: min, max: max });
        }
      });
      syncing = false;
    };
  }

  function caption(fig, chart, guide) {
    var cap = el("figcaption");
    cap.appendChild(el("b", null, chart.label));
    cap.appendChild(el("span", "about", " " + chart.about));
    if (guide) {
      var said = {};
      guide.lines.forEach(function (l) {
        if (said[l[3]]) return; /* |x| rules: the mirror line has the same words */
        said[l[3]] = true;
        var k = el("span", "key");
        var dash = el("i", "dash");
        dash.style.borderColor = LEVEL[l[1]];
        k.appendChild(dash);
        k.appendChild(document.createTextNode(l[3]));
        cap.appendChild(k);
      });
      if (guide.note) cap.appendChild(el("span", "note", guide.note));
    }
    fig.appendChild(cap);
  }

  /* A chart's place, its caption at once; the chart itself once it is near the screen:
   * a sweep of 64 runs draws a few charts at first, not seventeen. */
  var near = null;
  if ("IntersectionObserver" in window) {
    near = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (e) {
          if (!e.isIntersecting) return;
          near.unobserve(e.target);
          e.target.draw();
        });
      },
      { rootMargin: "400px 0px" }
    );
  }

  function place(grid, c, members, guide, group, kind, runIndex) {
    var fig = el("figure", "chart pending");
    fig.dataset.key = c.key;
    grid.appendChild(fig);
    caption(fig, c, guide);
    fig.draw = function () {
      try {
        chart(fig, c, members, guide, group, kind, runIndex);
      } catch (err) {
        state.errors.push(String(err));
        throw err;
      }
      fig.classList.remove("pending");
    };
    if (near) near.observe(fig);
    else fig.draw();
  }

  function chart(fig, c, members, guide, group, kind, runIndex) {
    var lines = guide ? guide.lines : [];
    var tables = members.map(function (ri) {
      return [runs[ri].x, runs[ri].y[c.key] || new Array(runs[ri].x.length).fill(null)];
    });
    var aligned = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var series = [{ label: data.x, value: function (u, v) { return fmtX(v); } }];
    var hidden = (hiddenRuns[group] = hiddenRuns[group] || {});
    members.forEach(function (ri) {
      series.push({
        show: !hidden[ri],
        label: runs[ri].name,
        stroke: runs[ri].color,
        width: 1.5,
        points: { show: false },
        value: function (u, v) { return fmt(v); },
      });
    });
    var width = Math.max(280, fig.clientWidth || 600);
    var tip = tooltip(fig, members);
    var opts = {
      width: width,
      height: HEIGHT,
      series: series,
      scales: { x: { time: false }, y: { range: yRange(lines) } },
      axes: [
        {
          label: data.x,
          labelSize: 18,
          size: 36,
          space: 60,
          values: function (u, ticks) { return ticks.map(tickX); },
        },
        { size: 56, values: function (u, ticks) { return ticks.map(fmt); } },
      ],
      legend: { live: true, show: members.length > 1 || kind === "run" },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        focus: { prox: 24 },
        sync: { key: group, setSeries: true },
      },
      focus: { alpha: 0.3 },
      hooks: {
        init: [tip.hooks.init],
        setCursor: [tip.hooks.setCursor],
        drawAxes: [drawGuides(lines)],
        draw: [drawBad(members, c.key)],
        setScale: [followZoom(group)],
        setSeries: [
          function (u, i, o) {
            if (i !== null && o && o.show !== undefined) hidden[members[i - 1]] = !o.show;
          },
        ],
      },
    };
    var u = new uPlot(opts, aligned, fig);
    if (zoomed[group]) {
      syncing = true;
      u.setScale("x", zoomed[group]);
      syncing = false;
    }
    fig.setAttribute("role", "img");
    fig.setAttribute("aria-label", c.label + " over " + data.x + "s");
    state.charts.push({
      kind: kind,
      key: c.key,
      run: runIndex,
      group: group,
      u: u,
      fig: fig,
      at: performance.now(),
    });
    return u;
  }

  function guideOf(key, rulesIndex) {
    return rulesIndex === null ? null : data.rules[rulesIndex].guides[key];
  }

  /* Charts of every run, one per metric, when all runs share one set of rules:
   * otherwise no thresholds (each run's charts draw its own). */
  var sweepGrid = document.getElementById("sweep-grid");
  if (sweepGrid) {
    var all = runs.map(function (r, i) { return i; });
    var shared = runs.every(function (r) { return r.rules === runs[0].rules; }) ? runs[0].rules : null;
    data.charts.forEach(function (c) {
      var g = guideOf(c.key, shared);
      if (shared === null) g = { lines: [], note: "runs judged by different rules: see each run's charts" };
      place(sweepGrid, c, all, g, "sweep", "sweep", null);
    });
  }

  function drawRun(details) {
    if (details.dataset.drawn) return;
    details.dataset.drawn = "1";
    var i = Number(details.dataset.run);
    var grid = details.querySelector(".grid");
    data.charts.forEach(function (c) {
      var ys = runs[i].y[c.key];
      if (!ys || !ys.some(function (v) { return v !== null; }) && !runs[i].bad[c.key].length) return;
      place(grid, c, [i], guideOf(c.key, runs[i].rules), "run-" + i, "run", i);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("details.run-charts"), function (d) {
    if (d.open) drawRun(d);
    d.addEventListener("toggle", function () {
      if (d.open) drawRun(d);
    });
  });

  /* The charts follow the window's width. */
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      state.charts.forEach(function (c) {
        var w = Math.max(280, c.fig.clientWidth);
        if (w !== c.u.width) c.u.setSize({ width: w, height: HEIGHT });
      });
    }, 150);
  });

  state.startupMs = performance.now() - t0;
  state.ready = true;
})();
