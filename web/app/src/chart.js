// Profile: the EDR time series of the top visible raster layer at a clicked point, drawn as SVG,
// with the numbers in a table and a CSV download.
import { getJson } from "./api.js";
import { el } from "./layers.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** A line chart of one series (times as ISO strings, values as numbers or null). */
export function lineChart(times, values, { width = 300, height = 160, label = "" } = {}) {
  const pad = { l: 44, r: 8, t: 10, b: 24 };
  const numbers = values.filter((v) => v !== null && Number.isFinite(v));
  const low = Math.min(...numbers);
  const high = Math.max(...numbers) === low ? low + 1 : Math.max(...numbers);
  const ts = times.map((t) => Date.parse(t));
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts) === t0 ? t0 + 1 : Math.max(...ts);
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - ((v - low) / (high - low)) * (height - pad.t - pad.b);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "series", role: "img", "aria-label": label });
  chart.append(svg("line", { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, class: "axis" }));
  chart.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, class: "axis" }));
  const points = ts.map((t, i) => [t, values[i]]).filter(([, v]) => v !== null && Number.isFinite(v));
  chart.append(svg("polyline", { points: points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "), class: "line" }));
  for (const [t, v] of points) chart.append(svg("circle", { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, class: "dot" }));
  const text = (x0, y0, s, anchor) => Object.assign(svg("text", { x: x0, y: y0, "text-anchor": anchor, class: "tick" }), { textContent: s });
  chart.append(text(pad.l - 4, y(high) + 4, +high.toPrecision(4), "end"), text(pad.l - 4, y(low), +low.toPrecision(4), "end"));
  chart.append(text(pad.l, height - 6, times[0].slice(0, 10), "start"), text(width - pad.r, height - 6, times.at(-1).slice(0, 10), "end"));
  return chart;
}

function csv(times, names, ranges) {
  const rows = [["time", ...names].join(",")];
  times.forEach((t, i) => rows.push([t, ...names.map((n) => ranges[n].values[i] ?? "")].join(",")));
  return rows.join("\n") + "\n";
}

function topRaster(app) {
  const rasters = app.active.filter((l) => app.catalog.find((c) => c.id === l.id)?.kind === "raster" && l.opacity > 0);
  return rasters.at(-1)?.id || null;
}

/** The series at a point ([lng, lat]) or over an area (a closed ring of [lng, lat]). */
export async function showSeries(app, where) {
  const box = document.getElementById("chart");
  const ring = Array.isArray(where[0]) ? where : null;
  const [lng, lat] = ring ? ring[0] : where;
  const query = ring ? "area" : "position";
  const coords = ring ? `POLYGON((${ring.map(([x, y]) => `${x} ${y}`).join(",")}))` : `POINT(${lng} ${lat})`;
  const place = ring ? `an area of ${ring.length - 1} corners` : `${lng.toFixed(5)}, ${lat.toFixed(5)}`;
  const id = topRaster(app);
  if (!id) {
    box.replaceChildren(el("p", { class: "hint" }, "Turn on a raster layer first."));
    return;
  }
  box.replaceChildren(el("p", { class: "hint" }, `Reading ${id} at ${place}…`));
  let coverage;
  try {
    coverage = await getJson(`/collections/${encodeURIComponent(id)}/${query}`, { coords });
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, `${id}: ${error.message}`));
    return;
  }
  const times = coverage.domain.axes.t?.values || [];
  const names = Object.keys(coverage.ranges);
  const parts = [el("h3", {}, `${id} at ${place}`)];
  for (const name of names) {
    const values = coverage.ranges[name].values;
    const unit = coverage.parameters?.[name]?.unit?.symbol;
    parts.push(el("h4", {}, `${name}${unit ? ` (${typeof unit === "string" ? unit : unit.value})` : ""}`));
    if (times.length) parts.push(lineChart(times, values, { label: name }));
  }
  const rows = times.map((t, i) => el("tr", {}, el("td", {}, t.slice(0, 10)), ...names.map((n) => el("td", { class: "value" }, String(coverage.ranges[n].values[i] ?? "")))));
  parts.push(el("table", { class: "series-table", "data-collection": id, "data-query": query }, el("tr", {}, el("th", {}, "time"), ...names.map((n) => el("th", {}, n))), ...rows));
  const blob = new Blob([csv(times, names, coverage.ranges)], { type: "text/csv" });
  parts.push(el("a", { href: URL.createObjectURL(blob), download: `${id}_${query}_${lng.toFixed(5)}_${lat.toFixed(5)}.csv`, class: "csv" }, "Download CSV"));
  box.replaceChildren(...parts);
}
