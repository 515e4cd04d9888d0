// The top bar's menu button on narrow screens: shows and hides the navigation.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector(".menu-button");
  const menu = document.getElementById("topbar-menu");
  // The language switch returns to the page as it is now (htmx may have changed its filters).
  const language = document.querySelector(".language-form");
  if (language) {
    language.addEventListener("submit", () => {
      language.querySelector("input[name=next]").value = location.pathname + location.search;
    });
  }
  if (!button || !menu) return;
  const setOpen = (open) => {
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  };
  button.addEventListener("click", () => setOpen(button.getAttribute("aria-expanded") !== "true"));
  // Escape closes the open menu and gives the focus back to its button.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
    setOpen(false);
    button.focus();
  });
});
