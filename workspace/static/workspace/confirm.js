// Buttons with data-confirm ask first: a script file, since the content security policy refuses
// inline event handlers.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
