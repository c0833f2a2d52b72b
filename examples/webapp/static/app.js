// Calls the Python handler's JSON API and shows its answer; reports
// whether the page's font (a static asset) loaded.
(async function () {
  const result = document.getElementById("result");
  try {
    const resp = await fetch("/api/greet?name=" + encodeURIComponent("browser"));
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    const data = await resp.json();
    result.textContent = data.greeting + " (Python " + data.python + " on " + data.platform + ")";
    result.className = "ok";
  } catch (err) {
    result.textContent = "API call failed: " + err.message;
    result.className = "failed";
  }
  const font = document.getElementById("font");
  try {
    await document.fonts.load('16px "DejaVu Web"');
    font.textContent = document.fonts.check('16px "DejaVu Web"') ? "font: loaded" : "font: missing";
  } catch (err) {
    font.textContent = "font: " + err.message;
  }
  document.body.dataset.done = "yes";
})();
