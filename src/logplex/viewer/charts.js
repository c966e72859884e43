// Four live charts of the app's traffic above its lines: requests/s by status class, p50/p95/p99
// service time, H-code errors by code, requests/s per dyno. A small SVG renderer of our own (see
// docs/decisions.md): polylines over the last 15 minutes, redrawn at most 4 times a second and
// once a second as time moves on. A click on a chart picks that second and filters the lines to it.
'use strict';
(function () {
  var T = window.SwitchyardTraffic;
  var NS = 'http://www.w3.org/2000/svg';
  var MIN_SPAN_S = 30; // a fresh app's first seconds are not stretched across the whole width
  var H = 110;
  var PAD = { l: 34, r: 6, t: 6, b: 16 };
  var COLOURS = ['#8fd18f', '#78b7ee', '#e8c46a', '#f07f7f', '#c7a0f0', '#6fd6c8', '#f0a36f', '#b0b8c0'];
  var CHARTS = [
    { key: 'rps', title: 'requests/s by status', unit: '/s', fixed: { '2xx': 0, '3xx': 1, '4xx': 2, '5xx': 3 } },
    { key: 'service', title: 'service time', unit: 'ms', fixed: { p50: 0, p95: 2, p99: 3 } },
    { key: 'codes', title: 'H-code errors/s', unit: '/s' },
    { key: 'dynos', title: 'requests/s per dyno', unit: '/s' },
  ];
  var traffic = new T.Traffic();
  var root = document.getElementById('charts');
  var picked; // the epoch second the lines are filtered to, or undefined
  var scheduled = false;
  var range = { from: 0, to: 0 };

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function hhmmss(sec) {
    return new Date(sec * 1000).toISOString().slice(11, 19);
  }
  /** 1, 2, 5 × 10^n at or above v. */
  function nice(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawChart(box, chart, series, width) {
    var names = Object.keys(series).sort();
    var max = 0;
    names.forEach(function (n) {
      series[n].forEach(function (v) {
        if (v !== undefined && v > max) max = v;
      });
    });
    var top = nice(max);
    var w = width - PAD.l - PAD.r;
    var h = H - PAD.t - PAD.b;
    var span = range.to - range.from || 1;
    var x = function (sec) {
      return PAD.l + ((sec - range.from) / span) * w;
    };
    var y = function (v) {
      return PAD.t + h - (v / top) * h;
    };
    box.innerHTML = '';
    var head = document.createElement('div');
    head.className = 'chart-head';
    head.textContent = chart.title + ' ';
    var svg = el('svg', { width: width, height: H, viewBox: '0 0 ' + width + ' ' + H, role: 'img' });
    svg.setAttribute('aria-label', chart.title);
    el('line', { x1: PAD.l, x2: width - PAD.r, y1: PAD.t + h, y2: PAD.t + h, class: 'axis' }, svg);
    el('line', { x1: PAD.l, x2: width - PAD.r, y1: PAD.t, y2: PAD.t, class: 'grid' }, svg);
    el('text', { x: PAD.l - 4, y: PAD.t + 8, class: 'tick', 'text-anchor': 'end' }, svg).textContent = top;
    el('text', { x: PAD.l - 4, y: PAD.t + h, class: 'tick', 'text-anchor': 'end' }, svg).textContent = '0';
    el('text', { x: PAD.l, y: H - 3, class: 'tick' }, svg).textContent = hhmmss(range.from);
    el('text', { x: width - PAD.r, y: H - 3, class: 'tick', 'text-anchor': 'end' }, svg).textContent = hhmmss(range.to);
    names.forEach(function (n, i) {
      var colour = COLOURS[chart.fixed && n in chart.fixed ? chart.fixed[n] : i % COLOURS.length];
      var pts = [];
      var flush = function () {
        if (pts.length === 1) el('circle', { cx: pts[0][0], cy: pts[0][1], r: 2, fill: colour }, svg);
        else if (pts.length)
          el(
            'polyline',
            { points: pts.join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.5, 'data-series': n },
            svg,
          );
        pts = [];
      };
      series[n].forEach(function (v, k) {
        if (v === undefined) flush();
        else pts.push([x(range.from + k).toFixed(1), y(v).toFixed(1)]);
      });
      flush();
      var key = document.createElement('span');
      key.className = 'key';
      key.style.color = colour;
      key.textContent = n;
      head.appendChild(key);
    });
    if (!names.length) el('text', { x: PAD.l + 6, y: PAD.t + 14, class: 'tick' }, svg).textContent = 'none';
    if (picked !== undefined && picked >= range.from && picked <= range.to)
      el('line', { x1: x(picked), x2: x(picked), y1: PAD.t, y2: PAD.t + h, class: 'picked' }, svg);
    svg.addEventListener('click', function (ev) {
      var r = svg.getBoundingClientRect();
      var sec = Math.round(range.from + ((ev.clientX - r.left - PAD.l) / w) * span);
      pick(nearestWithTraffic(Math.max(range.from, Math.min(range.to, sec))));
    });
    box.appendChild(head);
    box.appendChild(svg);
  }

  /** The second itself, or the closest one within 3 s that had requests: points are small targets. */
  function nearestWithTraffic(sec) {
    for (var d = 0; d <= 3; d++) {
      if (traffic.buckets.has(sec - d)) return sec - d;
      if (traffic.buckets.has(sec + d)) return sec + d;
    }
    return sec;
  }

  function draw() {
    scheduled = false;
    if (!root) return;
    var now = Math.max(Math.floor(Date.now() / 1000), traffic.last || 0);
    var from = traffic.first === undefined ? now - MIN_SPAN_S : Math.max(traffic.first, now - T.WINDOW_S + 1);
    range = { from: Math.min(from, now - MIN_SPAN_S), to: now };
    var all = traffic.series(range.from, range.to);
    var boxes = root.querySelectorAll('.chart');
    // Four in a row on a wide screen, two on a narrow one.
    var perRow = root.clientWidth >= 900 ? CHARTS.length : 2;
    var width = Math.max(140, Math.floor(root.clientWidth / perRow) - 12);
    CHARTS.forEach(function (c, i) {
      drawChart(boxes[i], c, all[c.key], width);
    });
    root.dataset.requests = String(traffic.requests);
    root.dataset.from = String(range.from);
    root.dataset.to = String(range.to);
    var chip = document.getElementById('picked');
    chip.hidden = picked === undefined;
    if (picked !== undefined) chip.firstChild.textContent = 'lines of ' + hhmmss(picked) + ' UTC ';
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(draw, 250);
  }
  function pick(sec) {
    picked = sec;
    if (window.SwitchyardViewer) window.SwitchyardViewer.refilter();
    draw();
  }

  if (root) {
    CHARTS.forEach(function (c) {
      var box = document.createElement('div');
      box.className = 'chart chart-' + c.key;
      root.appendChild(box);
    });
    var chip = document.createElement('span');
    chip.id = 'picked';
    chip.hidden = true;
    chip.appendChild(document.createTextNode(''));
    var clear = document.createElement('button');
    clear.type = 'button';
    clear.textContent = 'show all';
    clear.addEventListener('click', function () {
      pick(undefined);
    });
    chip.appendChild(clear);
    root.appendChild(chip);
    setInterval(draw, 1000);
    draw();
  }

  window.SwitchyardCharts = {
    add: function (line) {
      if (traffic.add(line)) schedule();
    },
    reset: function () {
      traffic.reset();
      picked = undefined;
      draw();
    },
    /** Whether a line's time falls in the picked second (every line does when none is picked). */
    matches: function (line) {
      return picked === undefined || T.secondOf(line.time) === picked;
    },
    pick: pick,
  };
})();
