// Progressive enhancement: forms marked data-autosubmit submit when a select changes, and their
// submit button (needed without JavaScript) is hidden.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  for (const button of form.querySelectorAll("[data-autosubmit-hide]")) {
    button.hidden = true;
  }
  form.addEventListener("change", () => form.requestSubmit());
}
