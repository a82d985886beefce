// Process forms generated from the OGC process descriptions, async jobs with a live progress bar,
// the jobs panel, and signing in and out when the server has accounts.
import { getJson, send, setCsrf, url } from "./api.js";
import { el } from "./layers.js";

const POLL_MS = 1000;

/** A form field for one input of a process description (its schema's type, default and enum). */
function field(name, input) {
  const schema = input.schema || {};
  const required = (input.minOccurs ?? 0) > 0;
  const id = `in-${name}`;
  let control;
  if (schema.enum) {
    control = el("select", { id, name }, ...(required || schema.default != null ? [] : [el("option", { value: "" }, "(default)")]), ...schema.enum.map((v) => el("option", { value: v, selected: v === schema.default }, String(v))));
  } else if (schema.type === "boolean") {
    control = el("select", { id, name }, el("option", { value: "" }, "(default)"), el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
  } else if (schema.type === "number" || schema.type === "integer") {
    control = el("input", { id, name, type: "number", step: "any", value: schema.default ?? "" });
  } else if (schema.type === "array" || schema.type === "object") {
    control = el("textarea", { id, name, rows: 2, placeholder: "JSON" });
  } else {
    control = el("input", { id, name, type: "text", value: schema.default ?? "", placeholder: schema.examples?.[0] ?? "" });
  }
  control.dataset.kind = schema.enum ? "enum" : schema.type || "string";
  control.required = required;
  const row = el("div", { class: "field" }, el("label", { htmlFor: id, title: input.description || "" }, `${input.title || name}${required ? " *" : ""}`), control);
  if (input.description) row.append(el("small", {}, input.description));
  return row;
}

function inputsOf(form) {
  const inputs = {};
  for (const control of form.querySelectorAll("[name]")) {
    const raw = control.value.trim();
    if (raw === "") continue;
    const kind = control.dataset.kind;
    if (kind === "number" || kind === "integer") inputs[control.name] = Number(raw);
    else if (kind === "boolean") inputs[control.name] = raw === "true";
    else if (kind === "array" || kind === "object") inputs[control.name] = JSON.parse(raw);
    else inputs[control.name] = raw;
  }
  return inputs;
}

export function progressBar(jobId) {
  const bar = el("progress", { max: 100, value: 0, "data-job": jobId });
  const text = el("span", { class: "job-text" }, "accepted");
  return { node: el("div", { class: "job-progress" }, bar, text), bar, text };
}

/** The collections a job's results name: band math has one, indicators one per raster. */
function resultCollections(results) {
  const one = results.collection || results.result?.collection;
  return one ? [one] : Object.values(results.collections || {}).filter((c) => typeof c === "string");
}

/** Follow a job until it ends; a successful job's result collection is put on the map. */
export async function follow(jobId, view, tools, onSuccess = null) {
  for (;;) {
    const status = await getJson(`/jobs/${jobId}`);
    view.bar.value = status.progress ?? 0;
    view.text.textContent = `${status.status}${status.message ? ": " + status.message : ""}`;
    if (["successful", "failed", "dismissed"].includes(status.status)) {
      if (status.status === "successful" && onSuccess) {
        await onSuccess(await getJson(`/jobs/${jobId}/results`));
      } else if (status.status === "successful") {
        const results = await getJson(`/jobs/${jobId}/results`);
        const added = resultCollections(results);
        if (added.length) {
          await tools.reloadCatalog(added);
          for (const collection of added) await tools.enable(collection);
          view.text.textContent = `successful: ${added.join(", ")} added to the map`;
        }
      }
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

let shown = 0;

async function showForm(app, id, tools) {
  const form = document.getElementById("process-form");
  if (form.dataset.process === id) return; // already shown: keep what the user typed
  const token = ++shown;
  const description = await getJson(`/processes/${encodeURIComponent(id)}`);
  if (token !== shown) return; // another process was picked meanwhile
  const fields = Object.entries(description.inputs || {}).map(([name, input]) => field(name, input));
  const bboxButton = el("button", { type: "button" }, "Use map view as bbox");
  bboxButton.addEventListener("click", () => {
    const b = app.map.getBounds();
    const target = form.querySelector("[name=bbox]");
    if (target) target.value = JSON.stringify([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => +v.toFixed(6)));
  });
  const submit = el("button", { type: "submit", class: "primary" }, "Run");
  form.dataset.process = id;
  form.replaceChildren(el("p", {}, description.description || ""), ...fields, ...(description.inputs?.bbox ? [bboxButton] : []), submit);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const status = document.getElementById("process-status");
    try {
      const response = await send("POST", `/processes/${encodeURIComponent(id)}/execution`, { inputs: inputsOf(form) }, { Prefer: "respond-async" });
      const job = await response.json();
      const view = progressBar(job.jobID);
      status.replaceChildren(view.node);
      await follow(job.jobID, view, tools);
      await listJobs(tools);
    } catch (error) {
      status.replaceChildren(el("p", { class: "error" }, error.message));
    }
  };
}

export async function listJobs(tools) {
  const list = document.getElementById("job-list");
  let jobs;
  try {
    jobs = (await getJson("/jobs", { limit: 50 })).jobs || [];
  } catch (error) {
    list.replaceChildren(el("li", { class: "error" }, error.message));
    return;
  }
  list.replaceChildren(...jobs.map((job) => {
    const item = el("li", { class: `job ${job.status}`, "data-job": job.jobID }, el("b", {}, job.processID || job.process_id || ""), ` ${job.status} ${job.progress ?? ""}%`);
    if (job.status === "successful") {
      const show = el("button", { type: "button" }, "Show");
      show.addEventListener("click", async () => {
        const results = await getJson(`/jobs/${job.jobID}/results`);
        await tools.reloadCatalog(resultCollections(results));
        for (const collection of resultCollections(results)) await tools.enable(collection);
      });
      item.append(" ", show, " ", el("a", { href: url(`/jobs/${job.jobID}/results`, { f: "json" }), target: "_blank" }, "results"));
    }
    if (job.status !== "dismissed") {
      const dismiss = el("button", { type: "button" }, "Dismiss");
      dismiss.addEventListener("click", async () => {
        await send("DELETE", `/jobs/${job.jobID}`).catch(() => null);
        await listJobs(tools);
      });
      item.append(" ", dismiss);
    }
    return item;
  }));
}

/** The account box: nothing when auth is off (``/auth/session`` 404), else sign-in or sign-out. */
export async function account() {
  const box = document.getElementById("account");
  const response = await fetch(url("/auth/session"), { credentials: "same-origin" });
  if (response.status === 404) return box.replaceChildren();
  const session = response.ok ? await response.json() : { signed_in: false };
  if (session.signed_in) {
    setCsrf(session.csrf_token);
    const out = el("button", { type: "button" }, "Sign out");
    out.addEventListener("click", async () => {
      await send("POST", "/auth/logout").catch(() => null);
      setCsrf(null);
      window.location.reload(); // what the caller may read changes with who they are
    });
    return box.replaceChildren(`${session.user} `, out);
  }
  const key = el("input", { type: "password", placeholder: "API key", name: "api_key" });
  const form = el("form", { class: "login" }, key, el("button", { type: "submit" }, "Sign in"));
  form.onsubmit = async (event) => {
    event.preventDefault();
    try {
      const signed = await send("POST", "/auth/login", { api_key: key.value });
      setCsrf((await signed.json()).csrf_token);
      window.location.reload();
    } catch (error) {
      key.value = "";
      key.placeholder = error.message;
    }
  };
  box.replaceChildren(form);
}

export async function setupProcesses(app, tools) {
  const select = document.getElementById("process-select");
  try {
    const processes = (await getJson("/processes")).processes || [];
    select.replaceChildren(...processes.map((p) => el("option", { value: p.id }, p.title || p.id)));
    select.addEventListener("change", () => showForm(app, select.value, tools));
    if (processes.length) await showForm(app, processes[0].id, tools);
  } catch (error) {
    select.replaceChildren(el("option", {}, error.message));
  }
  document.getElementById("jobs-refresh").addEventListener("click", () => listJobs(tools));
  document.querySelector("#tabs button[data-panel=jobs]").addEventListener("click", () => listJobs(tools));
}
