// The bank page's upload: drop files onto the drop zone, and a progress bar while they are
// sent (XMLHttpRequest reports upload progress; fetch does not). Without JavaScript the form is a
// plain multipart POST and the answer a whole page. Its words come translated from the page:
// the form's data-text-* attributes, with {name} where a value goes (CSP: no inline script).
(function () {
  function form() {
    return document.querySelector("form.upload-form");
  }

  function say(f, name, values) {
    let text = f.dataset[name] || "";
    for (const [key, value] of Object.entries(values || {})) {
      text = text.split("{" + key + "}").join(String(value));
    }
    return text;
  }

  function showChosen(f) {
    const input = f.querySelector("input[type=file]");
    const list = f.querySelector(".drop-files");
    const names = Array.from(input.files).map((file) => file.name);
    list.textContent = names.length ? names.join(", ") : "";
    const status = f.querySelector(".upload-status");
    const max = Number(f.dataset.maxBytes);
    const big = Array.from(input.files).filter((file) => file.size > max);
    status.textContent = big.length
      ? say(f, "textTooLarge", {
          size: Math.round(max / 1048576),
          files: big.map((file) => file.name).join(", "),
        })
      : "";
  }

  function swapIn(html) {
    // The answer is the page's #bank block; htmx wires up its hx-* attributes.
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("bank");
    const old = document.getElementById("bank");
    if (!fresh || !old) return false;
    const node = document.importNode(fresh, true);
    old.replaceWith(node);
    if (window.htmx) window.htmx.process(node);
    const result = document.getElementById("import-result") || document.getElementById("bank-error");
    if (result) result.scrollIntoView({ block: "nearest" });
    return true;
  }

  function upload(event) {
    const f = event.target;
    if (!f.matches || !f.matches("form.upload-form")) return;
    const input = f.querySelector("input[type=file]");
    if (!input.files.length) return; // the server says what is missing
    event.preventDefault();
    const bar = f.querySelector(".upload-progress");
    const status = f.querySelector(".upload-status");
    const button = f.querySelector("button[type=submit]");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", f.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("HX-Request-Type", "partial");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.hidden = false;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = e.loaded < e.total
        ? say(f, "textProgress", { percent: bar.value })
        : say(f, "textSent");
    });
    xhr.addEventListener("load", () => {
      if (!swapIn(xhr.responseText)) {
        button.disabled = false;
        bar.hidden = true;
        status.textContent = say(f, "textFailed", { status: xhr.status });
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      bar.hidden = true;
      status.textContent = say(f, "textInterrupted");
    });
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = say(f, "textSending");
    xhr.send(new FormData(f));
  }

  document.addEventListener("submit", upload);
  document.addEventListener("change", (event) => {
    const f = form();
    if (f && event.target.closest && event.target.closest("form.upload-form") === f) showChosen(f);
  });
  document.addEventListener("dragover", (event) => {
    const zone = event.target.closest && event.target.closest(".drop-zone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    const zone = event.target.closest && event.target.closest(".drop-zone");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    const zone = event.target.closest && event.target.closest(".drop-zone");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    const input = zone.querySelector("input[type=file]");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    showChosen(zone.closest("form"));
  });
})();
