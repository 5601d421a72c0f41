/* ticker widget: KZT rates and weather as a header strip in a Shadow DOM (README: "The widget").
 * SSE, else polling with If-None-Match; textContent only; one global, TickerWidget. The source: widget/build.mjs
 * writes the shared word list into it and minifies it to ticker/static/widget.js (<= 6.5 KB gzipped); data-history's
 * panel is widget/history.js, loaded when a strip asks for it. */
(function () {
  "use strict";
  if (window.TickerWidget) {
    window.TickerWidget.init();
    return;
  }

  var POLL_MS = 60000;
  var MAX_STREAM_ERRORS = 3; // in a row without a message: poll
  var STREAM_RETRY_MS = 30000; // then retry the stream, doubling, jittered...
  var STREAM_RETRY_MAX_MS = 600000; // ...up to this
  var MAX_TIMER_MS = 86400000; // setTimeout fires at once past 2^31-1 ms
  var BUSY_MS = 10000; // no data by then (an API that never answers): not busy any more, "no data"
  var ARROWS = { up: "▲", down: "▼" };
  var LINKS = { open_meteo: "https://open-meteo.com/", met_no: "https://api.met.no/", open_meteo_air: "https://open-meteo.com/" };
  // the category's colour beside its words (never alone), by the index's scale
  var AQI = {
    us: "good moderate unhealthy_for_sensitive unhealthy very_unhealthy hazardous",
    european: "good fair moderate poor very_poor extremely_poor",
  };
  var AQI_COLOURS = "#0a0 #dd0 #f80 #e00 #90c #702".split(" ");
  // ticker/render/words.json, shared with the HTML fragment: widget/build.mjs writes it in here
  var WORDS = __WORDS__;
  // icons: the sun; over it a cloud (filled) and what falls
  var SUN = "M8 12a4 4 0 1 0 8 0 4 4 0 1 0-8 0M12 3v2M12 19v2M3 12h2M19 12h2M5.6 5.6l1.4 1.4M17 17l1.4 1.4M5.6 18.4l1.4-1.4M17 7l1.4-1.4";
  var SMALL_SUN = "M5 8.5a3.5 3.5 0 1 1 7 0M8.5 2v1.5M2 8.5h1.5M3.9 3.9l1 1M13.1 3.9l-1 1";
  function cloud(y) {
    return "M7 " + y + "h10a4 4 0 0 0 0-8 5.5 5.5 0 0 0-10.4 1.6 3.2 3.2 0 0 0 .4 6.4z";
  }
  var FALLS = {
    fog: "M4 18h16M6 21h12",
    drizzle: "M8 18.5v.1M12 20.5v.1M16 18.5v.1",
    rain: "M9 17l-1 3M13 17l-1 3M17 17l-1 3",
    snow: "M8 18h.1M12 18h.1M16 18h.1M10 21h.1M14 21h.1",
    showers: "M9 18l-1 3M13 18l-1 3M17 18l-1 3",
    thunderstorm: "M13 15l-2 3.5h3L12 22",
  };
  function icon(sky) {
    var back = sky === "clear" ? SUN : /partly|showers/.test(sky) ? SMALL_SUN : "";
    var front = sky === "clear" ? "" : sky === "overcast" || sky === "partly_cloudy" ? cloud(19) : cloud(15);
    return svg("0 0 24 24", [back, front + (FALLS[sky] || "")]);
  }
  function svg(box, paths, className) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    if (className) node.setAttribute("class", className);
    node.setAttribute("viewBox", box);
    node.setAttribute("preserveAspectRatio", "none");
    node.setAttribute("aria-hidden", "true");
    paths.forEach(function (d) {
      var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", d);
      node.appendChild(path);
    });
    return node;
  }

  // a clock: the mark of an item that is not current, beside its colour and its words
  var CLOCK = "M3 12a9 9 0 1 0 18 0 9 9 0 1 0-18 0M12 7v5l3 2";

  // every colour >= 4.5:1 on its theme's background (stale text and arrows included): tests/test_a11y.py
  var DARK = "--c:#f0f4f8;--b:#102a43;--u:#7ee2a8;--d:#ff9b9b;--s:#aebdcc";
  var CSS =
    ":host{display:block}" +
    // all:initial: nothing the host inherits gets in
    ".ticker-strip{all:initial;visibility:inherit;border-radius:inherit;direction:ltr;unicode-bidi:isolate;display:grid;" +
    "grid-template-columns:minmax(0,1fr) auto;align-items:center;column-gap:var(--ticker-gap,1.25em);" +
    "container-type:inline-size;position:relative;box-sizing:border-box;padding:4px 12px;" +
    "font:var(--ticker-font,14px/22px system-ui,sans-serif);font-variant-numeric:tabular-nums;" +
    "--c:#1d1d1f;--b:#fff;--u:#1a7f37;--d:#c62828;--s:#5c6370;--bg:var(--ticker-background,var(--ticker-bg,var(--b)));" +
    "color:var(--ticker-color,var(--c));background:var(--bg)}" +
    ".ticker-theme-dark{" + DARK + "}" +
    "@media (prefers-color-scheme:dark){.ticker-theme-auto{" + DARK + "}}" +
    // items wrap: nothing is hidden at 320 px, nothing clips a focus ring; each keeps its reserved width
    ".ticker-items{display:flex;flex-wrap:wrap;align-items:center;gap:2px var(--ticker-gap,1.25em);min-height:1lh;white-space:nowrap}" +
    ".ticker-item,.ticker-skeleton{flex:none;box-sizing:border-box}" +
    ".ticker-skeleton{height:1lh;padding:.3lh 0;background:currentColor content-box;opacity:.12}" +
    ".ticker-up{color:var(--ticker-up,var(--ticker-up-color,var(--u)))}" +
    ".ticker-down{color:var(--ticker-down,var(--ticker-down-color,var(--d)))}" +
    ".ticker-stale{color:var(--ticker-stale,var(--s));opacity:var(--ticker-stale-opacity,1)}" +
    ".ticker-next{font-size:.85em}" +
    "svg{fill:none;stroke:currentColor;stroke-width:1.7;stroke-linecap:round;stroke-linejoin:round}" +
    ".ticker-item svg{width:1.15em;height:1.15em;vertical-align:-.25em;margin-right:.2em}" +
    ".ticker-item .ticker-mark{width:.9em;height:.9em;vertical-align:-.1em;margin:0 0 0 .3em;stroke-width:2.2}" +
    ".ticker-condition path+path{fill:var(--bg)}" +
    // a target of 24 px and more (2.5.8), in a line box of its own height
    ".ticker-item[tabindex]{cursor:default;border-radius:2px;padding:1px 0;margin:-1px 0}" +
    ".ticker-item[tabindex]:focus-visible{outline:2px solid;outline-offset:1px}" +
    ".ticker-credit{font-size:.75em;line-height:1.5;line-height:round(up,1.5em,1px);min-height:1lh}" +
    ".ticker-credit a{color:inherit}" +
    "@container (max-width:60em){.ticker-items,.ticker-credit{grid-column:1/-1}}" +
    ".ticker-history{position:absolute;top:100%;left:0;z-index:1;padding:4px 8px;border-radius:4px;background:var(--bg);" +
    "box-shadow:0 1px 4px #0006;font-size:.75em;line-height:1.5;white-space:nowrap}" +
    ".ticker-history svg{display:block;width:12em;height:3em;stroke-width:1.5}" +
    ".ticker-history path{vector-effect:non-scaling-stroke}" +
    ".ticker-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}";
  var sheet;

  // the API is next to this script; its data-* are defaults
  var SCRIPT = document.currentScript;
  if (!SCRIPT || !SCRIPT.src) {
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0 && SCRIPT !== scripts[i]; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src)) SCRIPT = scripts[i];
    }
  }
  var BASE = new URL(".", (SCRIPT && SCRIPT.src) || location.href).href;

  function option(host, name) {
    var value = host.getAttribute("data-" + name);
    return value === null && SCRIPT ? SCRIPT.getAttribute("data-" + name) : value;
  }
  function flag(host, name) {
    var value = option(host, name);
    return value !== null && !/^(false|off|no|0)$/i.test(value);
  }
  function list(host, name) {
    return (option(host, name) || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  /** Half away from zero, as /v1/ticker.txt (-2.5 -> -3); never -0. */
  function roundHalfAway(x) {
    var n = Math.round(Math.abs(x));
    return n === 0 ? 0 : x < 0 ? -n : n;
  }
  function formatTemperature(t, unit) {
    if (t == null || !isFinite(t)) return "\u2013";
    var n = roundHalfAway(t);
    return (n < 0 ? "\u2212" + -n : String(n)) + " " + (unit || "°C");
  }
  function formatRate(r) {
    if (r == null || !isFinite(r)) return "\u2013";
    var d = Math.abs(r) < 1 ? 4 : 2, f = Math.pow(10, d); // half away from zero, not toFixed's binary float
    return ((r < 0 ? -1 : 1) * Math.round(Math.abs(r) * f + 1e-7) / f).toFixed(d);
  }
  function formatWhen(iso) {
    return iso ? String(iso).replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC") : "?";
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) set(node, "class", className, "part", className.replace(/ticker-/g, "")); // ::part(up)
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function set(node) {
    for (var i = 1; i < arguments.length; i += 2) node.setAttribute(arguments[i], arguments[i + 1]);
    return node;
  }

  /** the width an item keeps, in ch of its font: a value gaining a digit moves nothing; its placeholder's too */
  function width(widget, city) {
    return city ? city.length + (widget.condition ? 9 : 8) : widget.inlineNext ? 26 : 13;
  }

  function build(widget, item, weather, now) {
    var words = widget.words;
    var value = weather ? item.temperature : item.rate;
    var missing = value == null || !isFinite(value);
    var stale = item.stale || Date.parse(item.stale_at) <= now;
    var next = item.next && typeof item.next.rate === "number" && isFinite(item.next.rate) ? item.next : null;
    // past its stale_at, tomorrow's rate is named by its date
    var nextText = next ? ((stale && next.date) || words.tomorrow) + ": " + formatRate(next.rate) : "";
    var staleText = stale
      ? words.stale + ": " + (missing ? words.none : words.updated + " " + formatWhen(weather ? item.observed_at : item.date))
      : "";
    var node = el(
      "span",
      "ticker-item ticker-" + (weather ? "weather" : "rate") + (stale ? " ticker-stale" : ""),
      weather ? item.name + (item.air ? " " : ": ") : item.currency + " " + formatRate(value)
    );
    node.style.minWidth = width(widget, weather && String(item.city || item.name)) + "ch";
    var say = [];
    var sky = weather && widget.condition && words.sky[item.condition];
    if (sky) {
      // one name: the label (a title would be read again)
      var label = set(el("span", "ticker-condition ticker-condition-" + item.condition), "role", "img", "aria-label", sky);
      label.appendChild(icon(item.condition));
      node.appendChild(label);
      say.push(sky);
    }
    if (weather) node.append(formatTemperature(value, item.unit));
    say.unshift(node.textContent);
    if (!weather && !missing) say.push(trend(node, item, words, item.change));
    var title = staleText;
    if (next && widget.inlineNext) {
      var span = el("span", "ticker-next", nextText);
      node.append(" ", span);
      say.push(words.tomorrow + " " + formatRate(next.rate), trend(span, next, words));
    } else if (next) {
      var arrow = ARROWS[next.trend];
      title = (title ? title + " · " : "") + nextText + (arrow ? " " + arrow : "");
      staleText = (staleText ? staleText + ", " : "") + nextText + (arrow ? ", " + said(next, words) : "");
    }
    // not current: a clock to see (and the colour), the words for screen readers and on hover
    if (stale) node.appendChild(svg("0 0 24 24", [CLOCK], "ticker-mark"));
    if (title) node.title = title;
    if (staleText) node.appendChild(el("span", "ticker-sr", ", " + staleText));
    if (widget.history && !weather && !missing) {
      set(node, "tabindex", 0, "role", "button", "aria-expanded", "false", "aria-describedby", "ticker-history");
    }
    set(node, "data-key", weather ? "weather:" + item.city : "rate:" + item.currency);
    node.say = say.filter(Boolean).join(", ");
    set(node, "data-sig", node.className + "|" + node.title + "|" + node.textContent + "|" + node.say);
    return node;
  }

  /** a city's air quality after its temperature, built as a reading is: the index, the category in words (the
   *  server's, in the asked language) and, for the eye only, a dot in the category's colour */
  function airItem(widget, a, now) {
    var node = build(widget, {
      city: "air:" + a.city, name: a.index === "us" ? "AQI" : "EAQI", air: 1, temperature: a.aqi, unit: a.label || "",
      stale: a.stale, stale_at: a.stale_at, observed_at: a.observed_at,
    }, true, now);
    node.classList.replace("ticker-weather", "ticker-air");
    var dot = set(el("span", "ticker-aqi-dot", "\u25cf"), "aria-hidden", "true");
    dot.style.color = AQI_COLOURS[AQI[a.index].split(" ").indexOf(a.category)];
    node.prepend(dot, " ");
    return node;
  }

  /** an arrow for the eye, words for screen readers */
  function trend(node, item, words, change) {
    var arrow = ARROWS[item.trend];
    if (arrow) {
      var span = set(el("span", "ticker-trend ticker-" + item.trend, arrow), "aria-hidden", "true");
      if (change != null) span.title = String(change);
      node.append(" ", span);
    }
    var text = said(item, words);
    if (text) node.appendChild(el("span", "ticker-sr", ", " + text));
    return text;
  }

  function said(item, words) {
    if (item.trend === "flat") return words.flat;
    if (!ARROWS[item.trend]) return "";
    return words[item.trend] + (typeof item.change === "number" ? " " + Math.abs(item.change) : "");
  }

  function render(widget, data, now) {
    var air = {};
    (data.air || []).forEach(function (a) { air[a.city] = airItem(widget, a, now); });
    var wanted = [];
    data.weather.forEach(function (w) {
      wanted.push(build(widget, w, true, now));
      if (air[w.city]) wanted.push(air[w.city]);
    });
    wanted = wanted.concat(data.rates.map(function (r) { return build(widget, r, false, now); }));
    var items = widget.row;
    var have = items.children;
    var sameKeys =
      have.length === wanted.length &&
      wanted.every(function (n, i) { return have[i].getAttribute("data-key") === n.getAttribute("data-key"); });
    if (!sameKeys) {
      items.textContent = "";
      wanted.forEach(function (n) { items.appendChild(n); });
    }
    var said = widget.said;
    var news = [];
    widget.said = {};
    wanted.forEach(function (n, i) {
      var key = n.getAttribute("data-key");
      if (sameKeys && have[i].getAttribute("data-sig") !== n.getAttribute("data-sig")) {
        if (have[i] === widget.shown) (widget.shown = n).setAttribute("aria-expanded", "true");
        items.replaceChild(n, have[i]);
      }
      if (said && said[key] && said[key] !== n.say) news.push(n.say);
      widget.said[key] = n.say;
    });
    if (news.length) widget.live.textContent = news.join("; ");
    widget.strip.removeAttribute("aria-busy");
    renderCredit(widget, data);
  }

  /** at: the stale_at a timer was set for (a timer may fire a millisecond early: that item is stale all the same) */
  function refresh(widget, at) {
    var now = Math.max(Date.now(), at || 0);
    var data = widget.data;
    render(widget, data, now);
    clearTimeout(widget.staleTimer);
    var due = data.weather.concat(data.rates, data.air || []).reduce(function (soonest, item) {
      var at = Date.parse(item.stale_at);
      return at > now && at < soonest ? at : soonest;
    }, Infinity);
    if (due !== Infinity) {
      widget.staleTimer = setTimeout(refresh, Math.min(due - now, MAX_TIMER_MS), widget, due - now > MAX_TIMER_MS ? 0 : due);
    }
  }

  /** credit the sources shown, and only those (nothing shown: nothing credited) */
  function renderCredit(widget, data) {
    var words = widget.words;
    var weather = [];
    var rates = [];
    data.weather.forEach(function (w) {
      if (LINKS[w.source] && weather.indexOf(w.source) < 0) weather.push(w.source);
    });
    (data.air || []).forEach(function (a) {
      if (LINKS[a.source] && weather.indexOf(a.source) < 0) weather.push(a.source);
    });
    data.rates.forEach(function (r) {
      if ((r.source === "nbk" || r.source === "cbr") && rates.indexOf(words[r.source]) < 0) rates.push(words[r.source]);
    });
    var sig = weather + "/" + rates;
    var credit = widget.credit;
    if (credit.getAttribute("data-sig") === sig) return;
    credit.textContent = "";
    credit.setAttribute("data-sig", sig);
    weather.forEach(function (s, i) {
      var a = el("a", "", words[s]);
      a.href = LINKS[s];
      a.target = "_blank";
      a.rel = "noopener";
      credit.append(i ? " · " : "", a);
    });
    if (rates.length) credit.append((weather.length ? " · " : "") + words.rates + " " + rates.join(", "));
  }

  function accept(widget, raw) {
    if (raw === widget.lastRaw) return;
    try {
      var data = JSON.parse(raw);
    } catch (e) {
      return;
    }
    if (!data || !Array.isArray(data.weather) || !Array.isArray(data.rates)) return;
    widget.lastRaw = raw;
    widget.data = data;
    refresh(widget);
  }

  /** no data, and none coming for now: not busy for ever; "no data" for screen readers */
  function unbusy(widget) {
    if (widget.data || !widget.strip.hasAttribute("aria-busy")) return;
    widget.strip.removeAttribute("aria-busy");
    widget.row.appendChild(el("span", "ticker-sr", widget.words.none));
  }

  function poll(widget) {
    if (widget.timer) return;
    var url = BASE + "v1/ticker" + widget.ask;
    function tick() {
      if (document.hidden && widget.lastRaw) return;
      var headers = widget.etag ? { "If-None-Match": widget.etag } : {};
      fetch(url, { cache: "no-cache", headers: headers, credentials: "omit" })
        .then(function (res) {
          if (res.status === 304) return null;
          if (!res.ok) throw new Error("HTTP " + res.status);
          widget.etag = res.headers.get("ETag");
          return res.text();
        })
        .then(function (raw) { if (raw) accept(widget, raw); })
        .catch(function (err) {
          unbusy(widget);
          console.warn("ticker: " + url + ": " + err.message);
        });
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
    var source = (widget.source = new EventSource(BASE + "v1/stream" + widget.ask));
    source.addEventListener("open", function () {
      opened = true;
      errors = 0;
      widget.streamFailures = 0;
      stopPolling(widget);
    });
    source.addEventListener("ticker", function (e) { accept(widget, e.data); });
    source.addEventListener("error", function () {
      errors += 1;
      // never opened (503), refused (400) or failing: poll, retry later
      if (!opened || source.readyState === EventSource.CLOSED || errors >= MAX_STREAM_ERRORS) {
        source.close();
        poll(widget);
        var failures = widget.streamFailures || 0;
        widget.streamFailures = failures + 1;
        var delay = Math.min(STREAM_RETRY_MAX_MS, STREAM_RETRY_MS * Math.pow(2, failures));
        widget.streamRetry = setTimeout(stream, delay * (0.5 + Math.random() / 2), widget);
      }
    });
  }

  /** a <ticker-strip> taken out of the page lets go of its stream and timers */
  function stop(widget) {
    widget.halted = 1;
    widget.source && widget.source.close();
    stopPolling(widget);
    clearTimeout(widget.streamRetry);
    clearTimeout(widget.staleTimer);
    clearTimeout(widget.busyTimer);
  }

  function mount(host) {
    var root;
    try {
      root = host.attachShadow({ mode: "open" });
    } catch (e) {
      return;
    }
    var lang = (option(host, "lang") || "").trim().toLowerCase().split("-")[0];
    var cities = list(host, "cities");
    var currencies = list(host, "currencies");
    var params = [];
    if (cities.length) params.push("cities=" + encodeURIComponent(cities.join(",")));
    if (currencies.length) params.push("currencies=" + encodeURIComponent(currencies.join(",")));
    if (WORDS[lang]) params.push("lang=" + lang);
    else lang = "en";
    var theme = option(host, "theme");
    var widget = {
      ask: params.length ? "?" + params.join("&") : "",
      words: WORDS[lang],
      strip: el("div", "ticker-strip ticker-theme-" + (/^(dark|auto)$/.test(theme) ? theme : "light")),
      row: el("div", "ticker-items"),
      credit: el("small", "ticker-credit"),
      live: el("span", "ticker-sr"),
      inlineNext: flag(host, "next"),
      condition: flag(host, "condition"),
      history: flag(host, "history") ? Math.min(365, Math.max(1, parseInt(option(host, "history"), 10) || 30)) : 0,
      chart: el("div", "ticker-history"),
    };
    var strip = set(widget.strip, "role", "region", "aria-label", widget.words.region, "aria-busy", "true", "lang", lang);
    set(widget.live, "role", "status", "aria-live", "polite");
    // placeholders as wide as the items to come: the strip has its final size before any data
    (cities.length || currencies.length ? cities : ["astana", "almaty"]).forEach(function (c) {
      skeleton(widget, width(widget, c));
    });
    (cities.length || currencies.length ? currencies : ["USD", "EUR", "RUB", "CNY"]).forEach(function () {
      skeleton(widget, width(widget));
    });
    try {
      var adopted = sheet || new CSSStyleSheet(); // CSP-proof
      if (!sheet) adopted.replaceSync(CSS);
      root.adoptedStyleSheets = [(sheet = adopted)];
    } catch (e) {
      root.appendChild(el("style", "", CSS));
    }
    strip.appendChild(widget.row);
    strip.appendChild(widget.credit);
    strip.appendChild(widget.live);
    if (widget.history) {
      // the panel is here from the start (the rates are described by it); what opens it comes with widget-history.js
      widget.chart.id = "ticker-history";
      widget.chart.hidden = true;
      strip.appendChild(widget.chart);
    }
    root.appendChild(strip);
    if (widget.history) history(widget);
    widget.busyTimer = setTimeout(unbusy, BUSY_MS, widget);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && widget.data && !widget.halted) refresh(widget);
    });
    stream(widget);
    return widget;
  }

  function skeleton(widget, width) {
    var bar = set(el("span", "ticker-skeleton"), "aria-hidden", "true");
    bar.style.width = width + "ch";
    widget.row.appendChild(bar);
  }

  /** data-history's code, loaded once, the first time a strip wants it (widget/history.js; its URL is versioned by
   *  widget/build.mjs, so it is cached immutable) */
  var waiting;
  function history(widget) {
    if (API.history) return API.history(widget);
    if (waiting) return waiting.push(widget);
    waiting = [widget];
    var script = el("script");
    script.src = BASE + "widget-history.js?v=__HISTORY__";
    script.onload = function () {
      waiting.forEach(API.history);
    };
    document.head.appendChild(script);
  }

  function init() {
    var nodes = document.querySelectorAll("[data-ticker],ticker-strip");
    for (var i = 0; i < nodes.length; i++) if (!nodes[i].shadowRoot) mount(nodes[i]);
  }

  // before the element is defined: defining it mounts the <ticker-strip>s already in the page
  var API = (window.TickerWidget = {
    init: init,
    roundHalfAway: roundHalfAway,
    formatTemperature: formatTemperature,
    formatRate: formatRate,
    base: BASE,
    svg: svg,
  });
  if (window.customElements && !customElements.get("ticker-strip")) {
    customElements.define("ticker-strip", class extends HTMLElement {
      connectedCallback() {
        var w = this.w;
        if (!this.shadowRoot) this.w = mount(this);
        else if (w && w.halted) {
          w.halted = 0;
          stream(w);
          w.data && refresh(w);
        }
      }
      disconnectedCallback() {
        this.w && stop(this.w);
      }
    });
  }

  // every host already in the page, now (a script at the end of <body> runs before DOMContentLoaded)
  init();
  if (document.readyState === "loading") {
    // and the rest as the parser inserts them, before they are painted
    var parsing = new MutationObserver(init);
    parsing.observe(document, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", function () {
      parsing.disconnect();
      init();
    });
  }
})();
