// Copies the dist files of the front-end libraries pygeoapi's HTML pages use, and sdgcube's own
// stylesheet, into sdgcube/web/dist/pages/ — the server serves that folder at /static/pages, so the
// pages never reach a CDN. Run with `npm ci --no-audit --no-fund && npm run build`.
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "sdgcube", "web", "dist", "pages");

// [package, file or folder inside it, destination under vendor/]
const files = [
  ["bootstrap", "dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"],
  ["bootstrap", "dist/css/bootstrap.min.css.map", "bootstrap/bootstrap.min.css.map"],
  ["html5shiv", "dist/html5shiv.min.js", "html5shiv/html5shiv.min.js"],
  ["leaflet", "dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet", "dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet", "dist/images", "leaflet/images"],
  ["leaflet.markercluster", "dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"],
  ["leaflet.markercluster", "dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"],
  ["leaflet.markercluster", "dist/MarkerCluster.Default.css", "leaflet.markercluster/MarkerCluster.Default.css"],
  ["leaflet-draw", "dist/leaflet.draw.js", "leaflet-draw/leaflet.draw.js"],
  ["leaflet-draw", "dist/leaflet.draw.css", "leaflet-draw/leaflet.draw.css"],
  ["leaflet-draw", "dist/images", "leaflet-draw/images"],
  ["leaflet-coverage", "leaflet-coverage.min.js", "leaflet-coverage/leaflet-coverage.min.js"],
  ["leaflet-coverage", "leaflet-coverage.css", "leaflet-coverage/leaflet-coverage.css"],
  ["covutils", "covutils.min.js", "covutils/covutils.min.js"],
  ["covjson-reader", "covjson-reader.src.js", "covjson-reader/covjson-reader.src.js"],
  ["d3", "dist/d3.js", "d3/d3.js"],
  ["c3", "c3.js", "c3/c3.js"],
  ["c3", "c3.css", "c3/c3.css"],
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui-standalone-preset.js", "swagger-ui/swagger-ui-standalone-preset.js"],
  ["swagger-ui-dist", "favicon-32x32.png", "swagger-ui/favicon-32x32.png"],
  ["swagger-ui-dist", "favicon-16x16.png", "swagger-ui/favicon-16x16.png"],
];

rmSync(out, { recursive: true, force: true });
for (const [pkg, from, to] of files) {
  const source = join(here, "node_modules", pkg, from);
  if (!existsSync(source)) throw new Error(`${pkg} has no ${from}: run npm ci first`);
  const target = join(out, "vendor", to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true });
}
cpSync(join(here, "src"), out, { recursive: true });
console.log(`pygeoapi page assets copied to ${out}`);
