// mailflip portal: the order page follows its order live (server-sent events); no
// inline script anywhere (the CSP forbids it).
"use strict";
// Copy buttons (DNS records): delegated, so buttons in live-replaced parts work too.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    button.textContent = "Copied";
  });
});
// Forms that cannot be undone ask first (data-confirm).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("DOMContentLoaded", () => {
  const live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  const source = new EventSource(live.dataset.live);
  source.addEventListener("order", (event) => {
    live.innerHTML = event.data;  // rendered by the server, escaped by Jinja2
    live.dataset.updated = String(Date.now());
  });
  source.addEventListener("ended", () => { source.close(); window.location.assign("/login"); });
});

// The throughput chart (uPlot, served from /static/vendor): messages and MB copied per
// minute, from the order's passes; redrawn every 10 s while the page is open.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-chart]");
  if (!box || !window.uPlot) return;
  let plot = null;
  const draw = () => fetch(box.dataset.chart, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : []))
    .then((rows) => {
      if (!rows.length) return;
      const data = [rows.map((r) => Date.parse(r.at) / 1000),
        rows.map((r) => r.messages_per_min), rows.map((r) => r.mb_per_min)];
      const width = Math.max(300, box.clientWidth - 20);
      if (plot) { plot.setData(data); return; }
      box.textContent = "";
      plot = new window.uPlot({
        width, height: 220,
        series: [{}, { label: "messages/min", stroke: "#0b5cad" },
          { label: "MB/min", stroke: "#1a7f37", scale: "mb" }],
        axes: [{}, { label: "messages/min" }, { side: 1, scale: "mb", label: "MB/min" }],
      }, data, box);
      box.dataset.drawn = String(rows.length);
    });
  draw();
  setInterval(draw, 10000);
});
