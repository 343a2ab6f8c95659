/*
 * frontdesk chat widget loader — served verbatim at GET /widget.js.
 *
 * Runs on the site owner's (third-party) page. It owns:
 *   - finding its own <script data-site="..."> tag and the frontdesk origin;
 *   - the public `window.Frontdesk(command, arg)` API, including replaying
 *     calls queued by the embed snippet before this file loaded;
 *   - the launcher bubble, unread badge, message preview and the panel with
 *     the chat iframe, all inside <div id="frontdesk-widget"> with styles
 *     scoped under #frontdesk-widget;
 *   - the postMessage bridge to the iframe (/widget/frame) and the
 *     `frontdesk:*` CustomEvents dispatched on window for the host page.
 * The conversation itself (transport, rendering, identity) lives in the frame.
 *
 * postMessage contract (objects with a `frontdesk` field naming the kind):
 *   frame -> host: {frontdesk:"ready"} | {frontdesk:"unread", count, preview}
 *                  | {frontdesk:"close"} | {frontdesk:"event", name, detail}
 *   host -> frame: {frontdesk:"open"} | {frontdesk:"closed"} | {frontdesk:"reset"}
 *                  | {frontdesk:"setUser", user:{id, hash, name, email}}
 * Plain ES2017, no dependencies, no build step. Never use innerHTML here.
 */
