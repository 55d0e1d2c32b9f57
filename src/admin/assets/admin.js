/* global HTMLInputElement */
// The panel works without JavaScript; this only adds "select all" to the list's checkboxes.
document.addEventListener('change', (event) => {
  const box = event.target
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute('data-select-all')) return
  for (const item of box.form.querySelectorAll('input[type=checkbox][name=ids]')) item.checked = box.checked
})
