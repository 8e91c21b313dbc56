// Starts Swagger UI on the API's own OpenAPI document. A file of its own, not an inline script, so that the
// docs run under the same Content-Security-Policy as the dashboard: scripts from this origin only.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: false, // the key stays in the page, never in storage
  validatorUrl: null, // no call to swagger.io's online validator
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
