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
