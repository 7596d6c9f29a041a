// Spikard: starts Swagger UI on the document named by the page's data-url
// attribute. Kept out of the HTML page so that no inline script is needed.
window.addEventListener("load", function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    // Never send the document to validator.swagger.io.
    validatorUrl: null
  });
});
