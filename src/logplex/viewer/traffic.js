// The app's traffic, computed in the page from its router lines (design.md §Router line):
// `heroku[router]: at=info method=GET … dyno=web.1 connect=1ms service=4ms status=200 …`, or
// `at=error code=H12 …`. One bucket per second for the last 15 minutes (older buckets are
// dropped), each bounded: at most MAX_SAMPLES service times a second (a fair sample beyond).
'use strict';
(function () {
  var WINDOW_S = 15 * 60;
  var MAX_SAMPLES = 500;
  var FIELD_RE = /([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)/g;

  /** logfmt → {key: value}, quotes removed. */
  function fields(msg) {
    var out = {};
    var m;
    FIELD_RE.lastIndex = 0;
    while ((m = FIELD_RE.exec(msg))) {
      var v = m[2];
      out[m[1]] = v.charAt(0) === '"' ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
    }
    return out;
  }

  function secondOf(time) {
    var ms = Date.parse(time);
    return isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }

  function Traffic() {
    this.reset();
  }
  Traffic.prototype.reset = function () {
    this.buckets = new Map(); // epoch second → bucket
    this.first = undefined;
    this.last = undefined;
    this.requests = 0;
  };
  Traffic.prototype.bucket = function (sec) {
    var b = this.buckets.get(sec);
    if (!b) {
      b = { classes: [0, 0, 0, 0, 0], samples: [], seen: 0, codes: {}, dynos: {} };
      this.buckets.set(sec, b);
    }
    return b;
  };
  /** A parsed viewer line; anything but a router line is ignored. Returns whether it counted. */
  Traffic.prototype.add = function (line) {
    if (line.source !== 'heroku' || line.ps !== 'router') return false;
    var sec = secondOf(line.time);
    if (sec === undefined) return false;
    var newest = this.last === undefined ? sec : Math.max(this.last, sec);
    if (sec <= newest - WINDOW_S) return false;
    var f = fields(line.msg);
    var b = this.bucket(sec);
    var status = Number(f.status);
    if (status >= 100 && status < 600) b.classes[Math.floor(status / 100) - 1]++;
    var svc = parseFloat(f.service);
    if (!isNaN(svc)) {
      b.seen++;
      // Reservoir sampling keeps the percentiles fair once a second has more than MAX_SAMPLES.
      if (b.samples.length < MAX_SAMPLES) b.samples.push(svc);
      else {
        var j = Math.floor(Math.random() * b.seen);
        if (j < MAX_SAMPLES) b.samples[j] = svc;
      }
    }
    if (f.code) b.codes[f.code] = (b.codes[f.code] || 0) + 1;
    if (f.dyno) b.dynos[f.dyno] = (b.dynos[f.dyno] || 0) + 1;
    this.requests++;
    this.first = this.first === undefined ? sec : Math.min(this.first, sec);
    this.last = newest;
    this.prune(newest);
    return true;
  };
  Traffic.prototype.prune = function (now) {
    var self = this;
    this.buckets.forEach(function (_b, sec) {
      if (sec <= now - WINDOW_S) self.buckets.delete(sec);
    });
    if (this.first !== undefined && this.first <= now - WINDOW_S) this.first = now - WINDOW_S + 1;
  };

  function percentile(sorted, p) {
    if (!sorted.length) return undefined;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  }

  /**
   * The series of the four charts over [from, to] (epoch seconds): name → [value or undefined per second].
   */
  Traffic.prototype.series = function (from, to) {
    var n = to - from + 1;
    var out = { rps: {}, service: {}, codes: {}, dynos: {} };
    var keys = ['1xx', '2xx', '3xx', '4xx', '5xx'];
    var zeros = function () {
      var a = new Array(n);
      for (var i = 0; i < n; i++) a[i] = 0;
      return a;
    };
    keys.slice(1).forEach(function (k) {
      out.rps[k] = zeros();
    });
    ['p50', 'p95', 'p99'].forEach(function (k) {
      out.service[k] = new Array(n);
    });
    for (var i = 0; i < n; i++) {
      var b = this.buckets.get(from + i);
      if (!b) continue;
      for (var c = 1; c < 5; c++) out.rps[keys[c]][i] += b.classes[c];
      out.rps['2xx'][i] += b.classes[0]; // 1xx (a 101 upgrade) counts with 2xx
      if (b.samples.length) {
        var s = b.samples.slice().sort(function (x, y) {
          return x - y;
        });
        out.service.p50[i] = percentile(s, 50);
        out.service.p95[i] = percentile(s, 95);
        out.service.p99[i] = percentile(s, 99);
      }
      Object.keys(b.codes).forEach(function (code) {
        (out.codes[code] = out.codes[code] || zeros())[i] = b.codes[code];
      });
      Object.keys(b.dynos).forEach(function (d) {
        (out.dynos[d] = out.dynos[d] || zeros())[i] = b.dynos[d];
      });
    }
    return out;
  };

  window.SwitchyardTraffic = { Traffic: Traffic, fields: fields, secondOf: secondOf, WINDOW_S: WINDOW_S };
})();
