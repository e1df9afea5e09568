// Progressive enhancement of the program builder (templates/exercises/_items.html). Without
// JavaScript the order numbers set the order. With it, rows are dragged with the mouse or moved
// with their "up"/"down" buttons (keyboard and touch), the order numbers follow the rows and are
// hidden, and "add an exercise" appends an empty row from the formset's empty form.
const list = document.querySelector("[data-builder-items]");

function rows() {
  return [...list.querySelectorAll(":scope > [data-builder-item]")];
}

function renumber() {
  const labels = JSON.parse(list.dataset.labels);
  rows().forEach((row, index) => {
    const order = row.querySelector('input[name$="-ORDER"]');
    if (order) order.value = String(index + 1);
    const legend = row.querySelector("legend");
    if (legend) legend.textContent = labels.exercise.replace("%n", String(index + 1));
  });
}

function enhance(row) {
  const labels = JSON.parse(list.dataset.labels);
  const order = row.querySelector('input[name$="-ORDER"]');
  if (order) order.closest(".field").hidden = true;
  row.draggable = true;
  const tools = document.createElement("div");
  tools.className = "builder-item__tools";
  for (const [label, step] of [
    [labels.up, -1],
    [labels.down, 1],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small button--secondary";
    button.textContent = label;
    button.addEventListener("click", () => {
      const all = rows();
      const target = all[all.indexOf(row) + step];
      if (!target) return;
      if (step < 0) target.before(row);
      else target.after(row);
      renumber();
      button.focus();
    });
    tools.append(button);
  }
  row.querySelector("fieldset").prepend(tools);
  row.addEventListener("dragstart", (event) => {
    row.classList.add("builder-item--dragging");
    event.dataTransfer.effectAllowed = "move";
  });
  row.addEventListener("dragend", () => {
    row.classList.remove("builder-item--dragging");
    renumber();
  });
}

if (list) {
  // The dragged row goes before the first row whose middle is below the pointer. On every
  // dragover, and once more on the drop (a quick drag may send a single dragover, at its start).
  const place = (event) => {
    const dragging = list.querySelector(".builder-item--dragging");
    if (!dragging) return;
    event.preventDefault();
    const after = rows().find((row) => {
      const box = row.getBoundingClientRect();
      return row !== dragging && event.clientY < box.top + box.height / 2;
    });
    if (after) after.before(dragging);
    else list.append(dragging);
  };
  list.addEventListener("dragover", place);
  list.addEventListener("drop", place);
  rows().forEach(enhance);
  renumber();

  const empty = document.querySelector("template[data-empty-item]");
  const total = document.querySelector('input[name$="-TOTAL_FORMS"]');
  const add = document.querySelector("[data-add-item]");
  if (empty && total && add) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const index = Number(total.value);
      const html = empty.innerHTML.replaceAll("__prefix__", String(index));
      const holder = document.createElement("ol");
      holder.innerHTML = html;
      const row = holder.firstElementChild;
      list.append(row);
      total.value = String(index + 1);
      enhance(row);
      renumber();
      row.querySelector("select")?.focus();
    });
  }
}
