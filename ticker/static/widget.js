/* ticker widget: KZT rates and city temperatures as a header strip.
 *
 *   <script src="https://ticker.example/widget.js"></script>
 *   <div data-ticker data-cities="astana,almaty" data-currencies="USD,EUR" data-lang="ru" data-next></div>
 *
 * Dependency-free. Live through Server-Sent Events (/v1/stream), falling back to polling /v1/ticker
 * every 60 s with If-None-Match. Text is set with textContent only. One global: window.TickerWidget.
 * An item is shown stale when the body says so or once this page's clock passes its `stale_at`, so a
 * cached body or a page left open never shows old numbers as current; one timer, set to the earliest
 * `stale_at` still ahead, re-checks. Tomorrow's rate (`next`) goes in the tooltip, or inline with data-next.
 */
(function () {
  "use strict";
  if (window.TickerWidget) {
    window.TickerWidget.init(); // included twice: just pick up new elements
    return;
  }

  var POLL_MS = 60000;
  var MAX_STREAM_ERRORS = 3; // consecutive errors without a message, then poll instead
  var STREAM_RETRY_MS = 30000; // while polling, try the stream again after this, doubling per failure...
  var STREAM_RETRY_MAX_MS = 600000; // ...up to this; jittered, so a refused crowd does not return at once
  var MAX_TIMER_MS = 86400000; // setTimeout fires at once past 2^31-1 ms: re-check a far stale_at daily
  var ARROWS = { up: "▲", down: "▼" };
  var CREDITS = {
    open_meteo: ["Weather data by Open-Meteo.com", "https://open-meteo.com/"],
    met_no: ["Weather data by MET Norway", "https://www.met.no/en"],
  };
  var RATE_SOURCES = { nbk: "NBK", cbr: "CBR" };
  var CSS =
    ":where([data-ticker]){display:flex;flex-wrap:wrap;align-items:baseline;gap:.25em var(--ticker-gap,1.25em);" +
    "font:var(--ticker-font,14px/1.6 system-ui,sans-serif);color:var(--ticker-color,inherit);" +
    "background:var(--ticker-bg,transparent);padding:.25em .75em}" +
    ":where(.ticker-items){display:flex;flex-wrap:wrap;gap:.25em var(--ticker-gap,1.25em)}" +
    ":where(.ticker-item){white-space:nowrap}" +
    ":where(.ticker-up){color:var(--ticker-up-color,#1a7f37)}" +
    ":where(.ticker-down){color:var(--ticker-down-color,#c62828)}" +
    ":where(.ticker-stale){opacity:var(--ticker-stale-opacity,.5)}" +
    ":where(.ticker-next){font-size:.85em;opacity:.8}" +
    ":where(.ticker-credit){margin-left:auto;font-size:.75em;opacity:.75}" +
    ":where(.ticker-credit a){color:inherit}";

  // --- where the API lives: next to this script ---------------------------------------------------
  function ownSrc() {
    if (document.currentScript && document.currentScript.src) return document.currentScript.src;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src)) return scripts[i].src;
    }
    return location.href;
  }
  var BASE = new URL(".", ownSrc()).href; // "https://ticker.example/" (or a path prefix)

  // --- formatting ---------------------------------------------------------------------------------
  /** Half-up to a whole number (Math.round semantics: -2.5 -> -2, 2.5 -> 3); never -0. */
  function roundHalfUp(x) {
    var n = Math.round(x);
    return n === 0 ? 0 : n; // Math.round(-0.4) is -0
  }
  function formatTemperature(t, unit) {
    if (t === null || t === undefined || !isFinite(t)) return "—";
    return String(roundHalfUp(t)) + " " + (unit || "°C");
  }
  function formatRate(r) {
    if (r === null || r === undefined || !isFinite(r)) return "—";
    return r.toFixed(Math.abs(r) < 1 ? 4 : 2);
  }
  function formatWhen(iso) {
    return iso ? String(iso).replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC") : "unknown";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The instant an ISO 8601 string names, in ms; NaN for null or garbage (never stale by time). */
  function instant(iso) {
    return iso ? Date.parse(iso) : NaN;
  }

  /** One item as data: key, class, title and its parts; the DOM is built from this. */
  function describe(item, kind, now, inlineNext) {
    var weather = kind === "weather";
    var value = weather ? item.temperature : item.rate;
    var stale = item.stale || instant(item.stale_at) <= now;
    var next = item.next && typeof item.next.rate === "number" && isFinite(item.next.rate) ? item.next : null;
    // "tomorrow" holds only while today's rate is current; past its stale_at, name the date instead
    var nextText = next ? (stale ? next.date || "next" : "tomorrow") + ": " + formatRate(next.rate) : "";
    var nextTrend = next ? ARROWS[next.trend] || "" : "";
    var title = stale
      ? value === null
        ? "stale: no data yet"
        : "stale: last updated " + formatWhen(weather ? item.observed_at : item.date)
      : "";
    if (next && !inlineNext) title = (title ? title + " · " : "") + nextText + (nextTrend ? " " + nextTrend : "");
    var d = {
      key: kind + ":" + (weather ? item.city : item.currency),
      cls: "ticker-item ticker-" + kind + (stale ? " ticker-stale" : ""),
      title: title,
      text: weather
        ? item.name + ": " + formatTemperature(value, item.unit)
        : item.currency + " " + formatRate(value),
      trend: !weather && value !== null ? ARROWS[item.trend] || "" : "",
      trendCls: "ticker-trend ticker-" + item.trend,
      change: !weather && item.change !== null ? String(item.change) : "",
      next: inlineNext ? nextText : "",
      nextTrend: nextTrend,
      nextTrendCls: next ? "ticker-trend ticker-" + next.trend : "",
    };
    d.sig = [d.cls, d.title, d.text, d.trend, d.change, d.next, d.nextTrend].join("|");
    return d;
  }

  /** A text, then " " and an arrow span if there is one. */
  function withArrow(node, arrowText, arrowCls, arrowTitle) {
    if (!arrowText) return node;
    node.appendChild(document.createTextNode(" "));
    var arrow = el("span", arrowCls, arrowText);
    if (arrowTitle) arrow.title = arrowTitle;
    node.appendChild(arrow);
    return node;
  }

  function build(d) {
    var node = withArrow(el("span", d.cls, d.text), d.trend, d.trendCls, d.change);
    if (d.title) node.title = d.title;
    if (d.next) {
      node.appendChild(document.createTextNode(" "));
      node.appendChild(withArrow(el("span", "ticker-next", d.next), d.nextTrend, d.nextTrendCls));
    }
    node.setAttribute("data-key", d.key);
    node.setAttribute("data-sig", d.sig);
    return node;
  }

  /** Touch only the items whose text changed, so a screen reader hears changes, not the whole strip. */
  function render(widget, data, now) {
    var wanted = data.weather
      .map(function (w) { return describe(w, "weather", now, false); })
      .concat(data.rates.map(function (r) { return describe(r, "rate", now, widget.inlineNext); }));
    var items = widget.items;
    var have = items.children;
    var sameKeys =
      have.length === wanted.length &&
      wanted.every(function (d, i) { return have[i].getAttribute("data-key") === d.key; });
    if (!sameKeys) {
      items.textContent = "";
      wanted.forEach(function (d) { items.appendChild(build(d)); });
    } else {
      wanted.forEach(function (d, i) {
        if (have[i].getAttribute("data-sig") !== d.sig) items.replaceChild(build(d), have[i]);
      });
    }
    renderCredit(widget, data);
  }

  /** Render the last body as of now, and wake when the earliest stale_at still ahead passes. */
  function refresh(widget) {
    var now = Date.now();
    var data = widget.data;
    render(widget, data, now);
    clearTimeout(widget.staleTimer);
    var due = data.weather.concat(data.rates).reduce(function (soonest, item) {
      var at = instant(item.stale_at);
      return at > now && at < soonest ? at : soonest;
    }, Infinity);
    if (due !== Infinity) widget.staleTimer = setTimeout(refresh, Math.min(due - now, MAX_TIMER_MS), widget);
  }

  function renderCredit(widget, data) {
    var weather = {};
    var rates = {};
    data.weather.forEach(function (w) { if (CREDITS[w.source]) weather[w.source] = true; });
    data.rates.forEach(function (r) { if (RATE_SOURCES[r.source]) rates[r.source] = true; });
    weather.open_meteo = true; // the primary source: CC BY 4.0 attribution always shown
    var rateNames = Object.keys(rates).map(function (s) { return RATE_SOURCES[s]; });
    var sig = Object.keys(weather).join() + "/" + rateNames.join();
    if (widget.credit.getAttribute("data-sig") === sig) return;
    widget.credit.textContent = "";
    widget.credit.setAttribute("data-sig", sig);
    Object.keys(weather).forEach(function (s) {
      var a = el("a", "", CREDITS[s][0]);
      a.href = CREDITS[s][1];
      a.target = "_blank";
      a.rel = "noopener";
      widget.credit.appendChild(a);
      widget.credit.appendChild(document.createTextNode(" · "));
    });
    widget.credit.appendChild(document.createTextNode("Rates: " + (rateNames.join(", ") || "NBK")));
  }

  // --- data in: SSE, falling back to polling ------------------------------------------------------
  function accept(widget, raw) {
    if (raw === widget.raw) return; // nothing new: nothing re-rendered, nothing announced
    try {
      var data = JSON.parse(raw);
    } catch (e) {
      return;
    }
    if (!data || !Array.isArray(data.weather) || !Array.isArray(data.rates)) return;
    widget.raw = raw;
    widget.data = data;
    refresh(widget);
  }

  function poll(widget) {
    if (widget.timer) return; // already polling
    var url = BASE + "v1/ticker" + widget.query;
    function tick() {
      if (document.hidden && widget.raw) return;
      var headers = widget.etag ? { "If-None-Match": widget.etag } : {};
      fetch(url, { cache: "no-cache", headers: headers, credentials: "omit" })
        .then(function (res) {
          if (res.status === 304) return null; // keep the current render
          if (!res.ok) throw new Error("HTTP " + res.status);
          widget.etag = res.headers.get("ETag");
          return res.text();
        })
        .then(function (raw) { if (raw) accept(widget, raw); })
        .catch(function (err) { console.warn("ticker: " + url + ": " + err.message); });
    }
    tick();
    widget.timer = setInterval(tick, POLL_MS);
  }

  function stopPolling(widget) {
    if (widget.timer) clearInterval(widget.timer);
    widget.timer = null;
  }

  function stream(widget) {
    if (typeof EventSource !== "function") return poll(widget);
    var errors = 0;
    var opened = false;
    var source = new EventSource(BASE + "v1/stream" + widget.query);
    source.addEventListener("open", function () {
      opened = true;
      errors = 0;
      widget.streamFailures = 0;
      stopPolling(widget); // live again: the stream carries every change
    });
    source.addEventListener("ticker", function (e) { accept(widget, e.data); });
    source.addEventListener("error", function () {
      errors += 1;
      // never opened (e.g. 503: the server has all the streams it takes), refused (CLOSED: e.g. 400), or
      // failing again and again: poll instead, and try the stream again later, backing off
      if (!opened || source.readyState === EventSource.CLOSED || errors >= MAX_STREAM_ERRORS) {
        source.close();
        poll(widget);
        var failures = widget.streamFailures || 0;
        widget.streamFailures = failures + 1;
        var delay = Math.min(STREAM_RETRY_MAX_MS, STREAM_RETRY_MS * Math.pow(2, failures));
        widget.streamRetry = setTimeout(stream, delay * (0.5 + Math.random() / 2), widget);
      }
    });
    // `event: close` (server shutdown): EventSource reconnects by itself after the server's retry: delay
  }

  function mount(container) {
    var params = [];
    [["cities", "data-cities"], ["currencies", "data-currencies"], ["lang", "data-lang"]].forEach(
      function (p) {
        var value = (container.getAttribute(p[1]) || "").trim();
        if (value) params.push(p[0] + "=" + encodeURIComponent(value));
      }
    );
    var widget = {
      query: params.length ? "?" + params.join("&") : "",
      items: el("span", "ticker-items"),
      credit: el("small", "ticker-credit"),
      raw: null,
      etag: null,
      data: null,
      staleTimer: null,
      timer: null,
      streamRetry: null,
      streamFailures: 0,
      inlineNext: container.hasAttribute("data-next"),
    };
    widget.items.setAttribute("role", "status");
    widget.items.setAttribute("aria-live", "polite");
    container.textContent = "";
    container.appendChild(widget.items);
    container.appendChild(widget.credit);
    renderCredit(widget, { weather: [], rates: [] });
    // a background tab's timers are throttled: catch up as soon as the page is seen again
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && widget.data) refresh(widget);
    });
    stream(widget);
  }

  function init() {
    if (!document.getElementById("ticker-widget-style")) {
      var style = el("style", "", CSS);
      style.id = "ticker-widget-style";
      var head = document.head || document.documentElement;
      head.insertBefore(style, head.firstChild); // first, so the page's own rules come later and win
    }
    var nodes = document.querySelectorAll("[data-ticker]:not([data-ticker-live])");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute("data-ticker-live", "");
      mount(nodes[i]);
    }
  }

  window.TickerWidget = {
    init: init,
    roundHalfUp: roundHalfUp,
    formatTemperature: formatTemperature,
    formatRate: formatRate,
    base: BASE,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
