/* ticker widget: KZT rates and weather as a header strip in a Shadow DOM (README: "The widget").
 * SSE, else polling with If-None-Match; textContent only; one global, TickerWidget. Kept <= 8 KB gzipped, so no comments below. */
(function () {
  "use strict";
  if (window.TickerWidget) {
    window.TickerWidget.init();
    return;
  }

  var POLL_MS = 60000;
  var MAX_STREAM_ERRORS = 3;
  var STREAM_RETRY_MS = 30000;
  var STREAM_RETRY_MAX_MS = 600000;
  var MAX_TIMER_MS = 86400000;
  var ARROWS = { up: "▲", down: "▼" };
  var LINKS = { open_meteo: "https://open-meteo.com/", met_no: "https://api.met.no/" };
  var CONDITIONS = "clear partly_cloudy overcast fog drizzle rain snow showers thunderstorm".split(" ");
  var WORDS = {
    en: {
      region: "Exchange rates and weather",
      open_meteo: "Weather data by Open-Meteo.com",
      met_no: "Weather data by MET Norway",
      rates: "Rates: ",
      nbk: "NBK",
      cbr: "CBR",
      stale: "stale",
      updated: "last updated ",
      none: "no data yet",
      tomorrow: "tomorrow",
      days: " days",
      up: "up ",
      down: "down ",
      flat: "unchanged",
      sky: "clear|partly cloudy|overcast|fog|drizzle|rain|snow|showers|thunderstorm",
      air: "Air quality: CAMS via Open-Meteo",
    },
    ru: {
      region: "Курсы валют и погода",
      open_meteo: "Данные о погоде: Open-Meteo.com",
      met_no: "Данные о погоде: MET Norway",
      rates: "Курсы: ",
      nbk: "НБРК",
      cbr: "Банк России",
      stale: "устарело",
      updated: "обновлено ",
      none: "данных пока нет",
      tomorrow: "завтра",
      days: " дн.",
      up: "рост ",
      down: "снижение ",
      flat: "без изменений",
      sky: "ясно|переменная облачность|пасмурно|туман|морось|дождь|снег|ливень|гроза",
      air: "Качество воздуха: CAMS через Open-Meteo",
    },
    kk: {
      region: "Валюта бағамдары және ауа райы",
      open_meteo: "Ауа райы деректері: Open-Meteo.com",
      met_no: "Ауа райы деректері: MET Norway",
      rates: "Бағамдар: ",
      nbk: "ҚРҰБ",
      cbr: "Ресей Банкі",
      stale: "ескірген",
      updated: "соңғы жаңарту ",
      none: "әзірге дерек жоқ",
      tomorrow: "ертең",
      days: " күн",
      up: "өсу ",
      down: "төмендеу ",
      flat: "өзгеріссіз",
      sky: "ашық|ауыспалы бұлтты|бұлыңғыр|тұман|сіркіреме жаңбыр|жаңбыр|қар|нөсер|найзағай",
      air: "Ауа сапасы: CAMS, Open-Meteo арқылы",
    },
  };
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
  function svg(box, paths) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", "svg");
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

  var DARK = "--c:#f0f4f8;--b:#102a43;--u:#7ee2a8;--d:#ff9b9b";
  var CSS =
    ":host{display:block}" +
    ".ticker-strip{all:initial;visibility:inherit;border-radius:inherit;direction:ltr;unicode-bidi:isolate;display:grid;" +
    "grid-template-columns:minmax(0,1fr) auto;align-items:center;column-gap:var(--ticker-gap,1.25em);" +
    "container-type:inline-size;position:relative;box-sizing:border-box;padding:4px 12px;" +
    "font:var(--ticker-font,14px/22px system-ui,sans-serif);font-variant-numeric:tabular-nums;" +
    "--c:#1d1d1f;--b:#fff;--u:#1a7f37;--d:#c62828;--bg:var(--ticker-background,var(--ticker-bg,var(--b)));" +
    "color:var(--ticker-color,var(--c));background:var(--bg)}" +
    ".ticker-theme-dark{" + DARK + "}" +
    "@media (prefers-color-scheme:dark){.ticker-theme-auto{" + DARK + "}}" +
    ".ticker-items{display:flex;align-items:center;gap:var(--ticker-gap,1.25em);height:1.6em;height:1lh;" +
    "overflow:auto hidden;scrollbar-width:none;white-space:nowrap}" +
    ".ticker-item,.ticker-skeleton{flex:none}" +
    ".ticker-skeleton{height:.7em;border-radius:.35em;background:currentColor;opacity:.12}" +
    ".ticker-up{color:var(--ticker-up,var(--ticker-up-color,var(--u)))}" +
    ".ticker-down{color:var(--ticker-down,var(--ticker-down-color,var(--d)))}" +
    ".ticker-stale{opacity:var(--ticker-stale-opacity,.5)}" +
    ".ticker-next{font-size:.85em;opacity:.8}" +
    ".ticker-condition svg{width:1.15em;height:1.15em;vertical-align:-.25em;margin-right:.2em;fill:none;" +
    "stroke:currentColor;stroke-width:1.7;stroke-linecap:round;stroke-linejoin:round}" +
    ".ticker-condition path+path{fill:var(--bg)}" +
    ".ticker-credit{font-size:.75em;line-height:1.5;line-height:round(up,1.5em,1px);opacity:.8;white-space:nowrap;overflow:hidden;" +
    "text-overflow:ellipsis}" +
    ".ticker-credit a{color:inherit}" +
    "@container (max-width:60em){.ticker-items,.ticker-credit{grid-column:1/-1}}" +
    ".ticker-history{position:absolute;top:100%;left:0;z-index:1;padding:4px 8px;border-radius:4px;background:var(--bg);" +
    "box-shadow:0 1px 4px #0006;font-size:.75em;line-height:1.5;white-space:nowrap}" +
    ".ticker-history svg{display:block;width:12em;height:3em;fill:none;stroke:currentColor;stroke-width:1.5}" +
    ".ticker-history path{vector-effect:non-scaling-stroke}" +
    ".ticker-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}";
  var sheet;
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
    var d = Math.abs(r) < 1 ? 4 : 2, f = Math.pow(10, d);
    return ((r < 0 ? -1 : 1) * Math.round(Math.abs(r) * f + 1e-7) / f).toFixed(d);
  }
  function formatWhen(iso) {
    return iso ? String(iso).replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC") : "?";
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) set(node, "class", className, "part", className.replace(/ticker-/g, ""));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function set(node) {
    for (var i = 1; i < arguments.length; i += 2) node.setAttribute(arguments[i], arguments[i + 1]);
    return node;
  }

  function build(widget, item, weather, now) {
    var words = widget.words;
    var value = weather ? item.temperature : item.rate;
    var stale = item.stale || Date.parse(item.stale_at) <= now;
    var next = item.next && typeof item.next.rate === "number" && isFinite(item.next.rate) ? item.next : null;
    var nextText = next ? ((stale && next.date) || words.tomorrow) + ": " + formatRate(next.rate) : "";
    var staleText = stale
      ? words.stale + ": " + (value === null ? words.none : words.updated + formatWhen(weather ? item.observed_at : item.date))
      : "";
    var node = el(
      "span",
      "ticker-item ticker-" + (weather ? "weather" : "rate") + (stale ? " ticker-stale" : ""),
      weather ? item.name + ": " : item.currency + " " + formatRate(value)
    );
    var say = [];
    var sky = weather && widget.condition ? CONDITIONS.indexOf(item.condition) : -1;
    if (sky >= 0) {
      var word = words.sky.split("|")[sky];
      var label = set(el("span", "ticker-condition ticker-condition-" + item.condition), "role", "img", "aria-label", word);
      label.title = word;
      label.appendChild(icon(item.condition));
      node.appendChild(label);
      say.push(word);
    }
    if (weather) node.append(formatTemperature(value, item.unit));
    say.unshift(node.textContent);
    if (!weather && value !== null) say.push(trend(node, item, words, item.change));
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
    if (title) node.title = title;
    if (staleText) node.appendChild(el("span", "ticker-sr", ", " + staleText));
    if (widget.history && !weather && value !== null) set(node, "tabindex", 0, "aria-describedby", "ticker-history");
    set(node, "data-key", weather ? "weather:" + item.city : "rate:" + item.currency);
    node.say = say.filter(Boolean).join(", ");
    set(node, "data-sig", node.className + "|" + node.title + "|" + node.textContent + "|" + node.say);
    return node;
  }
  var AQI = {
    us: "good moderate unhealthy_for_sensitive unhealthy very_unhealthy hazardous",
    european: "good fair moderate poor very_poor extremely_poor",
  };
  function airItem(widget, item, now) {
    var stale = item.stale || Date.parse(item.stale_at) <= now;
    var node = el("span", "ticker-item ticker-air" + (stale ? " ticker-stale" : ""));
    var dot = set(el("span", "ticker-aqi-dot", "\u25cf "), "aria-hidden", "true");
    dot.style.color = "#0a0 #dd0 #f80 #e00 #90c #702".split(" ")[AQI[item.index].split(" ").indexOf(item.category)];
    node.append(dot, (item.index === "us" ? "AQI " : "EAQI ") + (item.aqi == null ? "\u2013" : roundHalfAway(item.aqi)));
    if (item.label) node.append(" ", el("span", "ticker-aqi-" + item.category, item.label));
    set(node, "data-key", "air:" + item.city);
    node.say = node.textContent.slice(2) + (stale ? ", " + widget.words.stale : "");
    set(node, "data-sig", node.className + "|" + node.say);
    return node;
  }
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
    return (words[item.trend] + (typeof item.change === "number" ? Math.abs(item.change) : "")).trim();
  }
  function chart(widget, node) {
    var panel = widget.chart;
    var code = node ? node.getAttribute("data-key").slice(5) : "";
    widget.charted = code;
    panel.hidden = !code;
    if (!code) return;
    var x = node.getBoundingClientRect().left - widget.strip.getBoundingClientRect().left;
    panel.style.transform = "translateX(" + x + "px)";
    var now = Date.now() + 18e6;
    var from = day(now - widget.history * 864e5);
    var key = code + from;
    var got = widget.histories[key];
    if (Array.isArray(got)) return draw(widget, code, from, got);
    panel.textContent = code + " …";
    if (got) return;
    var url = BASE + "v1/rates/history?currency=" + encodeURIComponent(code) + "&from=" + from + "&to=" + day(now);
    widget.histories[key] = fetch(url, { credentials: "omit" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (body) { return body.rates; })
      .catch(function (err) {
        console.warn("ticker: " + url + ": " + err.message);
        return [];
      })
      .then(function (rates) {
        widget.histories[key] = rates;
        if (widget.charted === code) draw(widget, code, from, rates);
      });
  }

  function day(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function draw(widget, code, from, rates) {
    var values = rates.map(function (r) { return r.rate; });
    var min = Math.min.apply(Math, values);
    var range = Math.max.apply(Math, values) - min || 1;
    var start = Date.parse(from);
    var d = rates.map(function (r, i) {
      var x = ((Date.parse(r.date) - start) / (widget.history * 864e5)) * 100;
      return (i ? "L" : "M") + x.toFixed(1) + " " + (22 - ((r.rate - min) / range) * 20).toFixed(1);
    });
    var panel = widget.chart;
    panel.textContent = "";
    if (values.length) panel.appendChild(svg("0 0 100 24", [d.join("")]));
    panel.append(code + ", " + widget.history + widget.words.days + ": " +
      (values.length ? formatRate(values[0]) + " → " + formatRate(values[values.length - 1]) : widget.words.none));
  }

  function render(widget, data, now) {
    var air = {};
    (data.air || []).forEach(function (a) { air[a.city] = airItem(widget, a, now); });
    var wanted = [];
    data.weather.forEach(function (w) { wanted.push(build(widget, w, true, now)); air[w.city] && wanted.push(air[w.city]); });
    wanted = wanted.concat(data.rates.map(function (r) { return build(widget, r, false, now); }));
    var items = widget.items;
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
      if (sameKeys && have[i].getAttribute("data-sig") !== n.getAttribute("data-sig")) items.replaceChild(n, have[i]);
      if (said && said[key] && said[key] !== n.say) news.push(n.say);
      widget.said[key] = n.say;
    });
    if (news.length) widget.live.textContent = news.join("; ");
    widget.strip.removeAttribute("aria-busy");
    renderCredit(widget, data);
  }

  function refresh(widget) {
    var now = Date.now();
    var data = widget.data;
    render(widget, data, now);
    clearTimeout(widget.staleTimer);
    var due = data.weather.concat(data.rates, data.air || []).reduce(function (soonest, item) {
      var at = Date.parse(item.stale_at);
      return at > now && at < soonest ? at : soonest;
    }, Infinity);
    if (due !== Infinity) widget.staleTimer = setTimeout(refresh, Math.min(due - now, MAX_TIMER_MS), widget);
  }

  function renderCredit(widget, data) {
    var words = widget.words;
    var weather = { open_meteo: true };
    var rates = {};
    data.weather.forEach(function (w) { if (LINKS[w.source]) weather[w.source] = true; });
    data.rates.forEach(function (r) { if (r.source === "nbk" || r.source === "cbr") rates[r.source] = true; });
    var rateNames = Object.keys(rates).map(function (s) { return words[s]; });
    if (data.air && data.air.length) weather.air = true;
    var sig = Object.keys(weather).join() + "/" + rateNames.join();
    if (widget.credit.getAttribute("data-sig") === sig) return;
    widget.credit.textContent = "";
    widget.credit.setAttribute("data-sig", sig);
    Object.keys(weather).forEach(function (s) {
      var a = el("a", "", words[s]);
      a.href = LINKS[s] || LINKS.open_meteo;
      a.target = "_blank";
      a.rel = "noopener";
      widget.credit.appendChild(a);
      widget.credit.appendChild(document.createTextNode(" · "));
    });
    widget.credit.appendChild(document.createTextNode(words.rates + (rateNames.join(", ") || words.nbk)));
  }

  function accept(widget, raw) {
    if (raw === widget.raw) return;
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
    if (widget.timer) return;
    var url = BASE + "v1/ticker" + widget.query;
    function tick() {
      if (document.hidden && widget.raw) return;
      var headers = widget.etag ? { "If-None-Match": widget.etag } : {};
      fetch(url, { cache: "no-cache", headers: headers, credentials: "omit" })
        .then(function (res) {
          if (res.status === 304) return null;
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
    var source = (widget.source = new EventSource(BASE + "v1/stream" + widget.query));
    source.addEventListener("open", function () {
      opened = true;
      errors = 0;
      widget.streamFailures = 0;
      stopPolling(widget);
    });
    source.addEventListener("ticker", function (e) { accept(widget, e.data); });
    source.addEventListener("error", function () {
      errors += 1;
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
  function stop(widget) {
    widget.off = 1;
    widget.source && widget.source.close();
    stopPolling(widget);
    clearTimeout(widget.streamRetry);
    clearTimeout(widget.staleTimer);
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
      query: params.length ? "?" + params.join("&") : "",
      words: WORDS[lang],
      strip: el("div", "ticker-strip ticker-theme-" + (/^(dark|auto)$/.test(theme) ? theme : "light")),
      items: el("div", "ticker-items"),
      credit: el("small", "ticker-credit"),
      live: el("span", "ticker-sr"),
      inlineNext: flag(host, "next"),
      condition: flag(host, "condition"),
      history: flag(host, "history") ? Math.min(365, Math.max(1, parseInt(option(host, "history"), 10) || 30)) : 0,
      chart: el("div", "ticker-history"),
      histories: {},
    };
    var strip = set(widget.strip, "role", "region", "aria-label", widget.words.region, "aria-busy", "true", "lang", lang);
    set(widget.live, "role", "status", "aria-live", "polite");
    (cities.length || currencies.length ? cities : ["astana", "almaty"]).forEach(function (c) {
      skeleton(widget, c.length + (widget.condition ? 9 : 7));
    });
    (cities.length || currencies.length ? currencies : ["USD", "EUR", "RUB", "CNY"]).forEach(function () {
      skeleton(widget, widget.inlineNext ? 27 : 12);
    });
    try {
      var adopted = sheet || new CSSStyleSheet();
      if (!sheet) adopted.replaceSync(CSS);
      root.adoptedStyleSheets = [(sheet = adopted)];
    } catch (e) {
      root.appendChild(el("style", "", CSS));
    }
    strip.appendChild(widget.items);
    strip.appendChild(widget.credit);
    strip.appendChild(widget.live);
    if (widget.history) {
      widget.chart.id = "ticker-history";
      widget.chart.hidden = true;
      strip.appendChild(widget.chart);
      "mouseover focusin mouseleave focusout".split(" ").forEach(function (type, i) {
        widget.items.addEventListener(type, function (e) { chart(widget, i < 2 && e.target.closest(".ticker-rate[tabindex]")); });
      });
    }
    root.appendChild(strip);
    renderCredit(widget, { weather: [], rates: [] });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && widget.data && !widget.off) refresh(widget);
    });
    stream(widget);
    return widget;
  }

  function skeleton(widget, width) {
    var bar = set(el("span", "ticker-skeleton"), "aria-hidden", "true");
    bar.style.width = width + "ch";
    widget.items.appendChild(bar);
  }

  function init() {
    var nodes = document.querySelectorAll("[data-ticker],ticker-strip");
    for (var i = 0; i < nodes.length; i++) if (!nodes[i].shadowRoot) mount(nodes[i]);
  }

  if (window.customElements && !customElements.get("ticker-strip")) {
    customElements.define("ticker-strip", class extends HTMLElement {
      connectedCallback() {
        var w = this.w;
        if (!this.shadowRoot) this.w = mount(this);
        else if (w && w.off) {
          w.off = 0;
          stream(w);
          w.data && refresh(w);
        }
      }
      disconnectedCallback() {
        this.w && stop(this.w);
      }
    });
  }

  window.TickerWidget = {
    init: init,
    roundHalfAway: roundHalfAway,
    formatTemperature: formatTemperature,
    formatRate: formatRate,
    base: BASE,
  };
  if (document.readyState === "loading") {
    var parsing = new MutationObserver(init);
    parsing.observe(document, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", function () {
      parsing.disconnect();
      init();
    });
  } else init();
})();
