// The rules editor's line numbers: the gutter follows the text and its scrolling.
// Everything else (checking, preview) is server-rendered through htmx.
(function () {
  function setUp() {
    const text = document.getElementById("rules-text");
    if (!text || text.dataset.editor) return;
    text.dataset.editor = "1";
    const gutter = text.parentElement.querySelector(".gutter");
    function renumber() {
      const lines = text.value.split("\n").length;
      let out = "";
      for (let i = 1; i <= lines; i++) out += i + "\n";
      gutter.textContent = out;
      gutter.scrollTop = text.scrollTop;
    }
    text.addEventListener("input", renumber);
    text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
    renumber();
  }
  // A finding in the check panel puts the cursor on its line.
  document.addEventListener("click", (event) => {
    const item = event.target.closest(".check-panel [data-line]");
    const text = document.getElementById("rules-text");
    if (!item || !text) return;
    const line = Number(item.dataset.line);
    const lines = text.value.split("\n");
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1] || "").length);
  });
  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:after:swap", setUp);
  setUp();
})();
