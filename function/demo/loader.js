/* nearjs demo loader: the shared script every account gets; its config replaces the placeholder. */
(function (config) {
    "use strict";
    var w = window, d = document;
    w.nearjs = w.nearjs || {};
    w.nearjs[config.account] = config;
    function ready(fn) {
        if (d.readyState !== "loading") fn();
        else d.addEventListener("DOMContentLoaded", fn);
    }
    ready(function () {
        if (!config.banner) return;
        var el = d.createElement("div");
        el.className = "nearjs-banner";
        el.textContent = config.banner.text;
        el.style.background = config.banner.color || "#333";
        el.style.color = "#fff";
        el.style.padding = "8px";
        d.body.insertBefore(el, d.body.firstChild);
    });
})(__NEARJS_CONFIG__);
