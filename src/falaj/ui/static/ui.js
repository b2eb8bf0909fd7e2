// Progressive enhancement only: every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Compare selected runs" is enabled once two runs are ticked.
  const form = document.querySelector("form.compare-form");
  if (form) {
    const button = form.querySelector("#compare");
    const boxes = () => form.querySelectorAll('input[name="run"]:checked').length;
    const sync = () => {
      const n = boxes();
      button.disabled = n < 2 || n > 8;
      button.textContent = n >= 2 ? `Compare ${n} selected runs` : "Compare selected runs (tick 2 to 8)";
    };
    form.addEventListener("change", sync);
    sync();
  }
  // Datetime filters: leave out empty fields so shared URLs stay short.
  document.querySelectorAll("form.filters").forEach((f) => {
    f.addEventListener("submit", () => {
      f.querySelectorAll("input, select").forEach((el) => {
        if (!el.value) el.disabled = true;
      });
    });
  });
});
