// The questionnaire preview tries its conditions live: the answers typed in "Try the
// conditions" decide, with the app's own evaluator, which questions and sections the
// preview shows (as a shopper's visit with those answers would ask them).
import { visible } from "/app/conditions.js";

const definition = JSON.parse(document.getElementById("preview-definition").textContent);
const form = document.getElementById("try-form");
const status = document.getElementById("try-status");

function answers() {
  const out = {};
  for (const input of form.querySelectorAll("[data-question]")) {
    const raw = input.value;
    if (raw === "") continue;
    const kind = input.dataset.kind;
    let value = raw;
    if (kind === "boolean") value = raw === "true";
    else if (kind === "number") value = Number(raw);
    else if (kind === "list") value = [];
    out[input.dataset.question] = { value };
  }
  return out;
}

function refresh() {
  const scenario = form.elements.scenario ? form.elements.scenario.value || null : null;
  const shown = visible(definition, answers(), scenario);
  let hidden = 0;
  for (const item of document.querySelectorAll(".preview li[data-question]")) {
    item.hidden = !shown.has(item.dataset.question);
    if (item.hidden) hidden += 1;
  }
  for (const section of document.querySelectorAll(".preview section[data-section]")) {
    section.hidden = !section.querySelector("li[data-question]:not([hidden])");
  }
  status.textContent = status.dataset.template.replace("%(num)s", String(hidden));
}

form.addEventListener("input", refresh);
form.addEventListener("change", refresh);
refresh();
