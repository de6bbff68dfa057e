// Submits a provider redirect form at once. Without JavaScript the shopper
// presses the form's button instead.
document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
  form.submit();
});
