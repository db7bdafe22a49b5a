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
