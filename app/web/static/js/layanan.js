// The public service page: the print button (no inline handlers, per the CSP).
document.getElementById("print-btn")?.addEventListener("click", () => window.print());
