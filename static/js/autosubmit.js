// Progressive enhancement: forms marked data-autosubmit submit when their select is changed with
// the mouse (or a finger), and their submit button (needed without JavaScript) is hidden.
// Changed by keyboard, the select only takes the new value: an arrow key must not load another
// page (WCAG 3.2.2). Enter submits; the button reappears as the visible way to apply it.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  const buttons = form.querySelectorAll("[data-autosubmit-hide]");
  for (const button of buttons) {
    button.hidden = true;
  }
  let byPointer = false;
  form.addEventListener("pointerdown", () => {
    byPointer = true;
  });
  form.addEventListener("keydown", (event) => {
    byPointer = false;
    if (event.key === "Enter" && event.target instanceof HTMLSelectElement) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("change", () => {
    if (byPointer) {
      form.requestSubmit();
      return;
    }
    for (const button of buttons) {
      button.hidden = false;
    }
  });
}
