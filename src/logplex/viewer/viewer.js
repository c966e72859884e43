// Switchyard log viewer: pick an app, tail its channel over WebSocket (POST /v2/sessions, then
// a WebSocket on the session URL, JSON mode), filter by dyno/source, search on the server (the
// session's `q`), pause with a count of held lines, reconnect with backoff when Logplex goes
// away, resuming after the last stream id seen (`since_id`): no line lost, none twice. Every
// list here has a bound.
'use strict';
(function () {
  var MAX_SHOWN = 5000; // lines kept in the page
  var MAX_HELD = 20000; // lines held while paused; beyond it the oldest are dropped (counted)
  var LINE_RE = /^(\S+) ([^\s\[]+)\[([^\]]+)\]: ([\s\S]*)$/;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var el = {
    app: $('app'),
    dyno: $('dyno'),
    source: $('source'),
    search: $('search'),
    pause: $('pause'),
    held: $('held'),
    clear: $('clear'),
    status: $('status'),
    lines: $('lines'),
    auth: $('auth'),
    token: $('token'),
  };
  var state = {
    paused: false,
    held: [],
    heldDropped: 0,
    ws: null,
    gen: 0,
    retry: 0,
    timer: null,
    connectedOnce: false,
    lastId: null, // stream id of the last line received: where a reconnect resumes
    query: '', // the server-side search of the current session
  };

  function token() {
    try {
      return sessionStorage.getItem('switchyard-token') || '';
    } catch (e) {
      return '';
    }
  }
  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (body) headers['content-type'] = 'application/json';
    if (token()) headers['authorization'] = 'Bearer ' + token();
    return fetch(path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined }).then(
      function (r) {
        if (r.status === 401) {
          el.auth.hidden = false;
          throw new Error('the API wants a token');
        }
        return r.json().then(function (j) {
          if (!r.ok) {
            var err = new Error(j.message || 'HTTP ' + r.status);
            err.badQuery = r.status === 400;
            throw err;
          }
          return j;
        });
      },
    );
  }
  function status(text, cls) {
    el.status.textContent = text;
    el.status.className = 'status ' + (cls || '');
  }

  function parse(raw) {
    var m = LINE_RE.exec(raw);
    if (!m) return { raw: raw, time: '', source: '', ps: '', msg: raw };
    return { raw: raw, time: m[1], source: m[2], ps: m[3], msg: m[4] };
  }
  // A JSON-mode message as a line (its id moves the resume point; in-band lines have none).
  function fromJson(text) {
    var j;
    try {
      j = JSON.parse(text);
    } catch (e) {
      return parse(text);
    }
    if (j.id) state.lastId = j.id;
    return {
      raw: j.time + ' ' + j.source + '[' + j.ps + ']: ' + j.msg,
      time: j.time,
      source: j.source,
      ps: j.ps,
      msg: j.msg,
    };
  }
  function matches(l) {
    var dyno = el.dyno.value.trim(),
      source = el.source.value;
    if (dyno && !(l.ps === dyno || l.ps.indexOf(dyno + '.') === 0)) return false;
    if (source && l.source !== source) return false;
    if (window.SwitchyardCharts && !window.SwitchyardCharts.matches(l)) return false;
    return true;
  }
  function render(l) {
    var div = document.createElement('div');
    var src = l.source === 'app' || l.source === 'heroku' ? l.source : 'other';
    div.className =
      'line src-' +
      src +
      ' ps-' +
      (l.ps.split('.')[0] || 'none') +
      (/\b(at=error|Error L1\d)/.test(l.msg) ? ' error' : '');
    div.dataset.source = l.source;
    div.dataset.dyno = l.ps;
    var t = document.createElement('span');
    t.className = 'time';
    t.textContent = l.time + ' ';
    var w = document.createElement('span');
    w.className = 'who';
    w.textContent = l.source ? l.source + '[' + l.ps + ']: ' : '';
    var m = document.createElement('span');
    m.className = 'msg';
    m.textContent = l.msg;
    div.appendChild(t);
    div.appendChild(w);
    div.appendChild(m);
    div.hidden = !matches(l);
    div._line = l;
    if (window.SwitchyardColumns) window.SwitchyardColumns.decorate(div, l);
    return div;
  }
  function append(lines) {
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    var frag = document.createDocumentFragment();
    lines.forEach(function (l) {
      frag.appendChild(render(l));
    });
    el.lines.appendChild(frag);
    while (el.lines.childElementCount > MAX_SHOWN) el.lines.removeChild(el.lines.firstElementChild);
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  }
  function marker(text) {
    var d = document.createElement('div');
    d.className = 'marker';
    d.textContent = '— ' + text + ' —';
    el.lines.appendChild(d);
  }
  function refilter() {
    var kids = el.lines.children;
    for (var i = 0; i < kids.length; i++) if (kids[i]._line) kids[i].hidden = !matches(kids[i]._line);
  }
  function showHeld() {
    el.held.hidden = !state.paused;
    el.held.textContent =
      state.held.length + ' held' + (state.heldDropped ? ' (' + state.heldDropped + ' dropped)' : '');
  }
  function receive(raw) {
    var l = fromJson(raw);
    if (window.SwitchyardCharts) window.SwitchyardCharts.add(l);
    if (state.paused) {
      state.held.push(l);
      if (state.held.length > MAX_HELD) {
        state.held.shift();
        state.heldDropped++;
      }
      showHeld();
    } else append([l]);
  }
  function togglePause() {
    state.paused = !state.paused;
    el.pause.textContent = state.paused ? 'Resume' : 'Pause';
    el.pause.classList.toggle('on', state.paused);
    if (!state.paused) {
      if (state.heldDropped) marker(state.heldDropped + ' held lines dropped while paused');
      append(state.held);
      state.held = [];
      state.heldDropped = 0;
    }
    showHeld();
  }

  function disconnect() {
    state.gen++;
    clearTimeout(state.timer);
    if (state.ws) {
      state.ws.onclose = null;
      state.ws.close();
      state.ws = null;
    }
  }
  function scheduleReconnect(why) {
    var delay = Math.min(10000, 500 * Math.pow(2, state.retry++));
    status(why + '; reconnecting in ' + Math.round(delay / 100) / 10 + ' s', 'down');
    var gen = state.gen;
    state.timer = setTimeout(function () {
      if (gen === state.gen) connect(true);
    }, delay);
  }
  function connect(again) {
    var opt = el.app.selectedOptions[0];
    if (!opt || !opt.value) return;
    var gen = ++state.gen;
    status('connecting to ' + opt.textContent);
    // After a reconnect, every line after the last one received (lines shown stay, none is lost
    // or shown twice); a first connect asks for the newest 200 matching lines.
    var body = { channel_id: Number(opt.value), num: 200, tail: true, format: 'json' };
    if (again && state.lastId) body.since_id = Number(state.lastId);
    else if (again) body.num = 0;
    if (state.query) body.q = state.query;
    api('POST', '/v2/sessions', body)
      .then(function (s) {
        if (gen !== state.gen) return;
        var u = new URL(s.url, location.href);
        u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
        u.host = location.host;
        var ws = new WebSocket(u.toString());
        state.ws = ws;
        ws.onopen = function () {
          state.retry = 0;
          if (again) marker('reconnected');
          status('live: ' + opt.textContent, 'live');
        };
        ws.onmessage = function (ev) {
          if (gen === state.gen) receive(String(ev.data));
        };
        ws.onclose = function () {
          if (gen === state.gen) {
            state.ws = null;
            scheduleReconnect('disconnected');
          }
        };
      })
      .catch(function (err) {
        if (gen !== state.gen) return;
        // A query the server refuses is the user's to fix, not an outage to retry.
        if (err.badQuery) status(err.message, 'down');
        else scheduleReconnect(err.message || 'failed');
      });
  }
  // Starts over on the current app: a new session from the newest matching lines.
  function restart() {
    el.lines.innerHTML = '';
    if (window.SwitchyardCharts) window.SwitchyardCharts.reset();
    state.held = [];
    state.heldDropped = 0;
    state.lastId = null;
    showHeld();
    disconnect();
    connect(false);
  }
  // A channel is named after its app; an app created again gets a new channel: keep the newest.
  function latestByName(channels) {
    var byName = {};
    channels.forEach(function (c) {
      if (!byName[c.name] || byName[c.name].channel_id < c.channel_id) byName[c.name] = c;
    });
    return Object.keys(byName)
      .sort()
      .map(function (n) {
        return byName[n];
      });
  }
  function loadApps() {
    return api('GET', '/v2/channels')
      .then(function (apps) {
        apps = latestByName(apps);
        el.auth.hidden = true;
        var want = new URLSearchParams(location.hash.slice(1)).get('app') || el.app.value;
        el.app.innerHTML = '';
        if (!apps.length) {
          el.app.appendChild(new Option('no apps yet', ''));
          status('no apps yet');
          setTimeout(loadApps, 3000);
          return;
        }
        apps.forEach(function (a) {
          el.app.appendChild(new Option(a.name, String(a.channel_id), false, a.name === want));
        });
        if (
          !apps.some(function (a) {
            return a.name === want;
          })
        )
          el.app.selectedIndex = 0;
        restart();
      })
      .catch(function (err) {
        status(err.message, 'down');
        setTimeout(loadApps, 3000);
      });
  }

  el.app.addEventListener('change', function () {
    location.hash = 'app=' + encodeURIComponent(el.app.selectedOptions[0].textContent);
    restart();
  });
  el.dyno.addEventListener('input', refilter);
  el.source.addEventListener('change', refilter);
  // Search runs on the server over history and live lines (Enter, or leaving the box).
  el.search.addEventListener('change', function () {
    var q = el.search.value.trim();
    if (q === state.query) return;
    state.query = q;
    restart();
  });
  el.pause.addEventListener('click', togglePause);
  el.clear.addEventListener('click', function () {
    el.lines.innerHTML = '';
  });
  el.auth.addEventListener('submit', function (ev) {
    ev.preventDefault();
    try {
      sessionStorage.setItem('switchyard-token', el.token.value);
    } catch (e) {
      /* private mode */
    }
    loadApps();
  });
  window.SwitchyardViewer = { refilter: refilter };
  loadApps();
})();
