// The API page: Swagger UI (npm swagger-ui-dist, served from /static/vendor).
"use strict";
window.addEventListener("load", () => {
  const el = document.getElementById("swagger-ui");
  if (!el || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({ url: el.dataset.spec, domNode: el, deepLinking: false });
});
