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
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
});
