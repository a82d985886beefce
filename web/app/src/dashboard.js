// SDG dashboard: an indicator process run for admin units; its per-unit values as a table, a bar
// chart and a choropleth (the job's `_units` feature collection), with the method's parameters.
import { getJson, send } from "./api.js";
import { el } from "./layers.js";
import { follow, progressBar } from "./processes.js";

const SVG = "http://www.w3.org/2000/svg";
const RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

function bars(rows, column) {
  const width = 300;
  const height = 22 * rows.length + 10;
  const values = rows.map((r) => Number(r[column]) || 0);
  const high = Math.max(...values.map(Math.abs), 1e-9);
  const chart = document.createElementNS(SVG, "svg");
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.setAttribute("class", "bars");
  rows.forEach((row, i) => {
    const bar = document.createElementNS(SVG, "rect");
    Object.entries({ x: 90, y: 5 + i * 22, height: 16, width: (Math.abs(values[i]) / high) * 150, class: "bar" }).forEach(([k, v]) => bar.setAttribute(k, v));
    const label = document.createElementNS(SVG, "text");
    Object.entries({ x: 0, y: 17 + i * 22, class: "tick" }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = `${row.unit_name || row.unit_id}`;
    const value = document.createElementNS(SVG, "text");
    Object.entries({ x: 94 + (Math.abs(values[i]) / high) * 150, y: 17 + i * 22, class: "tick" }).forEach(([k, v]) => value.setAttribute(k, v));
    value.textContent = String(+values[i].toPrecision(4));
    chart.append(bar, label, value);
  });
  return chart;
}

function choropleth(app, collection, rows, column) {
  const values = rows.map((r) => Number(r[column])).filter(Number.isFinite);
  const low = Math.min(...values);
  const high = Math.max(...values) === low ? low + 1 : Math.max(...values);
  const stops = RAMP.flatMap((colour, i) => [low + ((high - low) * i) / (RAMP.length - 1), colour]);
  const id = "dashboard";
  if (app.map.getLayer(id)) app.map.removeLayer(id);
  if (app.map.getLayer(`${id}-line`)) app.map.removeLayer(`${id}-line`);
  if (app.map.getSource(id)) app.map.removeSource(id);
  app.map.addSource(id, { type: "geojson", data: `${collectionItems(collection)}` });
  app.map.addLayer({ id, type: "fill", source: id, paint: { "fill-opacity": 0.75, "fill-color": ["interpolate", ["linear"], ["to-number", ["get", column], low], ...stops] } });
  app.map.addLayer({ id: `${id}-line`, type: "line", source: id, paint: { "line-color": "#333", "line-width": 1 } });
  return el("div", { class: "ramp-legend" },
    el("div", { class: "ramp", style: `background:linear-gradient(to right,${RAMP.join(",")})` }),
    el("div", { class: "ramp-ends" }, el("span", {}, String(+low.toPrecision(4))), el("span", {}, String(+high.toPrecision(4)))));
}

function collectionItems(collection) {
  return new URL(`../collections/${encodeURIComponent(collection)}/items?f=json&limit=1000`, window.location.href).href;
}

/** Show a finished indicator job: its per-unit table, bars and choropleth, one column at a time. */
export function showIndicator(app, results, parameters) {
  const box = document.getElementById("indicator-result");
  const summary = results.summary || {};
  const rows = summary.rows || [];
  const numeric = Object.keys(rows[0] || {}).filter((k) => rows.every((r) => typeof r[k] === "number") && !/year$/.test(k));
  const column = el("select", { id: "indicator-column" }, ...numeric.map((c) => el("option", { value: c }, c)));
  const view = el("div", {});
  const draw = () => {
    const legend = choropleth(app, summary.features_collection, rows, column.value);
    view.replaceChildren(bars(rows, column.value), legend);
  };
  column.addEventListener("change", draw);
  const table = el("table", { class: "series-table", id: "indicator-table" },
    el("tr", {}, el("th", {}, "unit"), ...numeric.map((c) => el("th", {}, c))),
    ...rows.map((r) => el("tr", { "data-unit": r.unit_id }, el("td", {}, r.unit_name || r.unit_id), ...numeric.map((c) => el("td", { class: "value" }, String(r[c]))))));
  const params = el("dl", { class: "params" }, ...Object.entries(parameters || {}).filter(([, v]) => v !== null).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]));
  const downloads = [summary.csv && el("a", { href: summary.csv }, "CSV"), summary.sdmx_csv && el("a", { href: summary.sdmx_csv }, "SDMX-CSV")].filter(Boolean);
  box.replaceChildren(el("h3", {}, `SDG ${results.indicator || ""}`), el("label", {}, "Value ", column), view, table, el("h4", {}, "Method parameters"), params, el("p", {}, ...downloads.flatMap((a) => [a, " "])));
  if (numeric.length) draw();
}

export async function setupDashboard(app, tools) {
  const select = document.getElementById("indicator");
  const about = document.getElementById("indicator-about");
  const units = document.getElementById("units");
  const processes = ((await getJson("/processes")).processes || []).filter((p) => p.id.startsWith("sdg-"));
  select.replaceChildren(...processes.map((p) => el("option", { value: p.id }, p.title || p.id)));
  const describe = async () => {
    const description = await getJson(`/processes/${encodeURIComponent(select.value)}`);
    const defaults = Object.entries(description.inputs || {}).filter(([, i]) => i.schema?.default != null);
    about.replaceChildren(el("p", {}, description.description || ""), el("dl", { class: "params" }, ...defaults.flatMap(([k, i]) => [el("dt", {}, i.title || k), el("dd", {}, JSON.stringify(i.schema.default))])));
  };
  select.addEventListener("change", describe);
  if (processes.length) await describe();
  try {
    const features = (await getJson("/collections/admin_units/items", { limit: 1000 })).features || [];
    units.replaceChildren(...features.map((f) => el("option", { value: f.id }, f.properties?.name || f.properties?.unit_name || String(f.id))));
  } catch {
    units.replaceChildren();
  }
  document.getElementById("indicator-run").addEventListener("click", async () => {
    const status = document.getElementById("indicator-status");
    const chosen = [...units.selectedOptions].map((o) => o.value);
    const inputs = chosen.length ? { unit_ids: chosen } : {};
    try {
      const response = await send("POST", `/processes/${encodeURIComponent(select.value)}/execution`, { inputs }, { Prefer: "respond-async" });
      const job = await response.json();
      const view = progressBar(job.jobID);
      status.replaceChildren(view.node);
      await follow(job.jobID, view, tools, async (results) => {
        const record = await getJson(`/jobs/${job.jobID}`);
        showIndicator(app, results, record.parameters);
        view.text.textContent = "successful";
      });
    } catch (error) {
      status.replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
}
