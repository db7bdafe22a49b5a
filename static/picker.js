// A <select multiple data-picker> becomes a searchable list of checkboxes: type to find
// a branch or a person, tick as many as needed (no Ctrl-click). The checkboxes carry the
// select's name, so the form sends the same values; without JavaScript the select stays.
for (const select of document.querySelectorAll("select[multiple][data-picker]")) {
  const search = document.createElement("input");
  search.type = "search";
  search.id = select.id;
  search.placeholder = select.dataset.picker || "";
  search.autocomplete = "off";
  search.setAttribute("aria-controls", `${select.id}-list`);
  select.id = `${select.id}-select`;
  const list = document.createElement("ul");
  list.className = "picker-list";
  list.id = `${search.id}-list`;
  const count = document.createElement("p");
  count.className = "muted picker-count";
  count.setAttribute("aria-live", "polite");
  const boxes = [];
  for (const option of select.options) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = select.name;
    box.value = option.value;
    box.checked = option.selected;
    const label = document.createElement("label");
    label.className = "option";
    label.append(box, " ", option.textContent);
    const item = document.createElement("li");
    item.append(label);
    list.append(item);
    boxes.push([item, box, option.textContent.toLowerCase()]);
  }
  const counted = () => {
    count.textContent = (select.dataset.pickerCount || "%(n)s").replace(
      "%(n)s", String(boxes.filter(([, box]) => box.checked).length));
  };
  list.addEventListener("change", counted);
  search.addEventListener("input", () => {
    const wanted = search.value.trim().toLowerCase();
    for (const [item, , text] of boxes) item.hidden = Boolean(wanted) && !text.includes(wanted);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault(); // finding is not sending the form
  });
  select.removeAttribute("name");
  select.hidden = true;
  select.disabled = true;
  select.after(search, list, count);
  counted();
}

// An <input data-lookup="/admin/branches.json"> (too many branches to list) becomes a
// search box: what is typed is looked up as you type, and the branches found are ticked
// into the list of chosen ones (checkboxes named "branches"). Without JavaScript the
// input takes branch codes.
for (const input of document.querySelectorAll("input[data-lookup]")) {
  const chosen = document.getElementById(`${input.id}-chosen`);
  const found = document.createElement("ul");
  found.className = "picker-list picker-found";
  found.id = `${input.id}-found`;
  found.setAttribute("aria-live", "polite");
  input.setAttribute("aria-controls", found.id);
  input.removeAttribute("name"); // a search box now: only the ticked branches are sent
  input.type = "search";
  const item = (branch, checked) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "branches";
    box.value = String(branch.id);
    box.checked = checked;
    const label = document.createElement("label");
    label.className = "option";
    label.append(box, " ", `${branch.name} (${branch.region})`);
    const li = document.createElement("li");
    li.append(label);
    return li;
  };
  const picked = () => new Set([...chosen.querySelectorAll("input:checked")].map((b) => b.value));
  found.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.checked || picked().has(box.value)) return;
    chosen.append(box.closest("li")); // moves it to the chosen ones
  });
  let timer = null;
  let asked = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = input.value.trim();
      const ask = ++asked;
      if (text.length < 2) {
        found.replaceChildren();
        return;
      }
      try {
        const answer = await fetch(`${input.dataset.lookup}?q=${encodeURIComponent(text)}`,
          { credentials: "same-origin", headers: { accept: "application/json" } });
        if (!answer.ok || ask !== asked) return;
        const have = picked();
        const { branches } = await answer.json();
        found.replaceChildren(...branches.filter((b) => !have.has(String(b.id))).map((b) => item(b, false)));
      } catch {
        // offline or refused: the box still takes codes typed by hand on the next load
      }
    }, 200);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });
  chosen.after(found);
}