(function () {
  "use strict";

  // Guard against double inclusion. Mark the stub (or a fresh one) as loaded
  // right away so a second copy bails even while we wait for <body>.
  var stub = window.Frontdesk;
  if (stub && stub.loaded) return;
  if (typeof stub !== "function") {
    stub = function () { (stub.q = stub.q || []).push(arguments); };
    window.Frontdesk = stub;
  }
  stub.loaded = true;

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-site]');
  var site = script && script.getAttribute("data-site");
  if (!script || !site) {
    console.warn("[frontdesk] widget.js needs a data-site attribute on its <script> tag");
    return;
  }
  var ORIGIN = new URL(script.src, location.href).origin;
  var STORAGE_KEY = "frontdesk-open";
  var FRAME_EVENTS = ["message", "chat-started", "chat-ended"];

  var settings = window.frontdeskSettings || {};
  var position = settings.position === "left" ? "left" : "right";
  var color = typeof settings.color === "string" && settings.color ? settings.color : "#2563eb";
  var launcherText = String(settings.launcherText || "Chat with us");
  var locale = String(settings.locale || document.documentElement.lang || navigator.language || "en");
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function isDark() {
    if (settings.darkMode === "auto") return !!(darkQuery && darkQuery.matches);
    return settings.darkMode === true;
  }

  var state = {
    open: false,
    ready: false,         // frame has said "ready" at least once
    unread: 0,
    preview: "",
    dismissed: null,      // preview text the visitor dismissed with ×
    user: null,           // last setUser argument, resent if the frame reloads
    outbox: [],           // host -> frame messages waiting for "ready"
  };
  var el = {};
  var warned = {};

  var CSS = [
    "#frontdesk-widget{all:initial;display:block;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:15px;line-height:1.4;color:#111827}",
    "#frontdesk-widget *{box-sizing:border-box}",
    "#frontdesk-widget [hidden]{display:none!important}",
    "#frontdesk-widget button{font:inherit;margin:0;border:0;cursor:pointer}",
    "#frontdesk-widget .fd-launcher,#frontdesk-widget .fd-preview,#frontdesk-widget .fd-panel{position:fixed;z-index:2147483000}",
    "#frontdesk-widget .fd-launcher{bottom:20px;height:56px;min-width:56px;padding:0 16px;display:flex;align-items:center;justify-content:center;gap:8px;border-radius:9999px;background:var(--fd-color);color:#fff;font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.18)}",
    "#frontdesk-widget .fd-launcher:focus-visible,#frontdesk-widget .fd-preview button:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}",
    "#frontdesk-widget .fd-launcher svg{width:24px;height:24px;flex:none;fill:currentColor}",
    "#frontdesk-widget .fd-launcher .fd-icon-close,#frontdesk-widget .fd-launcher[aria-expanded=true] .fd-icon-chat{display:none}",
    "#frontdesk-widget .fd-launcher[aria-expanded=true] .fd-icon-close{display:block}",
    "#frontdesk-widget .fd-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:9999px;background:#dc2626;color:#fff;font-size:12px;line-height:20px;text-align:center}",
    "#frontdesk-widget .fd-preview{bottom:88px;max-width:300px;display:flex;align-items:flex-start;border-radius:12px;background:#fff;color:#111827;box-shadow:0 4px 20px rgba(0,0,0,.15)}",
    "#frontdesk-widget.fd-dark .fd-preview{background:#1f2937;color:#f9fafb}",
    "#frontdesk-widget .fd-preview button{background:none;color:inherit;text-align:left}",
    "#frontdesk-widget .fd-preview-open{padding:12px 4px 12px 14px;overflow:hidden;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical}",
    "#frontdesk-widget .fd-preview-dismiss{padding:6px 10px;font-size:18px;line-height:1;opacity:.6}",
    "#frontdesk-widget .fd-panel{bottom:88px;width:380px;height:600px;max-height:calc(100vh - 108px);max-height:calc(100dvh - 108px);border-radius:16px;overflow:hidden;background:#fff;box-shadow:0 8px 30px rgba(0,0,0,.2)}",
    "#frontdesk-widget.fd-dark .fd-panel{background:#111827}",
    "#frontdesk-widget .fd-frame{display:block;width:100%;height:100%;border:0}",
    "#frontdesk-widget.fd-right .fd-launcher,#frontdesk-widget.fd-right .fd-preview,#frontdesk-widget.fd-right .fd-panel{right:20px}",
    "#frontdesk-widget.fd-left .fd-launcher,#frontdesk-widget.fd-left .fd-preview,#frontdesk-widget.fd-left .fd-panel{left:20px}",
    "@media (max-width:599px){",
    "#frontdesk-widget .fd-launcher{padding:0}",
    "#frontdesk-widget .fd-label{display:none}",
    "#frontdesk-widget .fd-preview{max-width:calc(100vw - 40px)}",
    "#frontdesk-widget.fd-left .fd-panel,#frontdesk-widget.fd-right .fd-panel{inset:0;width:100vw;height:100vh;height:100dvh;max-height:none;border-radius:0}",
    // The open panel covers the screen and has its own close button: the launcher would sit on
    // top of the panel's Send button.
    "#frontdesk-widget .fd-launcher[aria-expanded=true]{display:none}",
    "}",
  ].join("\n");

  // --- helpers -------------------------------------------------------------

  function emit(name, detail) {
    window.dispatchEvent(new CustomEvent("frontdesk:" + name, { detail: detail || {} }));
  }

  function storeOpen(open) {
    try {
      if (open) sessionStorage.setItem(STORAGE_KEY, "1");
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch (e) { /* storage blocked: state just won't survive reloads */ }
  }

  function storedOpen() {
    try { return sessionStorage.getItem(STORAGE_KEY) === "1"; } catch (e) { return false; }
  }

  function post(msg) {
    if (!state.ready) { state.outbox.push(msg); return; }
    el.frame.contentWindow.postMessage(msg, ORIGIN);
  }

  function make(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function icon(className, pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", className);
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  // --- rendering -----------------------------------------------------------

  function build() {
    var style = make("style", "", { id: "frontdesk-widget-style" });
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);

    var root = make("div", "fd-" + position);
    root.id = "frontdesk-widget";
    root.style.setProperty("--fd-color", color);

    var preview = make("div", "fd-preview", { "aria-live": "polite" });
    var previewOpen = make("button", "fd-preview-open", { type: "button" });
    var previewDismiss = make("button", "fd-preview-dismiss", { type: "button", "aria-label": "Dismiss" });
    previewDismiss.textContent = "\u00d7";
    preview.appendChild(previewOpen);
    preview.appendChild(previewDismiss);
    preview.hidden = true;

    var panel = make("div", "fd-panel", { role: "dialog", "aria-label": launcherText });
    panel.hidden = true;
    var src = ORIGIN + "/widget/frame?site=" + encodeURIComponent(site) +
      "&origin=" + encodeURIComponent(location.origin) +
      "&locale=" + encodeURIComponent(locale) +
      "&dark=" + (isDark() ? "1" : "0") +
      "&color=" + encodeURIComponent(color);
    var frame = make("iframe", "fd-frame", { title: "Chat", allow: "clipboard-write" });
    frame.src = src;
    panel.appendChild(frame);

    var launcher = make("button", "fd-launcher", { type: "button", "aria-expanded": "false" });
    launcher.appendChild(icon("fd-icon-chat", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"));
    launcher.appendChild(icon("fd-icon-close", "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"));
    var label = make("span", "fd-label");
    label.textContent = launcherText;
    launcher.appendChild(label);
    var badge = make("span", "fd-badge", { "aria-hidden": "true" });
    badge.hidden = true;
    launcher.appendChild(badge);

    root.appendChild(panel);
    root.appendChild(preview);
    root.appendChild(launcher);
    document.body.appendChild(root);

    el = { root: root, launcher: launcher, badge: badge, preview: preview,
      previewText: previewOpen, panel: panel, frame: frame };

    launcher.addEventListener("click", function () { setOpen(!state.open, true); });
    previewOpen.addEventListener("click", function () { setOpen(true, true); });
    previewDismiss.addEventListener("click", function () {
      state.dismissed = state.preview;
      render();
    });
    if (settings.darkMode === "auto" && darkQuery && darkQuery.addEventListener) {
      darkQuery.addEventListener("change", render);
    }
  }

  function render() {
    el.root.classList.toggle("fd-dark", isDark());
    el.panel.hidden = !state.open;
    el.launcher.setAttribute("aria-expanded", state.open ? "true" : "false");
    el.badge.hidden = state.unread === 0;
    el.badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
    el.launcher.setAttribute("aria-label", state.unread
      ? launcherText + " (" + state.unread + " unread)" : launcherText);
    el.previewText.textContent = state.preview;
    el.preview.hidden = state.open || !state.preview || state.preview === state.dismissed;
  }

  function setOpen(open, focus) {
    if (open === state.open) return;
    state.open = open;
    storeOpen(open);
    render();
    post({ frontdesk: open ? "open" : "closed" });
    if (focus) (open ? el.frame : el.launcher).focus();
    emit(open ? "open" : "close");
  }

  // --- frame bridge --------------------------------------------------------

  function onMessage(event) {
    if (event.origin !== ORIGIN || !el.frame || event.source !== el.frame.contentWindow) return;
    var msg = event.data;
    if (!msg || typeof msg !== "object" || typeof msg.frontdesk !== "string") return;
    switch (msg.frontdesk) {
      case "ready": {
        var first = !state.ready;
        var pending = state.outbox.filter(function (m) { return m.frontdesk === "setUser" || m.frontdesk === "reset"; });
        state.ready = true;
        state.outbox = [];
        // A reloaded frame has forgotten who the visitor is: tell it again.
        if (!first && state.user) post({ frontdesk: "setUser", user: state.user });
        pending.forEach(post);
        post({ frontdesk: state.open ? "open" : "closed" });
        if (first) emit("ready");
        break;
      }
      case "unread":
        state.unread = Math.max(0, Math.floor(Number(msg.count) || 0));
        state.preview = typeof msg.preview === "string" ? msg.preview.slice(0, 280) : "";
        render();
        emit("unread", { count: state.unread, preview: state.preview });
        break;
      case "close":
        setOpen(false, true);
        break;
      case "event":
        if (FRAME_EVENTS.indexOf(msg.name) !== -1) emit(msg.name, msg.detail);
        break;
    }
  }

  // --- public API ----------------------------------------------------------

  var commands = {
    open: function () { setOpen(true, false); },
    close: function () { setOpen(false, false); },
    toggle: function () { setOpen(!state.open, false); },
    setUser: function (user) {
      user = user || {};
      state.user = { id: user.id, hash: user.hash, name: user.name, email: user.email };
      post({ frontdesk: "setUser", user: state.user });
    },
    reset: function () {
      state.user = null;
      state.unread = 0;
      state.preview = "";
      state.dismissed = null;
      render();
      post({ frontdesk: "reset" });
    },
    on: function (name, callback) {
      if (typeof name !== "string" || typeof callback !== "function") return undefined;
      var type = name.indexOf("frontdesk:") === 0 ? name : "frontdesk:" + name;
      var listener = function (event) {
        try { callback(event.detail, event); } catch (e) { console.error(e); }
      };
      window.addEventListener(type, listener);
      if (type === "frontdesk:ready" && state.ready) listener(new CustomEvent(type, { detail: {} }));
      return function off() { window.removeEventListener(type, listener); };
    },
  };

  function Frontdesk(command, arg, arg2) {
    var fn = Object.prototype.hasOwnProperty.call(commands, command) && commands[command];
    if (!fn) {
      if (!warned[command]) {
        warned[command] = true;
        console.warn("[frontdesk] unknown command: " + String(command));
      }
      return undefined;
    }
    try {
      return fn(arg, arg2);
    } catch (e) {
      console.warn("[frontdesk] command " + command + " failed", e);
      return undefined;
    }
  }
  Frontdesk.loaded = true;

  function init() {
    build();
    window.addEventListener("message", onMessage);
    if (storedOpen()) { state.open = true; }
    render();
    var queue = stub.q || [];
    window.Frontdesk = Frontdesk;
    for (var i = 0; i < queue.length; i++) {
      Frontdesk.apply(null, Array.prototype.slice.call(queue[i]));
    }
  }

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
