// The sdgcube web app: a map of the cube's collections with time, compare, charts and processes.
import * as maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
// MapLibre finds its worker next to its own module, which the bundle moves: hand it the built one.
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import "./style.css";
import { BASE, BASE_QUERY, el, featuresUrl, legendNode, loadCatalog, loadLegend, loadTimes, tileTemplate } from "./layers.js";
import { decode, encode } from "./state.js";
import { getJson } from "./api.js";
import { Compare } from "./compare.js";
import { showSeries } from "./chart.js";
import { account, setupProcesses } from "./processes.js";
import { AreaDrawing } from "./draw.js";
import { setupDashboard } from "./dashboard.js";

maplibregl.setWorkerUrl(workerUrl);

const app = {
  catalog: [],
  active: [], // [{id, time, opacity}] bottom to top
  panel: "layers",
  point: null,
  area: null,
};
window.sdgcubeApp = app; // tests and the console read the state from here

function emptyStyle() {
  return { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#e8eef2" } }] };
}

function newMap(container) {
  return new maplibregl.Map({
    container,
    style: emptyStyle(),
    center: [0, 0],
    zoom: 1,
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
}

function addBase(map) {
  map.addSource("base", { type: "raster", tiles: [tileTemplate(BASE, null, BASE_QUERY)], tileSize: 256 });
  map.addLayer({ id: "base", type: "raster", source: "base" });
}

const entry = (id) => app.catalog.find((c) => c.id === id);

/** New layers go below a drawn area, which stays on top. */
const under = (map) => (map.getLayer("draw-fill") ? "draw-fill" : undefined);

/** Put an active layer on a map (raster tiles at its time, or the features as outlines). */
export function addLayer(map, layer) {
  const found = entry(layer.id);
  const id = `c:${layer.id}`;
  if (!found || map.getLayer(id)) return;
  if (found.kind === "vector") {
    map.addSource(id, { type: "geojson", data: featuresUrl(layer.id) });
    map.addLayer({ id, type: "line", source: id, paint: { "line-color": "#222", "line-width": 1.5, "line-opacity": layer.opacity } }, under(map));
  } else {
    map.addSource(id, { type: "raster", tiles: [tileTemplate(layer.id, layer.time)], tileSize: 256 });
    map.addLayer({ id, type: "raster", source: id, paint: { "raster-opacity": layer.opacity } }, under(map));
  }
}

function removeLayer(map, layerId) {
  const id = `c:${layerId}`;
  if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(id)) map.removeSource(id);
}

function setTime(layer, time) {
  layer.time = time;
  const source = app.map.getSource(`c:${layer.id}`);
  if (source?.setTiles) source.setTiles([tileTemplate(layer.id, time)]);
  saveState();
}

function setOpacity(layer, opacity) {
  layer.opacity = opacity;
  const id = `c:${layer.id}`;
  if (app.map.getLayer(id)) {
    const prop = entry(layer.id).kind === "vector" ? "line-opacity" : "raster-opacity";
    app.map.setPaintProperty(id, prop, opacity);
  }
  saveState();
}

export async function enable(id, { time = null, opacity = 1 } = {}) {
  if (app.active.some((l) => l.id === id) || !entry(id)) return;
  const layer = { id, time, opacity };
  app.active.push(layer);
  addLayer(app.map, layer);
  renderList();
  saveState();
}

function disable(id) {
  app.active = app.active.filter((l) => l.id !== id);
  removeLayer(app.map, id);
  renderList();
  saveState();
}

function timeControl(layer, times) {
  const label = el("span", { class: "time-label", "data-testid": `time-${layer.id}` }, layer.time || `${times.at(-1)} (latest)`);
  const slider = el("input", { type: "range", min: 0, max: times.length - 1, step: 1, class: "time-slider", "data-layer": layer.id });
  slider.value = layer.time ? Math.max(0, times.indexOf(layer.time)) : times.length - 1;
  slider.addEventListener("input", () => {
    const time = times[Number(slider.value)];
    label.textContent = time;
    setTime(layer, time);
  });
  return el("div", { class: "time" }, slider, label);
}

async function layerItem(c) {
  const layer = app.active.find((l) => l.id === c.id);
  const box = el("input", { type: "checkbox", checked: !!layer, "data-layer": c.id });
  box.addEventListener("change", () => (box.checked ? enable(c.id) : disable(c.id)));
  const item = el("li", { class: "layer", "data-layer": c.id }, el("label", { title: c.description }, box, ` ${c.title}`));
  if (!layer) return item;
  const opacity = el("input", { type: "range", min: 0, max: 1, step: 0.05, class: "opacity", "data-layer": c.id });
  opacity.value = layer.opacity;
  opacity.addEventListener("input", () => setOpacity(layer, Number(opacity.value)));
  item.append(el("div", { class: "opacity-row" }, "opacity ", opacity));
  if (c.kind === "raster") {
    const [times, legend] = await Promise.all([loadTimes(c), loadLegend(c)]);
    if (times.length > 1) item.append(timeControl(layer, times));
    item.append(legendNode(legend));
  }
  return item;
}

let listing = 0;
export async function renderList() {
  const token = ++listing;
  const words = document.getElementById("search").value.trim().toLowerCase();
  const shown = app.catalog.filter((c) => !words || `${c.id} ${c.title} ${c.description}`.toLowerCase().includes(words));
  const items = await Promise.all(shown.map(layerItem));
  if (token !== listing) return; // a later rendering has started
  document.getElementById("layer-list").replaceChildren(...items);
  app.compare?.refreshChoices();
}

function showPanel(name) {
  app.panel = name;
  for (const section of document.querySelectorAll(".panel")) section.hidden = section.id !== `panel-${name}`;
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("on", button.dataset.panel === name);
  saveState();
}

let restoring = true;
export function saveState() {
  if (restoring || !app.map) return;
  const state = { center: app.map.getCenter().toArray(), zoom: app.map.getZoom(), layers: app.active, panel: app.panel, point: app.point, area: app.area, compare: app.compare?.state() };
  history.replaceState(null, "", encode(state));
}

function fitCatalog() {
  const base = entry(BASE) || app.catalog.find((c) => c.bbox);
  if (base?.bbox) app.map.fitBounds([[base.bbox[0], base.bbox[1]], [base.bbox[2], base.bbox[3]]], { padding: 20, duration: 0 });
}

async function start() {
  // first, and apart: with accounts on, the catalog may need a sign-in before it answers
  account().catch((error) => console.error(error));
  app.map = newMap("map");
  const loaded = app.map.once("load"); // before the catalog arrives, or it may be missed
  app.catalog = await loadCatalog();
  await loaded;
  if (entry(BASE)) addBase(app.map);
  const state = decode(window.location.hash);
  if (state.center) app.map.jumpTo({ center: state.center, zoom: state.zoom });
  else fitCatalog();
  for (const layer of state.layers || []) await enable(layer.id, layer);
  app.compare = new Compare(app, { newMap, addBase, addLayer, entry, saveState });
  document.getElementById("search").addEventListener("input", renderList);
  for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => showPanel(button.dataset.panel));
  app.map.on("moveend", saveState);
  app.drawing = new AreaDrawing(app.map, (ring) => {
    Object.assign(app, { area: ring, point: null });
    showSeries(app, ring).then(saveState);
  });
  app.map.on("click", (event) => {
    const where = [event.lngLat.lng, event.lngLat.lat];
    if (app.drawing.active) return app.drawing.add(where);
    Object.assign(app, { point: where, area: null });
    showPanel("chart");
    showSeries(app, where).then(saveState);
  });
  await setupProcesses(app, { enable, reloadCatalog });
  await setupDashboard(app, { enable, reloadCatalog }).catch((error) => console.error(error));
  await renderList();
  if (state.compare) await app.compare.open(state.compare);
  restoring = false;
  showPanel(state.panel || "layers");
  if (state.point || state.area) {
    Object.assign(app, { point: state.point || null, area: state.area || null });
    if (app.area) app.drawing.show(app.area);
    await showSeries(app, app.area || app.point);
  }
  document.body.dataset.ready = "true";
}

/** The catalog afresh; ``expected`` collections (a job's results) are asked for by name first:
 * the server publishes a new result on that request, where its list would show it only at its
 * next refresh. */
async function reloadCatalog(expected = []) {
  await Promise.all(expected.map((id) => getJson(`/collections/${encodeURIComponent(id)}`).catch(() => null)));
  const fresh = await loadCatalog();
  for (const c of fresh) {
    const known = entry(c.id);
    if (known) Object.assign(c, { times: known.times, legend: known.legend });
  }
  app.catalog = fresh;
  await renderList();
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  document.getElementById("layer-list").replaceChildren(el("li", { class: "error" }, String(error.message || error)));
});
