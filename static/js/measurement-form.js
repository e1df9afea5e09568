// Progressive enhancement of the manual-entry form: show the blood-pressure fields or the single
// value field, depending on the chosen kind. Without JavaScript every field stays visible.
const form = document.querySelector("form[data-measurement-form]");
if (form) {
  const kind = form.querySelector("select[name=kind]");
  const fieldOf = (name) => form.querySelector(`[name=${name}]`)?.closest(".field");
  const bloodPressure = ["systolic", "diastolic", "pulse", "irregular_heartbeat"].map(fieldOf);
  const single = [fieldOf("value")];
  const update = () => {
    const isBloodPressure = kind.value === "blood_pressure";
    for (const field of bloodPressure) if (field) field.hidden = !isBloodPressure;
    for (const field of single) if (field) field.hidden = isBloodPressure;
  };
  kind.addEventListener("change", update);
  update();
}
