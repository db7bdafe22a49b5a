// A button or form marked data-confirm asks first (an irreversible action: publish,
// deactivate, cancel, pay). No inline handlers: the CSP forbids them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm], input[type=submit][data-confirm]");
  if (button && !button.disabled && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
