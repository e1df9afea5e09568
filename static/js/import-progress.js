// While an import runs, refresh its status block every two seconds without reloading the page,
// so keyboard focus and screen-reader position stay where they are. Stops when it is finished.
const status = document.querySelector("[data-import-progress]");
if (status) {
  const poll = async () => {
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-import-status]");
    const current = document.querySelector("[data-import-status]");
    if (fresh && current) current.replaceWith(fresh);
    if (fresh?.querySelector("[data-import-progress]")) window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}
