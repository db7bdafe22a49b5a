// Buttons marked data-print print the page (no inline handlers: the CSP forbids them).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
